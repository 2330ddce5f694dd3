//! Turning faults and runtime errors in wasm activations into traps.
//!
//! # Design
//!
//! Every host → wasm call pushes an activation record on a thread-local list and enters wasm
//! through an entry trampoline, which saves the callee-saved registers and writes its stack
//! pointer into the activation (`entry_sp`). A trap resumes the thread at the trampoline's
//! *landing* with `rsp = entry_sp` and `rax = 1 + TrapCode`; the trampoline restores the
//! callee-saved registers and returns that status to [`crate::Func::call`]. Nothing unwinds:
//! the wasm frames (and the builtin or host-call frames above them) are simply abandoned.
//!
//! - **Faults** (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`): handlers installed once per process
//!   with `SA_SIGINFO | SA_ONSTACK` run on a per-thread alternate stack (allocated the first
//!   time a thread enters wasm, if the thread has none big enough). The handler looks the
//!   faulting pc up with [`kiln_code_manager::lookup`]; if it is wasm code and the thread is in
//!   an activation, the trap code is the one recorded at that pc, or `MemoryOutOfBounds` for an
//!   access inside a linear memory's reservation (guard pages), or `StackOverflow` for an
//!   access near `rsp` (the thread's stack guard), or `IntegerDivideByZero` for an
//!   unrecorded `SIGFPE`; the `ud2` a lazy stub reaches when no lazy-compile builtin is
//!   installed traps as `Unreachable`. It records the wasm frames (walking the `rbp` chain
//!   into a fixed array), rewrites `rip`/`rsp`/`rax` in the signal context and returns. Any
//!   other fault is
//!   passed to the handler that was installed before ours (or the default action). The handler
//!   takes no lock and allocates nothing.
//! - **Builtins and host functions** report errors by raising: record the frames starting at
//!   the frame pointer of the builtin shim or exit trampoline, then jump to the landing. Host
//!   functions run under `catch_unwind`, and every Rust value is dropped before the jump.
//! - **Stack overflow**: on the outermost entry the runtime writes
//!   `max(rsp − max_wasm_stack, thread stack bottom + HOST_STACK_RESERVE)` into the
//!   `VMContext` stack limit of every instance of the store; prologues compare `rsp` with it
//!   and execute a `ud2` recorded as `StackOverflow`.

use std::cell::{Cell, UnsafeCell};
use std::mem::MaybeUninit;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiln_abi::TrapCode;
use kiln_code_manager::CodeKind;

/// Most frames a trap records.
pub(crate) const MAX_FRAMES: usize = 256;

/// A fault in wasm code this close to its `rsp` is a stack overflow (the thread's guard page),
/// for code whose prologue check did not catch it.
const STACK_FAULT_WINDOW: usize = 64 << 10;

/// Bytes of the thread's stack kept free below the wasm stack limit for host functions and
/// builtins called from wasm.
pub const HOST_STACK_RESERVE: usize = 128 << 10;

/// One host → wasm activation on this thread.
#[repr(C)]
pub(crate) struct Activation {
    /// Written by the entry trampoline: the stack pointer the landing expects.
    pub entry_sp: UnsafeCell<usize>,
    /// Address of the entry trampoline's landing.
    pub landing: usize,
    /// The enclosing activation on this thread, or null.
    pub prev: *const Activation,
    /// The stack limit in force for this activation.
    pub stack_limit: usize,
    /// Return addresses (or, for the first frame of a fault, the faulting pc) of the wasm
    /// frames of a trap, innermost first.
    pub frames: UnsafeCell<[MaybeUninit<usize>; MAX_FRAMES]>,
    /// How many of `frames` are valid.
    pub num_frames: Cell<usize>,
    /// Whether `frames[0]` is the exact faulting pc (a fault) rather than a return address.
    pub first_frame_exact: Cell<bool>,
    /// A host function's error, when it caused the trap.
    pub host_trap: Cell<Option<Box<crate::Trap>>>,
    /// Frame pointer of the shim or trampoline through which this activation's wasm code last
    /// called out to the host (a builtin, host function or the lazy-compile entry), or 0.
    /// Valid while that call is in progress, which is whenever host code runs on this thread
    /// inside the activation: [`wasm_pcs_on_stack`] starts its walk there.
    pub exit_fp: Cell<usize>,
}

