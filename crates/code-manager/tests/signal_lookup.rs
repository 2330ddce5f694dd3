//! pc lookup from inside real SIGILL and SIGSEGV handlers, while another thread keeps publishing
//! and removing code in the same module.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use kiln_abi::{CompiledFunction, SourcePosition, TrapCode, TrapSite};
use kiln_code_manager::{
    CodeKind, CodeManager, CodeManagerConfig, ExecutionScope, RemoveFilter, lookup,
};

/// Where the handler sends the faulting thread: a published `mov eax, 42; ret`, which returns
/// to the caller of the trapping function.
/// What the lazy-compile builtin returns.
const LAZY: u32 = 7;

static RECOVERY: AtomicUsize = AtomicUsize::new(0);
static HITS: AtomicUsize = AtomicUsize::new(0);
static FOUND_SIGNAL: AtomicU32 = AtomicU32::new(0);
static FOUND_START: AtomicUsize = AtomicUsize::new(0);
static FOUND_INDEX: AtomicU32 = AtomicU32::new(u32::MAX);
/// The trap code as `code + 1`, 0 if none.
static FOUND_TRAP: AtomicU32 = AtomicU32::new(0);
static FOUND_WASM_OFFSET: AtomicU32 = AtomicU32::new(u32::MAX);
static FOUND_MODULE: AtomicU64 = AtomicU64::new(0);

extern "C" fn handler(
    signal: libc::c_int,
    _info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let context = context.cast::<libc::ucontext_t>();
    // SAFETY: the kernel passes a valid ucontext to an SA_SIGINFO handler.
    let rip = unsafe { (*context).uc_mcontext.gregs[libc::REG_RIP as usize] } as usize;
    // Only atomics and the lock-free lookup in here.
    match lookup(rip) {
        Some(found) => {
            FOUND_START.store(found.code().instruction_start(), Ordering::SeqCst);
            FOUND_INDEX.store(found.code().index().unwrap_or(u32::MAX), Ordering::SeqCst);
            FOUND_TRAP.store(
                found.trap_code().map_or(0, |t| t as u32 + 1),
                Ordering::SeqCst,
            );
            FOUND_WASM_OFFSET.store(found.wasm_offset().unwrap_or(u32::MAX), Ordering::SeqCst);
            FOUND_MODULE.store(found.module_id(), Ordering::SeqCst);
        }
        None => FOUND_START.store(0, Ordering::SeqCst),
    }
    FOUND_SIGNAL.store(signal as u32, Ordering::SeqCst);
    HITS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: as above; the recovery code returns to the trapping function's caller, whose
    // return address is on top of the stack as the trapping function never pushed anything.
    unsafe {
        (*context).uc_mcontext.gregs[libc::REG_RIP as usize] =
            RECOVERY.load(Ordering::SeqCst) as libc::greg_t
    };
}

fn install(signal: libc::c_int) -> libc::sigaction {
    // SAFETY: a zeroed sigaction is a valid starting point; we fill in handler, flags and mask.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO;
    // SAFETY: `action.sa_mask` is a valid sigset_t.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid sigaction structs.
    assert_eq!(unsafe { libc::sigaction(signal, &action, &mut old) }, 0);
    old
}

fn restore(signal: libc::c_int, old: &libc::sigaction) {
    assert_eq!(
        // SAFETY: `old` was filled in by `sigaction`.
        unsafe { libc::sigaction(signal, old, std::ptr::null_mut()) },
        0
    );
}

fn returns(value: u32) -> CompiledFunction {
    let mut code = vec![0xB8];
    code.extend_from_slice(&value.to_le_bytes());
    code.push(0xC3);
    CompiledFunction {
        code,
        ..Default::default()
    }
}

