//! What an instance owns is freed when its store is dropped (with every handle to it), not
//! when the instance handle is: memories and code-space reservations return to their starting
//! counts then. Its own test binary: the counters are process-wide.

mod common;

use kiln_code_manager::{CodeManager, CodeManagerConfig, live_code_reservations};
use kiln_runtime::*;

#[test]
fn dropping_a_store_returns_every_reservation() {
    let runtime = Runtime::default();
    let memories = live_memory_reservations();
    let code = live_code_reservations();
    let module = common::module(
        r#"(module (memory (export "m") 1) (func (export "f") (result i32) i32.const 3))"#,
    );
    let manager = CodeManager::new(CodeManagerConfig {
        code_space_per_module: 1 << 20,
        lazy_compile_builtin: None,
    });
    let native = manager.new_native_module(0, 1).unwrap();
    let mut f = common::Code::new();
    f.asm
        .mov_ri(kiln_assembler_x64::Size::S32, kiln_assembler_x64::RAX, 3);
    common::publish(&native, 0, f.finish_with_ret());

    let store = Store::new(&runtime);
    let instances: Vec<Instance> = (0..3)
        .map(|_| Instance::new(&store, &module, &native, &Imports::new()).unwrap())
        .collect();
    drop(native);
    assert_eq!(live_memory_reservations(), memories + 3);
    assert_eq!(live_code_reservations(), code + (1 << 20));
    let memory = instances[1].get_memory("m").unwrap();
    let func = instances[2].get_func("f").unwrap();
    assert_eq!(func.call(&[]).unwrap(), [Value::I32(3)]);

    // Dropping instance handles frees nothing: the store owns what they created.
    drop(instances);
    assert_eq!(live_memory_reservations(), memories + 3);
    // Nor does dropping the store while handles into it remain.
    drop(store);
    assert_eq!(live_memory_reservations(), memories + 3);
    assert_eq!(memory.size(), 1);
    drop(memory);
    assert_eq!(func.call(&[]).unwrap(), [Value::I32(3)]);
    assert_eq!(live_memory_reservations(), memories + 3);
    // The last handle goes: every memory and the module's code space are released.
    drop(func);
    assert_eq!(live_memory_reservations(), memories);
    manager.reclaim();
    assert_eq!(live_code_reservations(), code);
}
