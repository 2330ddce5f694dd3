//! Every trampoline and shim the runtime publishes can be enumerated and is reported to the
//! engine hooks when created, with a name, address and size.

mod common;

use std::sync::{Arc, Mutex};

use kiln_abi::BuiltinId;
use kiln_code_manager::{CodeKind, lookup};
use kiln_runtime::*;

#[derive(Default)]
struct Log(Mutex<Vec<PublishedCode>>);

impl EngineHooks for Log {
    fn code_created(&self, name: &str, address: usize, size: usize) {
        self.0.lock().unwrap().push(PublishedCode {
            name: name.to_string(),
            address,
            size,
        });
    }
}

fn check_listed(code: &PublishedCode) {
    let found = lookup(code.address).unwrap_or_else(|| panic!("{code:?} is not listed"));
    assert_eq!(found.code().kind(), CodeKind::Trampoline, "{code:?}");
    assert_eq!(found.code().instruction_start(), code.address);
    assert_eq!(found.code().instructions_len(), code.size);
}

#[test]
fn trampolines_are_enumerated_and_reported_when_created() {
    let runtime = Runtime::default();
    let log = Arc::new(Log::default());
    runtime.set_engine_hooks(log.clone());
    let before = runtime.published_code();
    for id in BuiltinId::ALL {
        let name = format!("builtin shim {id:?}");
        let shim = before.iter().find(|c| c.name == name).expect("every shim");
        check_listed(shim);
        // SAFETY: the builtin table has one entry per builtin.
        let entry = unsafe { *runtime.builtin_table().add(id as usize) };
        assert_eq!(shim.address, entry);
    }
    let lazy = before
        .iter()
        .find(|c| c.name == "lazy compile entry")
        .unwrap();
    assert_eq!(lazy.address, runtime.lazy_compile_entry());
    check_listed(lazy);

    // A signature no one used yet: its trampolines are built on the first call and reported.
    let module = common::module(
        r#"(module (func (export "f") (param i32 f64 i64 f32) (result i64 f64 i32)
            local.get 2 local.get 1 local.get 0))"#,
    );
    let native = common::native(&module);
    let mut c = common::Code::new();
    c.trap_here(kiln_abi::TrapCode::Unreachable);
    c.asm.ud2();
    common::publish(&native, 0, c.finish());
    let store = Store::new(&runtime);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    assert!(log.0.lock().unwrap().is_empty());
    let f = instance.get_func("f").unwrap();
    let args = [Value::I32(1), Value::F64(0), Value::I64(2), Value::F32(0)];
    assert!(f.call(&args).is_err(), "the stand-in code traps");
    let created = log.0.lock().unwrap().clone();
    let names: Vec<&str> = created.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "entry trampoline (i32, f64, i64, f32) -> (i64, f64, i32)",
            "exit trampoline (i32, f64, i64, f32) -> (i64, f64, i32)"
        ]
    );
    assert_eq!(created[0].address, runtime.entry_trampoline(f.ty()));
    let after = runtime.published_code();
    for code in &created {
        check_listed(code);
        assert!(after.contains(code));
        assert!(!before.contains(code));
    }
    assert_eq!(after.len(), before.len() + 2);
    // Built once: a second call creates nothing.
    let _ = f.call(&args);
    assert_eq!(log.0.lock().unwrap().len(), 2);
}
