//! Publication, tiering, removal, reference counting, lookup, accounting and W^X, exercised by
//! calling the generated code.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use kiln_abi::{
    CompiledFunction, Relocation, RelocationTarget, SourcePosition, TrapCode, TrapSite,
};
use kiln_code_manager::{
    CodeError, CodeKind, CodeManager, CodeManagerConfig, CodeRefScope, ExecutionScope,
    MAX_CODE_SPACE, NativeModule, PublishMode, PublishRequest, RemoveFilter, WasmCodeRef, lookup,
};

const SENTINEL: u32 = 0xDEAD;

/// `mov eax, value; ret`
fn returns(value: u32) -> CompiledFunction {
    let mut code = vec![0xB8];
    code.extend_from_slice(&value.to_le_bytes());
    code.push(0xC3);
    CompiledFunction {
        code,
        ..Default::default()
    }
}

/// Calls the code at `address` as `extern "sysv64" fn() -> u64`.
fn call(address: usize) -> u64 {
    // SAFETY: every address the tests call is a jump-table slot, stub or published function of
    // the `returns`/`calls_plus_one` shapes, which take no arguments and return in rax.
    let f: extern "sysv64" fn() -> u64 = unsafe { std::mem::transmute(address) };
    f()
}

/// A manager whose lazy-compile builtin returns `SENTINEL`, and the reference keeping the
/// builtin alive.
fn manager() -> (CodeManager, WasmCodeRef) {
    let builtins = CodeManager::new(CodeManagerConfig::default());
    let module = builtins
        .new_native_module_with_code_space(0, 1, 1 << 20)
        .unwrap();
    let builtin = module
        .publish(0, CodeKind::Optimized, &returns(SENTINEL))
        .unwrap();
    let manager = CodeManager::new(CodeManagerConfig {
        code_space_per_module: 16 << 20,
        lazy_compile_builtin: Some(builtin.instruction_start()),
    });
    (manager, builtin)
}

/// Calls `reclaim` until `done` holds, for at most five seconds (other tests' read sections
/// may delay grace periods).
fn reclaim_until(module: &NativeModule, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        module.reclaim();
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

#[test]
fn slots_start_lazy_and_jump_to_published_code() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(2, 3).unwrap();
    let slot = module.jump_table_slot(3).unwrap();
    assert_eq!(call(slot), u64::from(SENTINEL));
    assert_eq!(call(module.lazy_stub(3).unwrap()), u64::from(SENTINEL));
    let code = module.publish(3, CodeKind::Baseline, &returns(5)).unwrap();
    assert_eq!(call(slot), 5);
    assert_eq!(call(code.instruction_start()), 5);
    assert_eq!(code.index(), Some(3));
    assert_eq!(code.kind(), CodeKind::Baseline);
    assert_eq!(code.instructions(), &returns(5).code[..]);
    // Other slots are untouched.
    assert_eq!(
        call(module.jump_table_slot(2).unwrap()),
        u64::from(SENTINEL)
    );
    assert!(matches!(
        module.jump_table_slot(1),
        Err(CodeError::FunctionIndexOutOfRange {
            index: 1,
            imported: 2,
            declared: 3
        })
    ));
    assert!(module.jump_table_slot(5).is_err());
}

#[test]
fn relocations_call_through_the_jump_table() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, 2).unwrap();
    // call rel32 <slot of function 1>; add eax, 1; ret
    let caller = CompiledFunction {
        code: vec![0xE8, 0, 0, 0, 0, 0x83, 0xC0, 0x01, 0xC3],
        relocations: vec![Relocation {
            offset: 1,
            target: RelocationTarget::Function(1),
            addend: 0,
        }],
        ..Default::default()
    };
    module.publish(0, CodeKind::Optimized, &caller).unwrap();
    let slot = module.jump_table_slot(0).unwrap();
    // The callee is still lazy: the call lands in the builtin.
    assert_eq!(call(slot), u64::from(SENTINEL) + 1);
    module
        .publish(1, CodeKind::Optimized, &returns(41))
        .unwrap();
    assert_eq!(call(slot), 42);
    // Re-publishing the callee retargets the caller without touching it.
    module
        .publish(1, CodeKind::Optimized, &returns(99))
        .unwrap();
    assert_eq!(call(slot), 100);

    let bad = CompiledFunction {
        relocations: vec![Relocation {
            offset: 6,
            target: RelocationTarget::Function(1),
            addend: 0,
        }],
        ..caller
    };
    assert!(matches!(
        module.publish(0, CodeKind::Optimized, &bad),
        Err(CodeError::MetadataOutOfBounds {
            what: "relocation",
            offset: 6,
            code_len: 9
        })
    ));
}

