//! The `TierUp` builtin: the engine hears about a hot function once per budget, not on every
//! entry, because the runtime refills the budget after the hook.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kiln_code_manager::CodeKind;
use kiln_codegen_baseline::{CompileOptions, compile_function};
use kiln_runtime::*;

/// Records the host's call number at each tier-up request.
#[derive(Default)]
struct Requests {
    call: AtomicUsize,
    fired: Mutex<Vec<(u32, usize)>>,
}

impl EngineHooks for Requests {
    fn tier_up(&self, _module_id: u64, func_index: u32) {
        let call = self.call.load(Ordering::Relaxed);
        self.fired.lock().unwrap().push((func_index, call));
    }
}

#[test]
fn a_hot_function_asks_once_per_budget() {
    const BUDGET: i32 = 200;
    let runtime = Runtime::new(RuntimeConfig {
        tier_up_budget: BUDGET,
        ..Default::default()
    });
    let requests = Arc::new(Requests::default());
    runtime.set_engine_hooks(requests.clone());
    let module = common::module(
        r#"(module
            (func $cold (export "cold") (param i32) (result i32) local.get 0)
            (func $hot (export "hot") (param i32) (result i32)
                local.get 0 i32.const 3 i32.mul i32.const 1 i32.add))"#,
    );
    let native = common::native(&module);
    for f in 0..2 {
        let compiled = compile_function(&module, f, &CompileOptions::default()).unwrap();
        native.publish(f, CodeKind::Baseline, &compiled).unwrap();
    }
    let store = Store::new(&runtime);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    assert_eq!(instance.tier_up_budget(1), Some(BUDGET));
    assert_eq!(instance.tier_up_budget(2), None);

    let hot = instance.get_func("hot").unwrap();
    const CALLS: usize = 300;
    for i in 0..CALLS {
        requests.call.store(i, Ordering::Relaxed);
        let r = hot.call(&[Value::I32(i as i32)]).unwrap();
        assert_eq!(r[0].as_i32(), Some(i as i32 * 3 + 1));
        if requests.fired.lock().unwrap().last() == Some(&(1, i)) {
            assert_eq!(
                instance.tier_up_budget(1),
                Some(BUDGET),
                "refilled after the request of call {i}"
            );
        }
    }
    let fired = requests.fired.lock().unwrap().clone();
    assert!(fired.iter().all(|&(f, _)| f == 1), "{fired:?}");
    let calls: Vec<usize> = fired.iter().map(|&(_, c)| c).collect();
    // Every entry charges the same cost, so requests come at a fixed period of several calls
    // (without the refill every call after the first request would ask again).
    assert!(calls.len() >= 3, "{calls:?}");
    let period = calls[0] + 1;
    assert!(period > 1 && period < CALLS / 3, "{calls:?}");
    for (k, &c) in calls.iter().enumerate() {
        assert_eq!(c, (k + 1) * period - 1, "{calls:?}");
    }
    assert_eq!(calls.len(), CALLS / period);
    assert_eq!(instance.tier_up_budget(0), Some(BUDGET), "never called");

    // The engine may restart the count: an empty budget asks on the next entry.
    assert_eq!(store.reset_tier_up_budgets(native.id(), 0), 1);
    assert_eq!(instance.tier_up_budget(0), Some(0));
    requests.fired.lock().unwrap().clear();
    requests.call.store(1000, Ordering::Relaxed);
    instance
        .get_func("cold")
        .unwrap()
        .call(&[Value::I32(5)])
        .unwrap();
    assert_eq!(*requests.fired.lock().unwrap(), [(0, 1000)]);
    assert!(instance.set_tier_up_budget(1, BUDGET * 10));
    assert_eq!(instance.tier_up_budget(1), Some(BUDGET * 10));
    assert!(!instance.set_tier_up_budget(7, 0));
}
