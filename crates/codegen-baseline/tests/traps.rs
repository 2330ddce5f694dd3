//! Executed traps: each trapping call runs in a forked child whose signal handler maps the
//! faulting pc through the code manager's lookup table to a recorded trap site and exits
//! with that trap's code. The parent checks the exit status, so a trap that does not happen,
//! or happens at a pc that is not a recorded trap site, fails the test.
//!
//! This file holds a single test so the process has one test thread when it forks.

mod common;
use common::*;
use kiln_abi::{TrapCode, VMMemoryDefinition};
use kiln_codegen_baseline::CompileOptions;

type V = *mut u8;

const NOT_A_TRAP_SITE: i32 = 100;
const NO_TRAP: i32 = 101;
const NOT_WASM: i32 = 102;

extern "C" fn on_signal(_sig: i32, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid ucontext to an SA_SIGINFO handler.
    let pc = unsafe { (*(ctx as *mut libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] };
    let code = match kiln_code_manager::lookup(pc as usize) {
        Some(l) => l.trap_code().map_or(NOT_A_TRAP_SITE, |t| t as i32),
        None => NOT_WASM,
    };
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(code) };
}

/// Runs `f` in a child process and returns its exit status.
fn in_child(f: impl FnOnce()) -> i32 {
    // SAFETY: the child only calls generated code and async-signal-safe functions before
    // `_exit`; the handlers are installed in the child only.
    unsafe {
        match libc::fork() {
            0 => {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as *const () as usize;
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                for sig in [libc::SIGILL, libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE] {
                    libc::sigaction(sig, &sa, std::ptr::null_mut());
                }
                // An alternate stack, so a stack overflow can still be reported.
                let stack = libc::mmap(
                    std::ptr::null_mut(),
                    1 << 16,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                let ss = libc::stack_t {
                    ss_sp: stack,
                    ss_flags: 0,
                    ss_size: 1 << 16,
                };
                libc::sigaltstack(&ss, std::ptr::null_mut());
                f();
                libc::_exit(NO_TRAP);
            }
            pid => {
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
                assert!(
                    libc::WIFEXITED(status),
                    "child died without reporting: {status}"
                );
                libc::WEXITSTATUS(status)
            }
        }
    }
}

const TRAPS: &str = r#"(module
  (type $v (func))
  (type $i (func (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) func $nop)
  (func $nop (type $v))
  (func (export "unreachable") (param i32) (result i32) unreachable)
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem64") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_u (local.get 0)))
  (func (export "indirect") (param i32) (result i32) (call_indirect (type $i) (i32.const 0) (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load offset=4 (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32) (i32.add (call $deep (local.get 0)) (i32.const 1))))"#;

type Fns = (
    extern "sysv64" fn(V, i32) -> i32,
    extern "sysv64" fn(V, i32, i32) -> i32,
    extern "sysv64" fn(V, i64, i64) -> i64,
    extern "sysv64" fn(V, f64) -> i32,
    extern "sysv64" fn(V, i32) -> i32,
    extern "sysv64" fn(V, i32) -> i32,
    extern "sysv64" fn(V, i32) -> i32,
);

/// Instantiates the module in a child process (code spaces are not inherited by `fork`) and
/// runs `f` there; returns the child's exit status.
fn run(opts: &CompileOptions, guard_memory: bool, f: impl Fn(V, Fns)) -> i32 {
    in_child(|| {
        let inst = instantiate_with(TRAPS, opts);
        let v = inst.vmctx_ptr();
        if guard_memory {
            // Point the memory at a reservation whose first page is accessible and the rest is
            // a guard region.
            let kiln_abi::Place::Inline(def_off) = inst.layout.memory(0) else {
                panic!("defined memory")
            };
            // SAFETY: a fresh private mapping; the definition is inside the vmctx.
            unsafe {
                let base = libc::mmap(
                    std::ptr::null_mut(),
                    6 << 30,
                    libc::PROT_NONE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                ) as *mut u8;
                libc::mprotect(base as *mut _, 65536, libc::PROT_READ | libc::PROT_WRITE);
                (*(v.add(def_off as usize) as *mut VMMemoryDefinition)).base = base;
            }
        }
        let _s = scope();
        // SAFETY: the signatures match the exports.
        let fns = unsafe {
            (
                inst.get("unreachable"),
                inst.get("div"),
                inst.get("rem64"),
                inst.get("trunc"),
                inst.get("indirect"),
                inst.get("load"),
                inst.get("deep"),
            )
        };
        f(v, fns);
    })
}

fn check(opts: &CompileOptions, guard: bool) {
    let t = |code: TrapCode| code as i32;
    let r = |f: fn(V, Fns)| run(opts, guard, f);
    assert_eq!(
        r(|v, f| {
            f.0(v, 0);
        }),
        t(TrapCode::Unreachable)
    );
    assert_eq!(
        r(|v, f| {
            f.1(v, 1, 0);
        }),
        t(TrapCode::IntegerDivideByZero)
    );
    assert_eq!(
        r(|v, f| {
            f.1(v, i32::MIN, -1);
        }),
        t(TrapCode::IntegerOverflow)
    );
    assert_eq!(r(|v, f| assert_eq!(f.1(v, i32::MIN, 1), i32::MIN)), NO_TRAP);
    assert_eq!(
        r(|v, f| {
            f.2(v, 5, 0);
        }),
        t(TrapCode::IntegerDivideByZero)
    );
    assert_eq!(
        r(|v, f| {
            f.3(v, f64::NAN);
        }),
        t(TrapCode::BadConversionToInteger)
    );
    assert_eq!(
        r(|v, f| {
            f.3(v, -1.0);
        }),
        t(TrapCode::IntegerOverflow)
    );
    assert_eq!(
        r(|v, f| {
            f.3(v, 4294967296.0);
        }),
        t(TrapCode::IntegerOverflow)
    );
    assert_eq!(r(|v, f| assert_eq!(f.3(v, 4294967295.9), -1)), NO_TRAP);
    assert_eq!(
        r(|v, f| {
            f.4(v, 0);
        }),
        t(TrapCode::BadSignature)
    );
    assert_eq!(
        r(|v, f| {
            f.4(v, 1);
        }),
        t(TrapCode::IndirectCallToNull)
    );
    assert_eq!(
        r(|v, f| {
            f.4(v, 2);
        }),
        t(TrapCode::UndefinedElement)
    );
    assert_eq!(
        r(|v, f| {
            f.6(v, 0);
        }),
        t(TrapCode::StackOverflow)
    );
    // The last in-bounds word (offset 4), then one byte further, then a wrapped index.
    assert_eq!(r(|v, f| assert_eq!(f.5(v, 65536 - 8), 0)), NO_TRAP);
    assert_eq!(
        r(|v, f| {
            f.5(v, 65536 - 7);
        }),
        t(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(
        r(|v, f| {
            f.5(v, -4);
        }),
        t(TrapCode::MemoryOutOfBounds)
    );
}

#[test]
fn trapping_code_faults_at_recorded_trap_sites() {
    check(&options(), true);
    check(&explicit(), false);
}