#[test]
fn lower_tiers_do_not_replace_higher_ones_unless_forced() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, 1).unwrap();
    let slot = module.jump_table_slot(0).unwrap();
    module.publish(0, CodeKind::Baseline, &returns(1)).unwrap();
    module.publish(0, CodeKind::Optimized, &returns(2)).unwrap();
    assert_eq!(call(slot), 2);
    let ignored = module.publish(0, CodeKind::Baseline, &returns(3)).unwrap();
    assert_eq!(call(slot), 2);
    assert_eq!(module.code(0).unwrap().kind(), CodeKind::Optimized);
    // Not installed: the caller's reference is the only one.
    assert_eq!(ignored.ref_count(), 1);
    module.publish(0, CodeKind::Optimized, &returns(4)).unwrap();
    assert_eq!(call(slot), 4);
    let debug = CompiledFunction {
        debug_side_table: Some(vec![1, 2, 3]),
        ..returns(5)
    };
    let debug = module
        .publish_with(
            0,
            CodeKind::BaselineDebug,
            &debug,
            PublishMode::ForceReplace,
        )
        .unwrap();
    assert_eq!(call(slot), 5);
    assert!(debug.for_debugging());
    assert_eq!(debug.debug_side_table(), Some(&[1u8, 2, 3][..]));
    assert!(matches!(
        module.publish(0, CodeKind::LazyStub, &returns(1)),
        Err(CodeError::NotFunctionCode {
            kind: CodeKind::LazyStub
        })
    ));
}

#[test]
fn remove_filters_select_code_and_slots_fall_back_to_stubs() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, 3).unwrap();
    let debug = CompiledFunction {
        debug_side_table: Some(vec![0; 10]),
        ..returns(1)
    };
    module
        .publish_batch(&[
            PublishRequest {
                func_index: 0,
                kind: CodeKind::Baseline,
                function: &returns(10),
                mode: PublishMode::Normal,
            },
            PublishRequest {
                func_index: 1,
                kind: CodeKind::BaselineDebug,
                function: &debug,
                mode: PublishMode::Normal,
            },
            PublishRequest {
                func_index: 2,
                kind: CodeKind::Optimized,
                function: &returns(30),
                mode: PublishMode::Normal,
            },
        ])
        .unwrap();
    let slot = |i| module.jump_table_slot(i).unwrap();
    let removed = module.remove_compiled_code(RemoveFilter::Debug);
    assert_eq!(removed.functions, 1);
    assert_eq!(removed.code_bytes, 6);
    assert!(removed.metadata_bytes >= 10);
    assert_eq!(call(slot(1)), u64::from(SENTINEL));
    assert_eq!(call(slot(0)), 10);
    let removed = module.remove_compiled_code(RemoveFilter::NonDebug);
    assert_eq!(removed.functions, 2);
    assert_eq!(removed.code_bytes, 12);
    assert_eq!(call(slot(0)), u64::from(SENTINEL));
    assert_eq!(call(slot(2)), u64::from(SENTINEL));
    module.publish(0, CodeKind::Baseline, &returns(11)).unwrap();
    module
        .publish(2, CodeKind::Optimized, &returns(31))
        .unwrap();
    let removed = module.remove_compiled_code(RemoveFilter::Baseline);
    assert_eq!(removed.functions, 1);
    assert_eq!(call(slot(0)), u64::from(SENTINEL));
    assert_eq!(call(slot(2)), 31);
}

