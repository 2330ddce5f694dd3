//! Out-of-bounds loads and stores at every edge of memory, in both bounds-check modes.

mod common;

use common::*;
use kiln_abi::{BuiltinId, TrapCode, VMContextLayout};
use kiln_assembler_x64::{Cond, Mem, RAX, RCX, RDI, RDX, RSI, Scale, Size};
use kiln_runtime::*;

const OFFSET: i32 = 16;

const WAT: &str = r#"(module
    (memory 1 4)
    (func (export "load") (param i32) (result i32) (i32.load offset=16 (local.get 0)))
    (func (export "store") (param i32 i32) (i32.store offset=16 (local.get 0) (local.get 1)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

/// Emits `[base + addr + OFFSET]` access code for `mode`; `access` emits the load or store.
fn access(
    mode: BoundsChecks,
    mem: i32,
    access: impl FnOnce(&mut Code, Mem),
) -> kiln_abi::CompiledFunction {
    let mut c = Code::new();
    c.prologue();
    c.asm.mov_rr(Size::S32, RSI, RSI); // zero-extend the i32 address
    let trap = c.asm.new_label();
    if mode == BoundsChecks::Explicit {
        c.asm.lea(Size::S64, RCX, Mem::base(RSI, OFFSET + 4));
        c.asm.cmp_rm(Size::S64, RCX, Mem::base(RDI, mem + 8));
        c.asm.jcc(Cond::A, trap);
    }
    c.asm.mov_rm(Size::S64, RAX, Mem::base(RDI, mem));
    access(&mut c, Mem::base_index(RAX, RSI, Scale::One, OFFSET));
    c.epilogue();
    c.asm.bind(trap);
    c.trap_here(TrapCode::MemoryOutOfBounds);
    c.asm.ud2();
    c.finish()
}

fn grow() -> kiln_abi::CompiledFunction {
    let mut c = Code::new();
    c.prologue();
    c.asm.mov_rr(Size::S32, RDX, RSI);
    c.asm.xor_rr(Size::S32, RSI, RSI);
    c.asm.mov_rm(
        Size::S64,
        RAX,
        Mem::base(RDI, VMContextLayout::BUILTINS as i32),
    );
    c.asm
        .call_m(Mem::base(RAX, BuiltinId::MemoryGrow.table_offset() as i32));
    c.epilogue();
    c.finish()
}

fn instantiate(mode: BoundsChecks) -> (Store, Instance) {
    let runtime = Runtime::new(RuntimeConfig {
        bounds_checks: mode,
        ..Default::default()
    });
    let store = Store::new(&runtime);
    let module = module(WAT);
    let native = native(&module);
    let mem = memory0(&module);
    publish(
        &native,
        0,
        access(mode, mem, |c, m| c.asm.mov_rm(Size::S32, RAX, m)),
    );
    publish(
        &native,
        1,
        access(mode, mem, |c, m| c.asm.mov_mr(Size::S32, m, RDX)),
    );
    publish(&native, 2, grow());
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    (store, instance)
}

fn check_edges(mode: BoundsChecks) {
    let (_store, instance) = instantiate(mode);
    let load = instance.get_func("load").unwrap();
    let store_fn = instance.get_func("store").unwrap();
    let grow = instance.get_func("grow").unwrap();
    let memory = instance
        .get_memory("memory0")
        .or_else(|| instance.memory_by_index(0))
        .unwrap();
    let page = 65536i64;

    let load_at = |addr: i64| load.call(&[Value::I32(addr as i32)]);
    let store_at = |addr: i64, v: i32| store_fn.call(&[Value::I32(addr as i32), Value::I32(v)]);
    let oob = |r: Result<Vec<Value>, Trap>| {
        let trap = r.expect_err("out of bounds");
        assert_eq!(trap.code, TrapCode::MemoryOutOfBounds, "{trap}");
        assert_eq!(trap.message, "out of bounds memory access");
    };

    // Last valid 4-byte access ends at the last byte of the page.
    let last = page - 4 - OFFSET as i64;
    store_at(last, 0x1234_5678).unwrap();
    assert_eq!(load_at(last).unwrap(), [Value::I32(0x1234_5678)]);
    let mut bytes = [0u8; 4];
    memory.read((page - 4) as u64, &mut bytes).unwrap();
    assert_eq!(u32::from_le_bytes(bytes), 0x1234_5678);
    // First invalid: one byte past.
    oob(load_at(last + 1));
    oob(store_at(last + 1, 1));
    // Far beyond, and offset + address overflowing 32 bits.
    oob(load_at(page * 3));
    oob(load_at(0xFFFF_FFFF));
    oob(store_at(0xFFFF_FFF0, 7));
    // The failed store wrote nothing.
    memory.read((page - 4) as u64, &mut bytes).unwrap();
    assert_eq!(u32::from_le_bytes(bytes), 0x1234_5678);

    // After a grow, the old edge is valid and the new one traps.
    assert_eq!(grow.call(&[Value::I32(1)]).unwrap(), [Value::I32(1)]);
    assert_eq!(memory.size(), 2);
    store_at(last + 1, 42).unwrap();
    assert_eq!(load_at(last + 1).unwrap(), [Value::I32(42)]);
    assert_eq!(load_at(last).unwrap(), [Value::I32(0x2A78)]);
    let last2 = 2 * page - 4 - OFFSET as i64;
    store_at(last2, 9).unwrap();
    oob(load_at(last2 + 1));
    // Growing past the maximum fails with -1 and changes nothing.
    assert_eq!(grow.call(&[Value::I32(3)]).unwrap(), [Value::I32(-1)]);
    assert_eq!(grow.call(&[Value::I32(2)]).unwrap(), [Value::I32(2)]);
    assert_eq!(memory.size(), 4);
    store_at(4 * page - 4 - OFFSET as i64, 5).unwrap();
    oob(load_at(4 * page - 3 - OFFSET as i64));
    // Memory.grow from the host is seen by code.
    assert_eq!(memory.grow(1), None);
}

#[test]
fn guard_mode_edges() {
    check_edges(BoundsChecks::Guard);
}

#[test]
fn explicit_mode_edges() {
    check_edges(BoundsChecks::Explicit);
}

#[test]
fn reservations_are_released_with_the_store() {
    // Other tests run concurrently, so check this store's own reservation in the maps file.
    let (store, instance) = instantiate(BoundsChecks::Guard);
    let base = instance.memory_by_index(0).unwrap().data_ptr() as usize;
    let mapped = |addr: usize| {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .any(|l| {
                let range = l.split_whitespace().next().unwrap();
                let (a, b) = range.split_once('-').unwrap();
                let (a, b) = (
                    usize::from_str_radix(a, 16).unwrap(),
                    usize::from_str_radix(b, 16).unwrap(),
                );
                addr >= a && addr < b
            })
    };
    assert!(mapped(base + (5 << 30)), "guard region reserved");
    drop(instance);
    drop(store);
    assert!(!mapped(base + (5 << 30)), "reservation released");
}

#[test]
fn explicit_memories_move_on_grow_and_importers_follow() {
    let runtime = Runtime::new(RuntimeConfig {
        bounds_checks: BoundsChecks::Explicit,
        ..Default::default()
    });
    let store = Store::new(&runtime);
    // An unbounded memory in explicit mode reserves only its current size.
    let exporter = module(r#"(module (memory (export "mem") 1))"#);
    let exp = Instance::new(&store, &exporter, &native(&exporter), &Imports::new()).unwrap();
    let memory = exp.get_memory("mem").unwrap();
    memory.write(65532, &[1, 2, 3, 4]).unwrap();

    let importer = module(
        r#"(module (import "a" "mem" (memory 1))
            (func (export "load") (param i32) (result i32) unreachable))"#,
    );
    let native = native(&importer);
    let def = match VMContextLayout::new(&importer).memory(0) {
        kiln_abi::Place::Imported(off) => off as i32,
        kiln_abi::Place::Inline(_) => unreachable!(),
    };
    // load: rax = *[vmctx + def] (the exporter's definition); explicit check; load.
    let mut c = Code::new();
    c.prologue();
    let trap = c.asm.new_label();
    c.asm.mov_rr(Size::S32, RSI, RSI);
    c.asm.mov_rm(Size::S64, RDX, Mem::base(RDI, def));
    c.asm.lea(Size::S64, RCX, Mem::base(RSI, 4));
    c.asm.cmp_rm(Size::S64, RCX, Mem::base(RDX, 8));
    c.asm.jcc(Cond::A, trap);
    c.asm.mov_rm(Size::S64, RAX, Mem::base(RDX, 0));
    c.asm
        .mov_rm(Size::S32, RAX, Mem::base_index(RAX, RSI, Scale::One, 0));
    c.epilogue();
    c.asm.bind(trap);
    c.trap_here(TrapCode::MemoryOutOfBounds);
    c.asm.ud2();
    publish(&native, 0, c.finish());
    let mut imports = Imports::new();
    imports.define_instance("a", &exp);
    let imp = Instance::new(&store, &importer, &native, &imports).unwrap();
    let load = imp.get_func("load").unwrap();
    assert_eq!(
        load.call(&[Value::I32(65532)]).unwrap(),
        [Value::I32(0x04030201)]
    );
    assert_eq!(
        load.call(&[Value::I32(65533)]).unwrap_err().code,
        TrapCode::MemoryOutOfBounds
    );

    let before = memory.data_ptr();
    assert_eq!(memory.grow(3), Some(1));
    assert_eq!(memory.size(), 4);
    assert_ne!(
        memory.data_ptr(),
        before,
        "the memory moved to a larger mapping"
    );
    assert_eq!(
        load.call(&[Value::I32(65532)]).unwrap(),
        [Value::I32(0x04030201)]
    );
    memory.write(4 * 65536 - 4, &[9, 0, 0, 0]).unwrap();
    assert_eq!(
        load.call(&[Value::I32(4 * 65536 - 4)]).unwrap(),
        [Value::I32(9)]
    );
    assert_eq!(
        load.call(&[Value::I32(4 * 65536 - 3)]).unwrap_err().code,
        TrapCode::MemoryOutOfBounds
    );
}