impl Activation {
    pub(crate) fn new(landing: usize, prev: *const Activation, stack_limit: usize) -> Activation {
        Activation {
            entry_sp: UnsafeCell::new(0),
            landing,
            prev,
            stack_limit,
            frames: UnsafeCell::new([MaybeUninit::uninit(); MAX_FRAMES]),
            num_frames: Cell::new(0),
            first_frame_exact: Cell::new(false),
            host_trap: Cell::new(None),
            exit_fp: Cell::new(0),
        }
    }

    /// The recorded frames: (pc to look up, whether it is exact).
    pub(crate) fn frames(&self) -> Vec<usize> {
        // SAFETY: frames are written only by this thread while it runs wasm in this
        // activation; the activation has returned by the time anyone reads them.
        let frames = unsafe { &*self.frames.get() };
        frames[..self.num_frames.get()]
            .iter()
            .enumerate()
            .map(|(i, pc)| {
                // SAFETY: the first `num_frames` entries were written by `record_frames`.
                let pc = unsafe { pc.assume_init() };
                if i == 0 && self.first_frame_exact.get() {
                    pc
                } else {
                    pc - 1
                }
            })
            .collect()
    }

    /// Records the wasm frames starting at (`pc`, `fp`). Signal-safe.
    ///
    /// Frame pointers are followed only while they are 8-aligned, strictly increasing and
    /// below the entry trampoline's stack pointer (wasm frames lie between the two), so a
    /// frame without a frame pointer cannot send the walk outside the activation's stack.
    fn record_frames(&self, pc: usize, fp: usize, exact: bool) {
        self.first_frame_exact.set(exact);
        // SAFETY: written by the entry trampoline before it called into wasm.
        let entry_sp = unsafe { *self.entry_sp.get() };
        let frames = self.frames.get();
        let mut n = 0;
        walk_wasm_frames(pc, fp, entry_sp, exact, |pc| {
            // SAFETY: `n < MAX_FRAMES` (checked below); only this thread touches the array.
            unsafe { (*frames)[n] = MaybeUninit::new(pc) };
            n += 1;
            n < MAX_FRAMES
        });
        self.num_frames.set(n);
    }
}

/// Calls `visit` with `pc` and the return address of every wasm frame found by following the
/// `rbp` chain from `fp`, innermost first, while `visit` returns true. Signal-safe.
///
/// A return address is looked up one byte back (inside the call instruction: a call may be
/// the last instruction of its code); `pc` too unless `exact` (a faulting pc).
///
/// Frame pointers are followed only while they are 8-aligned, strictly increasing and below
/// `entry_sp` (the entry trampoline's stack pointer: wasm frames lie between the two), so a
/// frame without a frame pointer cannot send the walk outside the activation's stack.
fn walk_wasm_frames(
    mut pc: usize,
    mut fp: usize,
    entry_sp: usize,
    exact: bool,
    mut visit: impl FnMut(usize) -> bool,
) {
    let mut previous_fp = 0;
    let mut back = usize::from(!exact);
    while is_wasm_pc(pc.wrapping_sub(back)) {
        back = 1;
        if !visit(pc) || !fp.is_multiple_of(8) || fp <= previous_fp || fp >= entry_sp {
            break;
        }
        previous_fp = fp;
        // SAFETY: `fp` lies in this activation's part of the thread's stack (checked above),
        // where every wasm prologue pushed the caller's rbp at [fp] and has the return address
        // at [fp + 8].
        unsafe {
            pc = *((fp + 8) as *const usize);
            fp = *(fp as *const usize);
        }
    }
}

thread_local! {
    static CURRENT: Cell<*const Activation> = const { Cell::new(std::ptr::null()) };
    static STACK_BOTTOM: Cell<usize> = const { Cell::new(usize::MAX) };
    static ALT_STACK: AltStack = const { AltStack { base: Cell::new(0), size: Cell::new(0) } };
}

/// The innermost activation of this thread, or null.
pub(crate) fn current() -> *const Activation {
    CURRENT.with(|c| c.get())
}

/// Makes `activation` the innermost one (or pops back to `prev`).
pub(crate) fn set_current(activation: *const Activation) {
    CURRENT.with(|c| c.set(activation));
}

/// Records that wasm code of the innermost activation called out to the host through the shim
/// or trampoline whose frame pointer is `fp` (see [`Activation::exit_fp`]). Does nothing
/// outside wasm.
pub(crate) fn note_exit(fp: usize) {
    let act = current();
    if !act.is_null() {
        // SAFETY: the innermost activation is live while wasm runs on this thread.
        unsafe { (*act).exit_fp.set(fp) };
    }
}

