//! Code-space reservations return to their starting size once modules are dropped (its own
//! test binary: the counter is process-wide).

use kiln_abi::CompiledFunction;
use kiln_code_manager::{
    CodeKind, CodeManager, CodeManagerConfig, ExecutionScope, live_code_reservations,
};

#[test]
fn dropping_modules_returns_their_reservations() {
    let start = live_code_reservations();
    let manager = CodeManager::new(CodeManagerConfig {
        code_space_per_module: 1 << 20,
        lazy_compile_builtin: None,
    });
    let f = CompiledFunction {
        code: vec![0xC3],
        ..Default::default()
    };
    let a = manager.new_native_module(0, 3).unwrap();
    let b = manager.new_native_module(0, 3).unwrap();
    let code = a.publish(1, CodeKind::Baseline, &f).unwrap();
    assert_eq!(live_code_reservations(), start + (2 << 20));

    // The last handle of `b` goes: its reservation is returned at once.
    drop(b);
    assert_eq!(live_code_reservations(), start + (1 << 20));
    // A code reference keeps `a`'s space; a running activation delays its release.
    drop(a);
    assert_eq!(live_code_reservations(), start + (1 << 20));
    let running = ExecutionScope::enter();
    drop(code);
    manager.reclaim();
    assert_eq!(live_code_reservations(), start + (1 << 20));
    drop(running);
    manager.reclaim();
    assert_eq!(live_code_reservations(), start);
}