#[test]
fn removed_code_lives_while_referenced_then_is_freed() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, 1).unwrap();
    let mut scope = CodeRefScope::new();
    assert!(scope.add_pc(0).is_none());
    let start = scope
        .add(module.publish(0, CodeKind::Baseline, &returns(7)).unwrap())
        .instruction_start();
    let slot = module.jump_table_slot(0).unwrap();
    assert_eq!(call(slot), 7);
    assert_eq!(
        module
            .remove_compiled_code(RemoveFilter::Baseline)
            .functions,
        1
    );
    assert_eq!(call(slot), u64::from(SENTINEL));
    assert!(module.code(0).is_none());
    // Held by the scope: no grace period frees it.
    for _ in 0..10 {
        module.reclaim();
    }
    assert_eq!(call(start), 7, "removed code stays mapped and callable");
    let usage = module.memory_usage();
    assert_eq!(usage.code_bytes_of(CodeKind::Baseline), 6);
    assert_eq!(usage.dead_code_bytes, 0, "not dead while referenced");
    assert_eq!(lookup(start).unwrap().code().index(), Some(0));
    // A frame walker finding the removed code on a stack takes another reference.
    assert_eq!(scope.add_pc(start + 1).unwrap().instruction_start(), start);
    assert_eq!(scope.len(), 2);

    drop(scope);
    assert_eq!(module.memory_usage().dead_code_bytes, 6);
    assert!(reclaim_until(&module, || module
        .memory_usage()
        .code_bytes_of(CodeKind::Baseline)
        == 0));
    assert_eq!(module.memory_usage().dead_code_bytes, 0);
    assert!(lookup(start).is_none(), "freed code is no longer listed");
    // The freed range is reused.
    let again = module.publish(0, CodeKind::Baseline, &returns(8)).unwrap();
    assert_eq!(again.instruction_start(), start);
    assert_eq!(call(slot), 8);
}

#[test]
fn lookup_finds_code_stubs_and_metadata() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(1, 2).unwrap();
    let f = CompiledFunction {
        code: vec![0x90, 0x90, 0x0F, 0x0B, 0xC3],
        trap_sites: vec![TrapSite {
            pc_offset: 2,
            trap: TrapCode::IntegerDivideByZero,
        }],
        source_positions: [
            SourcePosition {
                pc_offset: 0,
                wasm_offset: 30,
            },
            SourcePosition {
                pc_offset: 2,
                wasm_offset: 34,
            },
        ]
        .into_iter()
        .collect(),
        frame_size: 48,
        ..Default::default()
    };
    let code = module.publish(2, CodeKind::Optimized, &f).unwrap();
    let start = code.instruction_start();
    let found = lookup(start + 2).unwrap();
    assert_eq!(found.code().instruction_start(), start);
    assert_eq!(found.code().index(), Some(2));
    assert_eq!(found.code().frame_size(), 48);
    assert_eq!(found.module_id(), module.id());
    assert_eq!(found.pc_offset(), 2);
    assert_eq!(found.trap_code(), Some(TrapCode::IntegerDivideByZero));
    assert_eq!(found.wasm_offset(), Some(34));
    assert_eq!(found.native_module().unwrap().id(), module.id());
    assert_eq!(found.code_ref().unwrap().ref_count(), 3);
    let at_start = lookup(start).unwrap();
    assert_eq!(
        (at_start.trap_code(), at_start.wasm_offset()),
        (None, Some(30))
    );
    assert!(lookup(start + 5).is_none_or(|l| l.code().instruction_start() != start));
    let stub = lookup(module.lazy_stub(1).unwrap() + 3).unwrap();
    assert_eq!(stub.code().kind(), CodeKind::LazyStub);
    assert_eq!(
        lookup(module.code_space().start).unwrap().code().kind(),
        CodeKind::LazyStub
    );
    // Jump-table slots are not code objects.
    assert!(lookup(module.jump_table_slot(1).unwrap()).is_none());

    let range = module.code_space();
    drop((found, at_start, stub, code));
    drop(module);
    assert!(
        lookup(range.start).is_none(),
        "a dropped module is unregistered"
    );
}

#[test]
fn no_mapping_is_writable_and_executable() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, 4).unwrap();
    let code = module.publish(0, CodeKind::Baseline, &returns(1)).unwrap();
    let start = code.instruction_start();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut covered = false;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let range = fields.next().unwrap();
        let perms = fields.next().unwrap();
        assert!(
            !(perms.contains('w') && perms.contains('x')),
            "W+X mapping: {line}"
        );
        let (lo, hi) = range.split_once('-').unwrap();
        let lo = usize::from_str_radix(lo, 16).unwrap();
        let hi = usize::from_str_radix(hi, 16).unwrap();
        if (lo..hi).contains(&start) {
            assert_eq!(perms, "r-xs", "code runs from the shared executable view");
            covered = true;
        }
    }
    assert!(covered);
}