#[test]
fn lookup_from_signal_handlers_finds_code_and_trap_site() {
    let manager = CodeManager::new(CodeManagerConfig {
        code_space_per_module: 16 << 20,
        lazy_compile_builtin: None,
    });
    // Calls of removed functions land in a builtin returning LAZY.
    let builtins = manager.new_native_module(0, 1).unwrap();
    let builtin = builtins
        .publish(0, CodeKind::Optimized, &returns(LAZY))
        .unwrap();
    manager.set_lazy_compile_builtin(builtin.instruction_start());
    let module = manager.new_native_module(0, 4).unwrap();
    let recovery = module
        .publish(1, CodeKind::Optimized, &returns(42))
        .unwrap();
    RECOVERY.store(recovery.instruction_start(), Ordering::SeqCst);

    // nop; nop; ud2
    let ud2 = CompiledFunction {
        code: vec![0x90, 0x90, 0x0F, 0x0B],
        trap_sites: vec![TrapSite {
            pc_offset: 2,
            trap: TrapCode::Unreachable,
        }],
        source_positions: [
            SourcePosition {
                pc_offset: 0,
                wasm_offset: 10,
            },
            SourcePosition {
                pc_offset: 2,
                wasm_offset: 17,
            },
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    // nop; mov rax, [0]
    let null_load = CompiledFunction {
        code: vec![0x90, 0x48, 0x8B, 0x04, 0x25, 0, 0, 0, 0, 0xC3],
        trap_sites: vec![TrapSite {
            pc_offset: 1,
            trap: TrapCode::MemoryOutOfBounds,
        }],
        source_positions: [SourcePosition {
            pc_offset: 1,
            wasm_offset: 23,
        }]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let ill = module.publish(0, CodeKind::Baseline, &ud2).unwrap();
    let segv = module.publish(2, CodeKind::Baseline, &null_load).unwrap();
    let call = |func| {
        let slot = module.jump_table_slot(func).unwrap();
        // SAFETY: the slot leads to one of the functions above, which take no arguments and
        // return in rax (directly or through the recovery code).
        let f: extern "sysv64" fn() -> u64 = unsafe { std::mem::transmute(slot) };
        let _scope = ExecutionScope::enter();
        f()
    };

    let old_ill = install(libc::SIGILL);
    let old_segv = install(libc::SIGSEGV);
    let mut results = Vec::new();
    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicUsize::new(0));
    let mut churn = None;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut round = 0;
    // Trap until the churning thread has made real progress meanwhile.
    while round < 400 || churned.load(Ordering::SeqCst) < 2000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the churning thread made no progress"
        );
        if round == 2 {
            // From now on another thread churns the same module's code and lookup table.
            let (module, stop, ud2, null_load, churned) = (
                module.clone(),
                stop.clone(),
                ud2.clone(),
                null_load.clone(),
                churned.clone(),
            );
            churn = Some(std::thread::spawn(move || {
                let mut version = 0;
                while !stop.load(Ordering::Relaxed) {
                    module
                        .publish(3, CodeKind::Baseline, &returns(version))
                        .unwrap();
                    if version % 2 == 0 {
                        module.remove_compiled_code(RemoveFilter::Baseline);
                        module.publish(0, CodeKind::Baseline, &ud2).unwrap();
                        module.publish(2, CodeKind::Baseline, &null_load).unwrap();
                    }
                    version += 1;
                    churned.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        let (func, signal) = if round % 2 == 0 {
            (0, libc::SIGILL)
        } else {
            (2, libc::SIGSEGV)
        };
        let before = HITS.load(Ordering::SeqCst);
        let value = call(func);
        round += 1;
        if value == u64::from(LAZY) {
            // The churning thread had just removed the function.
            assert_eq!(HITS.load(Ordering::SeqCst), before);
            continue;
        }
        assert_eq!(value, 42, "the handler redirected to the recovery code");
        assert_eq!(HITS.load(Ordering::SeqCst), before + 1);
        assert_eq!(FOUND_SIGNAL.load(Ordering::SeqCst), signal as u32);
        let start = FOUND_START.load(Ordering::SeqCst);
        assert_ne!(start, 0, "the handler's lookup found the code");
        assert_eq!(FOUND_INDEX.load(Ordering::SeqCst), func);
        assert_eq!(FOUND_MODULE.load(Ordering::SeqCst), module.id());
        results.push((
            func,
            FOUND_TRAP.load(Ordering::SeqCst),
            FOUND_WASM_OFFSET.load(Ordering::SeqCst),
            start,
        ));
    }
    assert!(results.len() > 100, "only {} rounds trapped", results.len());
    restore(libc::SIGILL, &old_ill);
    restore(libc::SIGSEGV, &old_segv);
    stop.store(true, Ordering::Relaxed);
    churn.unwrap().join().unwrap();

    for (func, trap, wasm_offset, _) in &results {
        if *func == 0 {
            assert_eq!(*trap, TrapCode::Unreachable as u32 + 1);
            assert_eq!(*wasm_offset, 17);
        } else {
            assert_eq!(*trap, TrapCode::MemoryOutOfBounds as u32 + 1);
            assert_eq!(*wasm_offset, 23);
        }
    }
    // The first traps, before the churn, hit the first published versions.
    assert_eq!(results[0].3, ill.instruction_start());
    assert_eq!(results[1].3, segv.instruction_start());
}