/// Appends to `out` a code address of every wasm frame on the calling thread's stack, in all of
/// its activations, innermost first: for each frame, its return address minus one (an address
/// inside the call instruction, hence inside the code the frame runs).
///
/// Call it from host code running on a thread that may be inside wasm: a host function or
/// engine hook called from wasm, or outside wasm (then there are no frames). This is what a
/// thread reports at a safepoint so that code GC
/// ([`kiln_code_manager::NativeModule::free_dead_code`]) keeps the code its frames will return
/// into. Cost: one code lookup per frame; allocation only to grow `out`. Every activation's
/// frames are walked from the point where its wasm code last called out to the host, so the
/// report is exact whenever host code runs.
pub fn wasm_pcs_on_stack(out: &mut Vec<usize>) {
    let mut act = current();
    while !act.is_null() {
        // SAFETY: activations on this thread's list are live: each is popped only after its
        // trampoline returned, and the list is only touched by this thread.
        let a = unsafe { &*act };
        let fp = a.exit_fp.get();
        if fp != 0 {
            // SAFETY: written by the entry trampoline before it called into wasm.
            let entry_sp = unsafe { *a.entry_sp.get() };
            // SAFETY: `fp` is the frame pointer of a shim or trampoline frame that is still
            // on the stack (its call out of wasm is in progress): [fp] holds the wasm caller's
            // rbp and [fp + 8] the return address into it.
            let (pc, caller_fp) = unsafe { (*((fp + 8) as *const usize), *(fp as *const usize)) };
            walk_wasm_frames(pc, caller_fp, entry_sp, false, |pc| {
                out.push(pc - 1);
                true
            });
        }
        act = a.prev;
    }
}

/// Whether `pc` is inside the code of a wasm function. Signal-safe.
pub(crate) fn is_wasm_pc(pc: usize) -> bool {
    match kiln_code_manager::lookup(pc) {
        Some(found) => found.code().kind().is_function(),
        None => false,
    }
}

/// Address ranges of linear-memory reservations (start, end), for the fault handler.
static RESERVATIONS: [(AtomicUsize, AtomicUsize); MAX_RESERVATIONS] =
    [const { (AtomicUsize::new(0), AtomicUsize::new(0)) }; MAX_RESERVATIONS];

/// Most linear memories that may exist at once in the process (a 47-bit address space holds
/// about 21,000 guard-mode reservations).
pub const MAX_RESERVATIONS: usize = 16384;

/// Lists a reservation so faults inside it are memory traps. Returns its registry slot.
pub(crate) fn register_reservation(start: usize, end: usize) -> Option<usize> {
    for (i, (s, e)) in RESERVATIONS.iter().enumerate() {
        if s.compare_exchange(0, start, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            e.store(end, Ordering::SeqCst);
            return Some(i);
        }
    }
    None
}

/// Removes a reservation listed by [`register_reservation`].
pub(crate) fn unregister_reservation(slot: usize) {
    RESERVATIONS[slot].1.store(0, Ordering::SeqCst);
    RESERVATIONS[slot].0.store(0, Ordering::SeqCst);
}

fn in_reservation(addr: usize) -> bool {
    RESERVATIONS.iter().any(|(s, e)| {
        let start = s.load(Ordering::Relaxed);
        start != 0 && addr >= start && addr < e.load(Ordering::Relaxed)
    })
}

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

struct PrevActions(UnsafeCell<[std::mem::MaybeUninit<libc::sigaction>; 4]>);
// SAFETY: written once inside `INSTALL` before any handler of ours can run, then only read.
unsafe impl Sync for PrevActions {}
static PREV: PrevActions = PrevActions(UnsafeCell::new([std::mem::MaybeUninit::uninit(); 4]));
static INSTALL: Once = Once::new();

/// Installs the fault handlers, once per process.
pub(crate) fn install_handlers() {
    INSTALL.call_once(|| {
        for (i, &sig) in SIGNALS.iter().enumerate() {
            // SAFETY: a zeroed sigaction is a valid starting point; we fill the fields we use.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `sa_mask` is a valid sigset to initialize.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: `PREV` slot `i` is written only here, before our handler is installed
            // for `sig`; `action` is fully initialized.
            let rc = unsafe {
                let prev = (*PREV.0.get())[i].as_mut_ptr();
                libc::sigaction(sig, &action, prev)
            };
            assert_eq!(rc, 0, "sigaction failed");
        }
    });
}

