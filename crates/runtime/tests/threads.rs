//! Two threads, each with its own stores and instances, trapping repeatedly; nothing leaks.
//! (Its own test binary, so the process-wide reservation count is this test's alone.)

mod common;

use std::time::{Duration, Instant};

use common::*;
use kiln_abi::{Relocation, RelocationTarget, TrapCode, VMContextLayout};
use kiln_assembler_x64::{Cond, Mem, RAX, RDI, RSI, RSP, Scale, Size};
use kiln_runtime::*;

const WAT: &str = r#"(module (memory 1)
    (func (export "load") (param i32) (result i32) unreachable)
    (func (export "rec") (param i32) (result i32) unreachable)
    (func (export "div") (param i32) (result i32) unreachable))"#;

fn load(mem: i32) -> kiln_abi::CompiledFunction {
    let mut c = Code::new();
    c.prologue();
    c.asm.mov_rr(Size::S32, RSI, RSI);
    c.asm.mov_rm(Size::S64, RAX, Mem::base(RDI, mem));
    c.asm
        .mov_rm(Size::S32, RAX, Mem::base_index(RAX, RSI, Scale::One, 0));
    c.epilogue();
    c.finish()
}

fn rec() -> kiln_abi::CompiledFunction {
    let mut c = Code::new();
    let overflow = c.asm.new_label();
    c.prologue();
    c.asm.cmp_rm(
        Size::S64,
        RSP,
        Mem::base(RDI, VMContextLayout::STACK_LIMIT as i32),
    );
    c.asm.jcc(Cond::B, overflow);
    c.asm.call_rel32(0);
    let at = c.asm.pc_offset() as u32 - 4;
    c.epilogue();
    c.asm.bind(overflow);
    c.trap_here(TrapCode::StackOverflow);
    c.asm.ud2();
    let mut f = c.finish();
    f.relocations.push(Relocation {
        offset: at,
        target: RelocationTarget::Function(1),
        addend: 0,
    });
    f
}

/// `100 / x` with a real `idiv`: x = 0 raises SIGFPE.
fn div() -> kiln_abi::CompiledFunction {
    let mut c = Code::new();
    c.prologue();
    c.asm.mov_ri(Size::S32, RAX, 100);
    c.asm.cdq();
    c.trap_here(TrapCode::IntegerDivideByZero);
    c.asm.idiv_r(Size::S32, RSI);
    c.epilogue();
    c.finish()
}

fn worker(runtime: Runtime, seconds: u64) -> usize {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let module = module(WAT);
    let native = native(&module);
    publish(&native, 0, load(memory0(&module)));
    publish(&native, 1, rec());
    publish(&native, 2, div());
    let mut traps = 0;
    while Instant::now() < deadline {
        let store = Store::new(&runtime);
        let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
        let (l, r, d) = (
            instance.get_func("load").unwrap(),
            instance.get_func("rec").unwrap(),
            instance.get_func("div").unwrap(),
        );
        for i in 0..20 {
            assert_eq!(
                l.call(&[Value::I32(65536 + i)]).unwrap_err().code,
                TrapCode::MemoryOutOfBounds
            );
            assert_eq!(
                d.call(&[Value::I32(0)]).unwrap_err().code,
                TrapCode::IntegerDivideByZero
            );
            assert_eq!(d.call(&[Value::I32(7)]).unwrap(), [Value::I32(14)]);
            assert_eq!(l.call(&[Value::I32(i)]).unwrap(), [Value::I32(0)]);
            traps += 2;
        }
        assert_eq!(
            r.call(&[Value::I32(0)]).unwrap_err().code,
            TrapCode::StackOverflow
        );
        traps += 1;
    }
    traps
}

#[test]
fn two_threads_trap_repeatedly_without_leaks() {
    let runtime = Runtime::default();
    let baseline = live_memory_reservations();
    let maps_baseline = guard_reservations_in_maps();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let runtime = runtime.clone();
            std::thread::spawn(move || worker(runtime, 3))
        })
        .collect();
    let traps: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(traps.iter().all(|&n| n > 100), "{traps:?}");
    assert_eq!(live_memory_reservations(), baseline);
    assert_eq!(guard_reservations_in_maps(), maps_baseline);
}

/// Mappings of at least a guard-mode reservation's size in /proc/self/maps.
fn guard_reservations_in_maps() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|line| {
            let range = line.split_whitespace().next().unwrap();
            let (a, b) = range.split_once('-').unwrap();
            let len = usize::from_str_radix(b, 16).unwrap() - usize::from_str_radix(a, 16).unwrap();
            len >= kiln_runtime::memory::GUARD_RESERVATION
        })
        .count()
}