#[test]
fn running_out_of_code_space_is_a_clear_error() {
    let (manager, _builtin) = manager();
    let module = manager
        .new_native_module_with_code_space(0, 1, 64 * 1024)
        .unwrap();
    let mut big = returns(77);
    big.code.resize(20_000, 0xCC);
    let mut published = Vec::new();
    let err = loop {
        match module.publish(0, CodeKind::Baseline, &big) {
            Ok(code) => published.push(code),
            Err(e) => break e,
        }
        assert!(published.len() < 10);
    };
    assert_eq!(published.len(), 3);
    let CodeError::OutOfCodeSpace {
        requested,
        largest_free,
        reserved,
    } = err
    else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!((requested, reserved), (20_032, 65_536));
    assert!(largest_free < requested);
    let message = err.to_string();
    assert!(
        message.contains("20032") && message.contains("65536"),
        "{message}"
    );
    // The module still works, and the last published version is installed.
    assert_eq!(call(module.jump_table_slot(0).unwrap()), 77);
    assert!(matches!(
        manager.new_native_module_with_code_space(0, 1, MAX_CODE_SPACE + 1),
        Err(CodeError::InvalidCodeSpaceSize { .. })
    ));
    assert!(matches!(
        manager.new_native_module_with_code_space(0, 10_000, 64 * 1024),
        Err(CodeError::TooManyFunctions {
            functions: 10_000,
            ..
        })
    ));
}

#[test]
fn accounting_tracks_kinds_metadata_and_totals() {
    let (manager, _builtin) = manager();
    let a = manager.new_native_module(0, 2).unwrap();
    let b = manager.new_native_module(0, 1).unwrap();
    let empty = a.memory_usage();
    // Two stubs and the far jump to the lazy-compile builtin.
    assert_eq!(empty.code_bytes_of(CodeKind::LazyStub), 32 + 16);
    assert_eq!(empty.code_bytes_of(CodeKind::Trampoline), 0);
    assert_eq!(empty.committed_bytes, region::page::size());
    assert_eq!(empty.reserved_bytes, 16 << 20);
    let f = CompiledFunction {
        trap_sites: vec![
            TrapSite {
                pc_offset: 0,
                trap: TrapCode::Unreachable
            };
            1
        ],
        ..returns(1)
    };
    let _keep = (
        a.publish(0, CodeKind::Baseline, &f).unwrap(),
        a.publish(1, CodeKind::Optimized, &returns(2)).unwrap(),
        b.publish(0, CodeKind::Optimized, &returns(3)).unwrap(),
    );
    let usage = a.memory_usage();
    assert_eq!(usage.code_bytes_of(CodeKind::Baseline), 6);
    assert_eq!(usage.code_bytes_of(CodeKind::Optimized), 6);
    assert!(usage.metadata_bytes > empty.metadata_bytes);
    assert!(usage.estimate() >= usage.committed_bytes + usage.metadata_bytes);
    let total = manager.memory_usage();
    assert_eq!(total.modules, 2);
    assert_eq!(total.code_bytes_of(CodeKind::Optimized), 12);
    assert_eq!(
        total.estimate(),
        usage.estimate() + b.memory_usage().estimate()
    );
}

/// Value returned by version `version` of function `func`.
fn versioned(func: u32, version: u32) -> u32 {
    func * 1_000_000 + version
}