/// The handler of all four signals.
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo and ucontext to SA_SIGINFO handlers.
    if unsafe { handle(sig, info, ctx) } {
        return;
    }
    // SAFETY: as above; chaining passes the same arguments on.
    unsafe { chain(sig, info, ctx) };
}

/// Resumes the thread at its activation's landing if the fault is a wasm trap.
unsafe fn handle(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) -> bool {
    let Ok(act) = CURRENT.try_with(|c| c.get()) else {
        return false;
    };
    if act.is_null() {
        return false;
    }
    // SAFETY: the activation is live: it is popped only after its trampoline returned.
    let act = unsafe { &*act };
    let uc = ctx.cast::<libc::ucontext_t>();
    // SAFETY: `ctx` is the ucontext of the interrupted thread.
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    let pc = gregs[libc::REG_RIP as usize] as usize;
    let fp = gregs[libc::REG_RBP as usize] as usize;
    let Some(found) = kiln_code_manager::lookup(pc) else {
        return false;
    };
    if found.code().kind() == CodeKind::Trampoline {
        return false;
    }
    if !found.code().kind().is_function() {
        drop(found);
        // A lazy stub or the module's lazy-compile trampoline: without a lazy-compile builtin
        // it executes `ud2`. The stub was entered by a call, so [rsp] returns to the caller.
        if sig != libc::SIGILL {
            return false;
        }
        let sp = gregs[libc::REG_RSP as usize] as usize;
        // SAFETY: the stub and trampoline push nothing: [rsp] is the caller's return address.
        let ret = unsafe { *(sp as *const usize) };
        act.record_frames(ret, fp, false);
        // SAFETY: written by the entry trampoline before it called into wasm.
        let entry_sp = unsafe { *act.entry_sp.get() };
        gregs[libc::REG_RIP as usize] = act.landing as i64;
        gregs[libc::REG_RSP as usize] = entry_sp as i64;
        gregs[libc::REG_RAX as usize] = 1 + TrapCode::Unreachable as i64;
        return true;
    }
    let recorded = found.trap_code();
    drop(found);
    let code = match sig {
        libc::SIGSEGV | libc::SIGBUS => {
            // SAFETY: `info` is valid; for these signals `si_addr` is the faulting address.
            let addr = unsafe { (*info).si_addr() } as usize;
            let sp = gregs[libc::REG_RSP as usize] as usize;
            recorded
                .or_else(|| in_reservation(addr).then_some(TrapCode::MemoryOutOfBounds))
                .or_else(|| {
                    (addr.abs_diff(sp) <= STACK_FAULT_WINDOW).then_some(TrapCode::StackOverflow)
                })
        }
        libc::SIGILL => recorded,
        libc::SIGFPE => recorded.or(Some(TrapCode::IntegerDivideByZero)),
        _ => None,
    };
    let Some(code) = code else {
        return false;
    };
    act.record_frames(pc, fp, true);
    // SAFETY: written by the entry trampoline before it called into wasm.
    let entry_sp = unsafe { *act.entry_sp.get() };
    gregs[libc::REG_RIP as usize] = act.landing as i64;
    gregs[libc::REG_RSP as usize] = entry_sp as i64;
    gregs[libc::REG_RAX as usize] = 1 + code as i64;
    true
}

/// Passes a fault that is not ours to the previously installed handler.
unsafe fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let Some(i) = SIGNALS.iter().position(|&s| s == sig) else {
        return;
    };
    // SAFETY: `PREV[i]` was initialized before our handler for `sig` was installed.
    let prev = unsafe { (*PREV.0.get())[i].assume_init_ref() };
    if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // Restore the default action and return: the fault repeats and takes it.
        // SAFETY: a zeroed sigaction with SIG_DFL is valid.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this type.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig, info, ctx);
    } else {
        // SAFETY: a handler installed without SA_SIGINFO takes the signal number only.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig);
    }
}

/// Minimum size of the alternate signal stack the handlers run on.
const ALT_STACK_SIZE: usize = 64 << 10;

/// An alternate signal stack this runtime allocated for the current thread.
struct AltStack {
    base: Cell<usize>,
    size: Cell<usize>,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let base = self.base.get();
        if base == 0 {
            return;
        }
        // SAFETY: disabling the alternate stack of the exiting thread, then unmapping the
        // mapping we created for it (guard page included).
        unsafe {
            let ss = libc::stack_t {
                ss_sp: std::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&ss, std::ptr::null_mut());
            libc::munmap(base as *mut libc::c_void, self.size.get());
        }
    }
}

