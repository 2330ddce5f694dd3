//! Lazy compilation through `Runtime::lazy_compile_entry`: functions that were never published
//! are compiled on their first call by the engine hook, with every argument (registers, stack
//! arguments, the return-area pointer) arriving intact.

mod common;

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use kiln_code_manager::{CodeKind, CodeManager, CodeManagerConfig, NativeModule};
use kiln_codegen_baseline::{CompileOptions, compile_function};
use kiln_decoder::Module;
use kiln_runtime::*;

/// An engine stand-in: compiles with the baseline tier on request, except `refuse`.
#[derive(Default)]
struct LazyEngine {
    modules: Mutex<HashMap<u64, (Arc<Module>, NativeModule)>>,
    compiled: Mutex<Vec<u32>>,
    /// Wasm frames on the stack at each request (the hook is a safepoint).
    frames: Mutex<Vec<usize>>,
    refuse: Option<u32>,
    panic_on: Option<u32>,
    /// Functions given as machine code instead of compiled.
    hand_written: HashMap<u32, kiln_abi::CompiledFunction>,
}

/// Overwrites every register that carries arguments, so a test fails if the lazy-compile
/// entry relied on the hook (or Rust code) leaving one alone.
fn clobber_argument_registers() {
    // SAFETY: only caller-saved registers are written, and all are declared clobbered.
    unsafe {
        std::arch::asm!(
            "mov rdi, -1", "mov rsi, -1", "mov rdx, -1", "mov rcx, -1", "mov r8, -1",
            "mov r9, -1", "mov r10, -1", "mov rax, -1", "pcmpeqd xmm0, xmm0",
            "pcmpeqd xmm1, xmm1", "pcmpeqd xmm2, xmm2", "pcmpeqd xmm3, xmm3",
            "pcmpeqd xmm4, xmm4", "pcmpeqd xmm5, xmm5", "pcmpeqd xmm6, xmm6",
            "pcmpeqd xmm7, xmm7",
            out("rdi") _, out("rsi") _, out("rdx") _, out("rcx") _, out("r8") _,
            out("r9") _, out("r10") _, out("rax") _, out("xmm0") _, out("xmm1") _,
            out("xmm2") _, out("xmm3") _, out("xmm4") _, out("xmm5") _, out("xmm6") _,
            out("xmm7") _,
        )
    }
}

impl EngineHooks for LazyEngine {
    fn lazy_compile(&self, module_id: u64, func_index: u32) -> Option<usize> {
        if self.refuse == Some(func_index) {
            return None;
        }
        if self.panic_on == Some(func_index) {
            panic!("no compiler for {func_index}");
        }
        let mut pcs = Vec::new();
        wasm_pcs_on_stack(&mut pcs);
        self.frames.lock().unwrap().push(pcs.len());
        let (module, native) = self.modules.lock().unwrap().get(&module_id)?.clone();
        let options = CompileOptions {
            tier_up: false,
            ..Default::default()
        };
        let f = match self.hand_written.get(&func_index) {
            Some(f) => f.clone(),
            None => compile_function(&module, func_index, &options).ok()?,
        };
        let code = native.publish(func_index, CodeKind::Baseline, &f).ok()?;
        self.compiled.lock().unwrap().push(func_index);
        clobber_argument_registers();
        Some(code.instruction_start())
    }
}

fn lazy_native(engine: &LazyEngine, runtime: &Runtime, module: &Arc<Module>) -> NativeModule {
    let manager = CodeManager::new(CodeManagerConfig {
        code_space_per_module: 4 << 20,
        lazy_compile_builtin: Some(runtime.lazy_compile_entry()),
    });
    let native = manager
        .new_native_module(
            module.num_imported_functions,
            module.num_defined_functions(),
        )
        .unwrap();
    engine
        .modules
        .lock()
        .unwrap()
        .insert(native.id(), (module.clone(), native.clone()));
    native
}

const N: usize = 10;