#[test]
fn concurrent_calls_publications_and_removals() {
    const FUNCS: u32 = 4;
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, FUNCS).unwrap();
    let slots: Vec<usize> = (0..FUNCS)
        .map(|i| module.jump_table_slot(i).unwrap())
        .collect();
    let published: Arc<Vec<AtomicU64>> = Arc::new((0..FUNCS).map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let lazy_calls = Arc::new(AtomicUsize::new(0));
    let code_calls = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(5));
    let reused = Arc::new(AtomicUsize::new(0));

    let mut threads = Vec::new();
    for _ in 0..3 {
        let (slots, published, stop, lazy_calls, code_calls, start) = (
            slots.clone(),
            published.clone(),
            stop.clone(),
            lazy_calls.clone(),
            code_calls.clone(),
            start.clone(),
        );
        threads.push(std::thread::spawn(move || {
            start.wait();
            while !stop.load(Ordering::Relaxed) {
                // What the runtime does around every activation of wasm code.
                let _scope = ExecutionScope::enter();
                for (func, &slot) in slots.iter().enumerate() {
                    let value = call(slot) as u32;
                    if value == SENTINEL {
                        lazy_calls.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let newest = published[func].load(Ordering::SeqCst) as u32;
                    assert_eq!(value / 1_000_000, func as u32, "landed in another function");
                    assert!(
                        value % 1_000_000 <= newest,
                        "version {value} never published"
                    );
                    code_calls.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    {
        let (module, published, stop, start, reused) = (
            module.clone(),
            published.clone(),
            stop.clone(),
            start.clone(),
            reused.clone(),
        );
        threads.push(std::thread::spawn(move || {
            start.wait();
            let mut version = 1;
            let mut seen = std::collections::HashSet::new();
            while !stop.load(Ordering::Relaxed) {
                let functions: Vec<CompiledFunction> =
                    (0..FUNCS).map(|f| returns(versioned(f, version))).collect();
                for f in 0..FUNCS {
                    published[f as usize].store(u64::from(version), Ordering::SeqCst);
                }
                let kind = if version % 3 == 0 {
                    CodeKind::Optimized
                } else {
                    CodeKind::Baseline
                };
                let requests: Vec<PublishRequest<'_>> = functions
                    .iter()
                    .enumerate()
                    .map(|(f, function)| PublishRequest {
                        func_index: f as u32,
                        kind,
                        function,
                        mode: PublishMode::Normal,
                    })
                    .collect();
                for code in module.publish_batch(&requests).unwrap() {
                    if !seen.insert(code.instruction_start()) {
                        reused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                version += 1;
            }
        }));
    }
    {
        let (module, stop, start) = (module.clone(), stop.clone(), start.clone());
        threads.push(std::thread::spawn(move || {
            start.wait();
            let filters = [
                RemoveFilter::Baseline,
                RemoveFilter::NonDebug,
                RemoveFilter::Debug,
            ];
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                module.remove_compiled_code(filters[round % filters.len()]);
                round += 1;
                std::thread::yield_now();
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    assert!(lazy_calls.load(Ordering::Relaxed) > 0);
    assert!(code_calls.load(Ordering::Relaxed) > 0);
    assert!(
        reused.load(Ordering::Relaxed) > 0,
        "freed code ranges were reused while other threads were calling"
    );

    // Everything removed and unreferenced is eventually freed, memory included.
    module.remove_compiled_code(RemoveFilter::NonDebug);
    let function_bytes = |m: &NativeModule| {
        let u = m.memory_usage();
        u.code_bytes_of(CodeKind::Baseline) + u.code_bytes_of(CodeKind::Optimized)
    };
    assert!(reclaim_until(&module, || function_bytes(&module) == 0));
    assert_eq!(module.memory_usage().committed_bytes, region::page::size());
    for &slot in &slots {
        assert_eq!(call(slot), u64::from(SENTINEL));
    }
}

#[test]
fn an_execution_scope_keeps_unlinked_code_mapped() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, 1).unwrap();
    let start = module
        .publish(0, CodeKind::Optimized, &returns(9))
        .unwrap()
        .instruction_start();
    // A thread "running" the code: inside an activation that entered before the removal.
    let scope = ExecutionScope::enter();
    module.remove_compiled_code(RemoveFilter::NonDebug);
    assert_eq!(
        module.memory_usage().dead_code_bytes,
        6,
        "unreferenced: dead at once"
    );
    for _ in 0..10 {
        module.reclaim();
    }
    assert_eq!(
        call(start),
        9,
        "still mapped while an older activation may run it"
    );
    assert_eq!(lookup(start).unwrap().code().index(), Some(0));
    drop(scope);
    assert!(reclaim_until(&module, || module
        .memory_usage()
        .dead_code_bytes
        == 0));
    assert!(lookup(start).is_none());
}

#[test]
fn lookup_finds_every_function_published_one_at_a_time() {
    let (manager, _builtin) = manager();
    const N: u32 = 600;
    let module = manager.new_native_module(0, N).unwrap();
    let mut codes = Vec::new();
    for i in 0..N {
        codes.push(module.publish(i, CodeKind::Baseline, &returns(i)).unwrap());
        // Replace some, so that dead code leaves the table and the base is rebuilt meanwhile.
        if i % 50 == 49 {
            codes.push(
                module
                    .publish(i - 7, CodeKind::Optimized, &returns(i - 7))
                    .unwrap(),
            );
            module.reclaim();
        }
    }
    for code in &codes {
        let found = lookup(code.instruction_start() + 3).unwrap();
        assert_eq!(found.code().instruction_start(), code.instruction_start());
        assert_eq!(found.code().index(), code.index());
    }
    for i in 0..N {
        assert_eq!(call(module.jump_table_slot(i).unwrap()), u64::from(i));
    }
}

#[test]
fn default_modules_reserve_the_maximum_and_commit_on_use() {
    let manager = CodeManager::new(CodeManagerConfig::default());
    let module = manager.new_native_module(0, 3).unwrap();
    let usage = module.memory_usage();
    assert_eq!(usage.reserved_bytes, MAX_CODE_SPACE);
    assert_eq!(usage.committed_bytes, region::page::size());
    assert_eq!(module.code_space().len(), MAX_CODE_SPACE);
    // No builtin registered: lazy calls trap in the trampoline instead of jumping to 0.
    let trampoline = lookup(module.code_space().start).unwrap();
    assert_eq!(trampoline.code().instructions()[6..8], [0x0F, 0x0B]);
    let big = CompiledFunction {
        code: vec![0xCC; 3 * region::page::size()],
        ..returns(1)
    };
    let code = module.publish(0, CodeKind::Optimized, &big).unwrap();
    assert_eq!(
        module.memory_usage().committed_bytes,
        4 * region::page::size()
    );
    drop(code);
    manager.reclaim();
    assert_eq!(manager.memory_usage().modules, 1);
}

#[test]
fn trampolines_are_listed_and_callable() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, 0).unwrap();
    // mov eax, 7; ret
    let code = module
        .publish_trampoline(&[0xB8, 7, 0, 0, 0, 0xC3])
        .unwrap();
    let start = code.instruction_start();
    let found = lookup(start + 5).unwrap();
    assert_eq!(found.code().kind(), CodeKind::Trampoline);
    assert_eq!(found.code().index(), None);
    drop(found);
    let _scope = ExecutionScope::enter();
    // SAFETY: the trampoline takes nothing and returns in eax.
    let call: extern "sysv64" fn() -> u32 = unsafe { std::mem::transmute(start) };
    assert_eq!(call(), 7);
    assert_eq!(module.memory_usage().code_bytes_of(CodeKind::Trampoline), 6);
}

#[test]
fn stack_scans_free_dead_code_during_a_long_execution() {
    let (manager, _builtin) = manager();
    let module = manager.new_native_module(0, 2).unwrap();
    let start_of = |code: WasmCodeRef| code.instruction_start();
    let a = start_of(module.publish(0, CodeKind::Baseline, &returns(1)).unwrap());
    let b = start_of(module.publish(1, CodeKind::Baseline, &returns(2)).unwrap());
    // A thread inside a long wasm call that entered before the removal: the normal path frees
    // nothing while it lasts.
    let long_call = ExecutionScope::enter();
    let removed = module.remove_compiled_code(RemoveFilter::Baseline);
    assert_eq!((removed.functions, removed.code_bytes), (2, 12));
    for _ in 0..10 {
        module.reclaim();
    }
    assert_eq!(module.memory_usage().dead_code_bytes, 12);

    // Every thread reported its stack after the removal: a frame of `a` is on one of them.
    let on_stack = [b + 0x1000, a + 3, 17];
    let freed = module.free_dead_code(&on_stack);
    assert_eq!(freed.codes, 1);
    assert_eq!(freed.code_bytes, 6);
    assert!(freed.metadata_bytes > 0);
    assert_eq!(freed.kept_on_stack, 1);
    assert!(reclaim_until(&module, || module
        .memory_usage()
        .dead_code_bytes
        == 6));
    assert!(
        lookup(b).is_none(),
        "freed without waiting for the long call"
    );
    assert_eq!(call(a), 1, "code a frame returns into stays mapped");
    assert_eq!(lookup(a + 3).unwrap().code().index(), Some(0));
    assert_eq!(module.memory_usage().code_bytes_of(CodeKind::Baseline), 6);

    // The frame returned: the next report is empty and the rest goes.
    let freed = manager.free_dead_code(&[]);
    assert_eq!(
        (freed.codes, freed.code_bytes, freed.kept_on_stack),
        (1, 6, 0)
    );
    assert!(reclaim_until(&module, || module
        .memory_usage()
        .code_bytes_of(CodeKind::Baseline)
        == 0));
    assert!(lookup(a).is_none());
    assert_eq!(module.memory_usage().dead_code_bytes, 0);
    drop(long_call);
    // Freed space is reused.
    let again = module.publish(1, CodeKind::Baseline, &returns(5)).unwrap();
    assert!(again.instruction_start() == a || again.instruction_start() == b);
    assert_eq!(call(module.jump_table_slot(1).unwrap()), 5);
}

#[test]
fn flushing_baseline_code_resets_every_slot_and_returns_its_memory() {
    let (manager, _builtin) = manager();
    const FUNCS: u32 = 40;
    let module = manager.new_native_module(2, FUNCS).unwrap();
    let header_only = module.memory_usage();
    // Baseline code big enough to span pages, and one optimized function.
    let big = |v: u32| {
        let mut f = returns(v);
        f.code.splice(0..0, std::iter::repeat_n(0x90, 500));
        f.source_positions = [SourcePosition {
            pc_offset: 0,
            wasm_offset: v,
        }]
        .into_iter()
        .collect();
        f
    };
    let functions: Vec<CompiledFunction> = (0..FUNCS).map(|i| big(100 + i)).collect();
    let requests: Vec<PublishRequest<'_>> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| PublishRequest {
            func_index: 2 + i as u32,
            kind: CodeKind::Baseline,
            function: f,
            mode: PublishMode::Normal,
        })
        .collect();
    drop(module.publish_batch(&requests).unwrap());
    drop(
        module
            .publish(5, CodeKind::Optimized, &returns(55))
            .unwrap(),
    );
    let full = module.memory_usage();
    assert_eq!(full.code_bytes_of(CodeKind::Baseline), FUNCS as usize * 506);
    assert!(full.committed_bytes > header_only.committed_bytes + 4 * 4096);
    for i in 0..FUNCS {
        let expected = if i == 3 { 55 } else { 100 + u64::from(i) };
        assert_eq!(call(module.jump_table_slot(2 + i).unwrap()), expected);
    }

    let removed = module.remove_compiled_code(RemoveFilter::Baseline);
    // The replaced baseline code of function 5 died when the optimized code was installed.
    assert_eq!(removed.functions, FUNCS as usize - 1);
    assert_eq!(removed.code_bytes, (FUNCS as usize - 1) * 506);
    let one_metadata = full.metadata_bytes - header_only.metadata_bytes;
    assert!(removed.metadata_bytes > 0 && removed.metadata_bytes < one_metadata);
    for i in 0..FUNCS {
        let slot = module.jump_table_slot(2 + i).unwrap();
        let expected = if i == 3 { 55 } else { u64::from(SENTINEL) };
        assert_eq!(call(slot), expected, "function {}", 2 + i);
        assert_eq!(module.code(2 + i).is_some(), i == 3);
    }
    let freed = module.free_dead_code(&[]);
    assert_eq!(freed.codes, FUNCS as usize);
    assert!(reclaim_until(&module, || module
        .memory_usage()
        .code_bytes_of(CodeKind::Baseline)
        == 0));
    let flushed = module.memory_usage();
    assert_eq!(flushed.dead_code_bytes, 0);
    assert_eq!(flushed.code_bytes_of(CodeKind::Optimized), 6);
    assert!(
        flushed.committed_bytes <= header_only.committed_bytes + 4096,
        "{flushed:?}"
    );
    // Lazy stubs compile again: publishing brings a function back.
    module.publish(2, CodeKind::Baseline, &big(7)).unwrap();
    assert_eq!(call(module.jump_table_slot(2).unwrap()), 7);
}