/// Makes sure this thread has an alternate signal stack of at least [`ALT_STACK_SIZE`].
pub(crate) fn ensure_alt_stack() {
    ALT_STACK.with(|alt| {
        if alt.base.get() != 0 {
            return;
        }
        // SAFETY: querying the current alternate stack into a valid out-pointer.
        let mut old: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        unsafe { libc::sigaltstack(std::ptr::null(), &mut old) };
        if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= ALT_STACK_SIZE {
            return;
        }
        let page = page_size();
        let size = ALT_STACK_SIZE + page;
        // SAFETY: a fresh anonymous mapping; its first page stays inaccessible as a guard.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(
            base,
            libc::MAP_FAILED,
            "cannot map an alternate signal stack"
        );
        // SAFETY: the range lies inside the mapping just created.
        let rc = unsafe {
            libc::mprotect(
                base.cast::<u8>().add(page).cast(),
                ALT_STACK_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        assert_eq!(rc, 0, "cannot protect the alternate signal stack");
        let ss = libc::stack_t {
            // SAFETY: inside the mapping.
            ss_sp: unsafe { base.cast::<u8>().add(page) }.cast(),
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        // SAFETY: `ss` describes a valid, writable stack owned by this thread.
        let rc = unsafe { libc::sigaltstack(&ss, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "sigaltstack failed");
        alt.base.set(base as usize);
        alt.size.set(size);
    });
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// The lowest usable address of this thread's stack (cached), or 0 if unknown.
fn stack_bottom() -> usize {
    STACK_BOTTOM.with(|b| {
        if b.get() == usize::MAX {
            let mut bottom = 0;
            // SAFETY: pthread_getattr_np initializes `attr` for the current thread; we read
            // the stack range from it and destroy it.
            unsafe {
                let mut attr: libc::pthread_attr_t = std::mem::zeroed();
                if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) == 0 {
                    let mut addr = std::ptr::null_mut();
                    let mut size = 0;
                    if libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0 {
                        bottom = addr as usize;
                    }
                    libc::pthread_attr_destroy(&mut attr);
                }
            }
            b.set(bottom);
        }
        b.get()
    })
}

/// The stack limit for an outermost activation entered with the stack pointer near `sp`.
pub(crate) fn stack_limit_for(sp: usize, max_wasm_stack: usize) -> usize {
    let wanted = sp.saturating_sub(max_wasm_stack);
    let bottom = stack_bottom();
    if bottom == 0 {
        wanted
    } else {
        wanted.max(bottom + HOST_STACK_RESERVE)
    }
}

/// Abandons the wasm frames above the builtin shim or exit trampoline whose frame pointer is
/// `fp` and resumes at the innermost activation's landing with `code`.
///
/// # Safety
/// Must be called on a thread running wasm (inside an activation), from a Rust function called
/// by generated code through a shim or exit trampoline with frame pointer `fp`; no Rust value
/// whose drop matters may be live in the frames between (they are skipped).
pub(crate) unsafe fn raise(code: TrapCode, fp: usize, host_trap: Option<Box<crate::Trap>>) -> ! {
    let act = current();
    assert!(!act.is_null(), "a trap was raised outside of wasm");
    // SAFETY: the activation is live while wasm runs on this thread.
    let act = unsafe { &*act };
    act.host_trap.set(host_trap);
    // SAFETY: `fp` is the frame pointer of a shim or trampoline frame: [fp] holds the wasm
    // caller's rbp and [fp + 8] the return address into it.
    let (pc, caller_fp) = unsafe { (*((fp + 8) as *const usize), *(fp as *const usize)) };
    act.record_frames(pc, caller_fp, false);
    // SAFETY: written by the entry trampoline before it called into wasm.
    let sp = unsafe { *act.entry_sp.get() };
    let landing = act.landing;
    let status = 1 + code as u64;
    // SAFETY: the landing expects exactly this stack pointer and the status in rax; every frame
    // below `sp` is abandoned, which the caller guarantees is sound.
    unsafe {
        std::arch::asm!(
            "mov rsp, {sp}",
            "jmp {landing}",
            sp = in(reg) sp,
            landing = in(reg) landing,
            in("rax") status,
            options(noreturn),
        )
    }
}