/// `$many`: 10 (i64, f64) parameter pairs, 10 i64 and 10 f64 results (a return area holds
/// the last two of each); result j = int_j * (j + 1) + trunc(float_j), float result j =
/// float_j * 2 + int_j. `$fold_many` calls it (wasm to lazy wasm) with arguments derived from
/// its two parameters and sums the results; `$indirect` does the same through `call_indirect`.
/// `$few`: 7 i32 and 10 f32 parameters (stack arguments, no return area).
fn wat() -> String {
    let mut w = String::from("(module\n(type $many_t (func");
    for _ in 0..N {
        w.push_str(" (param i64 f64)");
    }
    for _ in 0..N {
        w.push_str(" (result i64)");
    }
    for _ in 0..N {
        w.push_str(" (result f64)");
    }
    w.push_str("))\n(table 1 funcref) (elem (i32.const 0) $many)\n");
    w.push_str("(func $many (export \"many\") (type $many_t)\n");
    for j in 0..N {
        let _ = writeln!(
            w,
            "local.get {} i64.const {} i64.mul local.get {} i64.trunc_f64_s i64.add",
            2 * j,
            j + 1,
            2 * j + 1
        );
    }
    for j in 0..N {
        let _ = writeln!(
            w,
            "local.get {} f64.const 2 f64.mul local.get {} f64.convert_i64_s f64.add",
            2 * j + 1,
            2 * j
        );
    }
    w.push_str(")\n");
    for (name, call) in [
        ("fold_many", "call $many"),
        ("indirect", "i32.const 0 call_indirect (type $many_t)"),
    ] {
        let _ = write!(
            w,
            "(func ${name} (export \"{name}\") (param $a i64) (param $b f64) (result i64 f64)"
        );
        for j in 0..N {
            let _ = write!(w, " (local $i{j} i64) (local $f{j} f64)");
        }
        w.push('\n');
        for k in 0..N {
            let _ = writeln!(
                w,
                "local.get $a i64.const {k} i64.add local.get $b f64.const {} f64.mul",
                k + 1
            );
        }
        let _ = writeln!(w, "{call}");
        for j in (0..N).rev() {
            let _ = write!(w, "local.set $f{j} ");
        }
        for j in (0..N).rev() {
            let _ = write!(w, "local.set $i{j} ");
        }
        w.push_str("\nlocal.get $i0");
        for j in 1..N {
            let _ = write!(w, " local.get $i{j} i64.add");
        }
        w.push_str(" local.get $f0");
        for j in 1..N {
            let _ = write!(w, " local.get $f{j} f64.add");
        }
        w.push_str(")\n");
    }
    w.push_str("(func $few (export \"few\") (param i32 i32 i32 i32 i32 i32 i32");
    w.push_str(" f32 f32 f32 f32 f32 f32 f32 f32 f32 f32) (result i32 f32)\n");
    w.push_str("local.get 0");
    for k in 1..7 {
        let _ = write!(w, " local.get {k} i32.const {} i32.mul i32.add", k + 1);
    }
    w.push_str("\nlocal.get 7");
    for k in 1..10 {
        let _ = write!(
            w,
            " local.get {} f32.const {} f32.mul f32.add",
            7 + k,
            k + 1
        );
    }
    w.push_str(")\n");
    w.push_str("(func $refused (result i32) i32.const 7)\n");
    w.push_str("(func $call_refused (export \"call_refused\") (result i32) call $refused)\n");
    w.push_str("(func (export \"refused\") (result i32) call $refused))\n");
    w
}

/// What `$many` returns for `ints` and `floats`.
fn many(ints: &[i64], floats: &[f64]) -> (Vec<i64>, Vec<f64>) {
    let i = (0..N)
        .map(|j| ints[j] * (j as i64 + 1) + floats[j] as i64)
        .collect();
    let f = (0..N).map(|j| floats[j] * 2.0 + ints[j] as f64).collect();
    (i, f)
}

/// What `$fold_many` and `$indirect` return for `(a, b)`.
fn fold_many(a: i64, b: f64) -> (i64, f64) {
    let ints: Vec<i64> = (0..N as i64).map(|k| a + k).collect();
    let floats: Vec<f64> = (0..N).map(|k| b * (k as f64 + 1.0)).collect();
    let (ri, rf) = many(&ints, &floats);
    let sum_i = ri.iter().sum();
    let sum_f = rf[1..].iter().fold(rf[0], |s, x| s + x);
    (sum_i, sum_f)
}

