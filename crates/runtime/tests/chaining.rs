//! Faults outside generated code go to the handler installed before the runtime's.
//! (Its own test binary: it installs a process-wide SIGILL handler first.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use kiln_abi::TrapCode;
use kiln_runtime::*;

static FOREIGN_FAULTS: AtomicUsize = AtomicUsize::new(0);

/// The embedder's own SIGILL handler: counts the fault and skips the 2-byte `ud2`.
extern "C" fn foreign_handler(_sig: i32, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    FOREIGN_FAULTS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: `ctx` is the interrupted thread's ucontext.
    unsafe {
        let gregs = &mut (*ctx.cast::<libc::ucontext_t>()).uc_mcontext.gregs;
        gregs[libc::REG_RIP as usize] += 2;
    }
}

/// Executes `ud2; ret` from a page that is not generated wasm code.
fn foreign_ud2() {
    let code = [0x0F, 0x0B, 0xC3];
    // SAFETY: a fresh private mapping, written, then made executable before the call.
    unsafe {
        let page = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(page, libc::MAP_FAILED);
        std::ptr::copy_nonoverlapping(code.as_ptr(), page.cast::<u8>(), code.len());
        assert_eq!(
            libc::mprotect(page, 4096, libc::PROT_READ | libc::PROT_EXEC),
            0
        );
        let f: extern "C" fn() = std::mem::transmute(page);
        f();
        libc::munmap(page, 4096);
    }
}

#[test]
fn foreign_faults_reach_the_previous_handler() {
    // SAFETY: installing a valid SA_SIGINFO handler.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = foreign_handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGILL, &action, std::ptr::null_mut()),
            0
        );
    }
    foreign_ud2();
    assert_eq!(FOREIGN_FAULTS.load(Ordering::SeqCst), 1);

    // The runtime installs its handlers on top, chaining to ours.
    let store = Store::new(&Runtime::default());
    let module = module(r#"(module (func (export "f") unreachable))"#);
    let native = native(&module);
    let mut c = Code::new();
    c.prologue();
    c.trap_here(TrapCode::Unreachable);
    c.asm.ud2();
    publish(&native, 0, c.finish());
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    let f = instance.get_func("f").unwrap();
    for round in 0..3 {
        // A wasm ud2 is a trap and never reaches the foreign handler...
        assert_eq!(f.call(&[]).unwrap_err().code, TrapCode::Unreachable);
        assert_eq!(FOREIGN_FAULTS.load(Ordering::SeqCst), 1 + round);
        // ...while a ud2 elsewhere does.
        foreign_ud2();
        assert_eq!(FOREIGN_FAULTS.load(Ordering::SeqCst), 2 + round);
    }
}