fn func_index(module: &Module, name: &str) -> u32 {
    module.export(name).unwrap().index
}

#[test]
fn functions_compile_on_first_call_with_every_argument_intact() {
    let runtime = Runtime::default();
    let engine = Arc::new(LazyEngine::default());
    runtime.set_engine_hooks(engine.clone());
    let module = common::module(&wat());
    let native = lazy_native(&engine, &runtime, &module);
    let store = Store::new(&runtime);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    assert!(engine.compiled.lock().unwrap().is_empty());

    // Host to lazy: 10 int and 10 float parameters (stack arguments) and a return area.
    let ints: Vec<i64> = (0..N as i64).map(|k| 1000 * (k + 1) + k).collect();
    let floats: Vec<f64> = (0..N).map(|k| 10.25 * (k as f64 + 1.0)).collect();
    let args: Vec<Value> = (0..N)
        .flat_map(|k| [Value::I64(ints[k]), Value::F64(floats[k].to_bits())])
        .collect();
    let results = instance.get_func("many").unwrap().call(&args).unwrap();
    let (want_i, want_f) = many(&ints, &floats);
    let got_i: Vec<i64> = results[..N].iter().map(|v| v.as_i64().unwrap()).collect();
    let got_f: Vec<f64> = results[N..].iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!((got_i, got_f), (want_i, want_f));
    let many_index = func_index(&module, "many");
    assert_eq!(*engine.compiled.lock().unwrap(), [many_index]);

    // Lazy to lazy: `fold_many` is compiled on its call, `many` is already there.
    let fold = instance.get_func("fold_many").unwrap();
    let r = fold
        .call(&[Value::I64(-3), Value::F64(1.5f64.to_bits())])
        .unwrap();
    let want = fold_many(-3, 1.5);
    assert_eq!((r[0].as_i64().unwrap(), r[1].as_f64().unwrap()), want);

    // call_indirect to a function that is compiled on that call.
    let engine2 = Arc::new(LazyEngine::default());
    let runtime2 = Runtime::default();
    runtime2.set_engine_hooks(engine2.clone());
    let native2 = lazy_native(&engine2, &runtime2, &module);
    let store2 = Store::new(&runtime2);
    let instance2 = Instance::new(&store2, &module, &native2, &Imports::new()).unwrap();
    let r = instance2
        .get_func("indirect")
        .unwrap()
        .call(&[Value::I64(77), Value::F64((-2.25f64).to_bits())])
        .unwrap();
    assert_eq!(
        (r[0].as_i64().unwrap(), r[1].as_f64().unwrap()),
        fold_many(77, -2.25)
    );
    assert_eq!(
        *engine2.compiled.lock().unwrap(),
        [func_index(&module, "indirect"), many_index]
    );
    // `indirect` was requested by the host (no wasm frame), `many` from inside `indirect`.
    assert_eq!(*engine2.frames.lock().unwrap(), [0, 1]);

    // No return area: the VMContext is in rdi; 7 i32 and 10 f32 parameters.
    let few_args: Vec<Value> = (0..7)
        .map(|k| Value::I32(100 + k))
        .chain((0..10).map(|k| Value::F32((0.5 + k as f32).to_bits())))
        .collect();
    let r = instance.get_func("few").unwrap().call(&few_args).unwrap();
    let want_i = (1..7).fold(100, |s, k| s + (100 + k) * (k + 1));
    let want_f = (1..10).fold(0.5f32, |s, k| s + (0.5 + k as f32) * (k as f32 + 1.0));
    assert_eq!(
        (r[0].as_i32().unwrap(), r[1].as_f32().unwrap()),
        (want_i, want_f)
    );

    // Compiled once: later calls go straight to the code.
    let before = engine.compiled.lock().unwrap().len();
    for _ in 0..3 {
        instance.get_func("many").unwrap().call(&args).unwrap();
        fold.call(&[Value::I64(1), Value::F64(2f64.to_bits())])
            .unwrap();
    }
    assert_eq!(engine.compiled.lock().unwrap().len(), before);
    for name in ["many", "fold_many", "few"] {
        assert!(native.code(func_index(&module, name)).is_some(), "{name}");
    }
}

/// The full 128 bits of every xmm argument register survive (the baseline tier has no SIMD,
/// so the function is machine code: `(param i64 v128) (result v128 i64)` returning both).
#[test]
fn v128_arguments_keep_all_their_bits() {
    let module = common::module(
        r#"(module (func (export "swap") (param i64 v128) (result v128 i64) unreachable))"#,
    );
    let mut c = common::Code::new();
    // The vmctx is in rdi, the i64 in rsi, the v128 in xmm0 (also its result register).
    c.asm.mov_rr(
        kiln_assembler_x64::Size::S64,
        kiln_assembler_x64::RAX,
        kiln_assembler_x64::RSI,
    );
    let engine = Arc::new(LazyEngine {
        hand_written: HashMap::from([(0, c.finish_with_ret())]),
        ..Default::default()
    });
    let runtime = Runtime::default();
    runtime.set_engine_hooks(engine.clone());
    let native = lazy_native(&engine, &runtime, &module);
    let store = Store::new(&runtime);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    let v = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
    let r = instance
        .get_func("swap")
        .unwrap()
        .call(&[Value::I64(-5), Value::V128(v)])
        .unwrap();
    assert_eq!(r, [Value::V128(v), Value::I64(-5)]);
    assert_eq!(*engine.compiled.lock().unwrap(), [0]);
}

#[test]
fn a_function_that_cannot_be_compiled_traps_with_a_backtrace() {
    let module = common::module(&wat());
    let refused = module.num_imported_functions + module.num_defined_functions() - 3;
    assert_eq!(module.function_name(refused), Some("refused"));
    let runtime = Runtime::default();
    let engine = Arc::new(LazyEngine {
        refuse: Some(refused),
        ..Default::default()
    });
    runtime.set_engine_hooks(engine.clone());
    let native = lazy_native(&engine, &runtime, &module);
    let store = Store::new(&runtime);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();

    let trap = instance
        .get_func("call_refused")
        .unwrap()
        .call(&[])
        .unwrap_err();
    assert_eq!(trap.code, TrapCode::HostError);
    assert_eq!(
        trap.message,
        format!("function {refused} (refused) could not be compiled")
    );
    let frames: Vec<u32> = trap.backtrace.frames.iter().map(|f| f.func_index).collect();
    assert_eq!(frames, [func_index(&module, "call_refused")]);

    // The store stays usable, and the refused function keeps trapping.
    let again = instance.get_func("refused").unwrap().call(&[]).unwrap_err();
    assert_eq!(again.message, trap.message);
    let few_args: Vec<Value> = (0..7)
        .map(Value::I32)
        .chain((0..10).map(|_| Value::F32(0)))
        .collect();
    assert!(instance.get_func("few").unwrap().call(&few_args).is_ok());

    // A panicking engine becomes a trap too.
    let panicky = Runtime::default();
    let engine = Arc::new(LazyEngine {
        panic_on: Some(refused),
        ..Default::default()
    });
    panicky.set_engine_hooks(engine.clone());
    let native = lazy_native(&engine, &panicky, &module);
    let store = Store::new(&panicky);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    let trap = instance
        .get_func("call_refused")
        .unwrap()
        .call(&[])
        .unwrap_err();
    assert_eq!(
        trap.message,
        format!(
            "function {refused} (refused) could not be compiled: the engine panicked: \
             no compiler for {refused}"
        )
    );
    assert_eq!(trap.backtrace.frames.len(), 1);

    // Without hooks at all the call traps the same way.
    let bare = Runtime::default();
    let engine = LazyEngine::default();
    let native = lazy_native(&engine, &bare, &module);
    let store = Store::new(&bare);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    let trap = instance.get_func("many").unwrap().call(&[]);
    assert!(trap.is_err(), "wrong arity is rejected before the call");
    let trap = instance
        .get_func("call_refused")
        .unwrap()
        .call(&[])
        .unwrap_err();
    assert_eq!(trap.code, TrapCode::HostError);
    assert!(trap.message.contains("could not be compiled"), "{trap}");
    assert!(trap.backtrace.frames.is_empty(), "nothing was compiled");
}
