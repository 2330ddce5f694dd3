//! Executable memory for generated WebAssembly code, in the manner of V8's `WasmCodeManager`,
//! `NativeModule`, `WasmCode` and jump tables.
//!
//! This crate owns every byte of generated code. A [`CodeManager`] creates [`NativeModule`]s;
//! each reserves its own code space (at most [`MAX_CODE_SPACE`], so every call inside a module
//! reaches with rel32), commits pages as code arrives and decommits freed ones. A module holds a
//! jump table with one slot per declared function; slots start at lazy-compile stubs and are
//! patched atomically by [`NativeModule::publish`]. Every function or stub is a [`WasmCode`]
//! with metadata and an atomic reference count; replaced or removed code stays mapped while
//! referenced ([`WasmCodeRef`], [`CodeRefScope`]) or possibly running (an [`ExecutionScope`]
//! was open when it was unlinked, unless a stack scan proved otherwise). [`lookup`] maps a pc
//! to its code from a signal handler.
//!
//! # Use
//!
//! ```
//! use kiln_abi::CompiledFunction;
//! use kiln_code_manager::{CodeKind, CodeManager, CodeManagerConfig, ExecutionScope, lookup};
//!
//! // The engine registers its lazy-compile builtin (entered with the function index in r11).
//! let manager = CodeManager::new(CodeManagerConfig {
//!     code_space_per_module: 64 << 20,
//!     lazy_compile_builtin: None, // or Some(address); see `set_lazy_compile_builtin`
//! });
//! let module = manager.new_native_module(/* imported */ 1, /* declared */ 2)?;
//! // mov eax, 42; ret
//! let f = CompiledFunction { code: vec![0xB8, 42, 0, 0, 0, 0xC3], ..Default::default() };
//! let code = module.publish(1, CodeKind::Optimized, &f)?;
//!
//! // The runtime enters wasm inside an execution scope, calling through the jump table.
//! let _scope = ExecutionScope::enter();
//! // SAFETY: the slot jumps to the code above, which takes nothing and returns in rax.
//! let call: extern "sysv64" fn() -> u64 =
//!     unsafe { std::mem::transmute(module.jump_table_slot(1)?) };
//! assert_eq!(call(), 42);
//!
//! // A trap handler maps the faulting pc back to the code (lock-free, allocation-free).
//! let found = lookup(code.instruction_start()).expect("published code is listed");
//! assert_eq!((found.code().index(), found.module_id()), (Some(1), module.id()));
//! # Ok::<(), kiln_code_manager::CodeError>(())
//! ```
//!
//! # Memory layout of one native module
//!
//! ```text
//!  memfd (sparse, size = reservation)
//!  ├── executable view  r-x / ---            ├── writable view  rw- / ---
//!  │   (code runs here)                      │   (the manager writes here, same offsets)
//!  ▼                                         ▼
//!  offset 0   +------------------------------------------------------------+
//!             | trampoline 16 B: jmp [rip+2]; ud2; .quad lazy_builtin      |
//!             | lazy stubs 16 B each: mov r11d, index; jmp trampoline      |
//!             | jump table 8 B each: jmp rel32 (stub or code); nop3        |
//!             +------------------------------------------------------------+
//!             | function code, 64-byte aligned, first fit; freed ranges    |
//!             | are reused, whole free pages decommitted (---, released)   |
//!             | ...                                                        |
//!  reservation+------------------------------------------------------------+
//! ```
//!
//! # W^X: dual mapping, not protection flipping
//!
//! No page is ever writable and executable in one mapping: code is written through the writable
//! view and run through the executable view of the same memory. Flipping protections per batch
//! would make a page non-executable while other threads run code on it, or call through its
//! jump-table slots (which are patched while in use), and they would fault; it also costs two
//! `mprotect` calls and TLB shootdowns per batch. The dual mapping's cost: twice the address
//! space per module (2 × reservation, still only address space), one `mprotect` per view when
//! pages are committed or decommitted, and a weaker guarantee against an attacker with an
//! arbitrary write who can find the writable view (its address is never given out).
//!
//! # Publishing cost
//!
//! Commits grow geometrically (each new run spans at least half the pages committed so far,
//! at most 4 MiB ahead), so a module's code is committed in O(log size) pairs of `mprotect`
//! calls rather than two per batch; committed memory exceeds what code touches by at most half
//! or 4 MiB. Each new run is populated in the writable view with one
//! `MADV_POPULATE_WRITE` (Linux 5.14+; older kernels fault page by page as before) instead of
//! one shared-memory fault per page. Code is copied once, straight into the writable view, and
//! relocated there: publishing allocates nothing per function but its code object and metadata.
//! On esbuild (14 MB of wasm, 24 MB of baseline code, one thread) this took `mprotect` calls
//! from 5239 to 37, page faults from 22.3k to 16.1k and compile time by about 11%.
//!
//! x86-64 keeps instruction fetch coherent with stores, so no cache flush is needed; freshly
//! written code is reached only through a release store to a jump-table slot.
//!
//! # Reclamation
//!
//! Code whose reference count drops to zero is *dead*. It leaves the lookup table once no thread
//! can still be running it, and its object and memory are freed once no lookup can still see
//! it (see `epoch` for the two kinds of grace period). "No thread can be running it" is proven
//! one of two ways:
//!
//! - **Execution scopes** (automatic): the runtime holds an [`ExecutionScope`] for every
//!   activation of wasm code; dead code waits until every scope open when it died has closed.
//!   Simple, but one long wasm call anywhere in the process holds back all of it.
//! - **Stack scans** (code GC, like V8's): the engine asks every thread that runs wasm for the
//!   code addresses on its stack at a safepoint reached after the code died, and passes the
//!   union to [`NativeModule::free_dead_code`] or [`CodeManager::free_dead_code`]; dead code in
//!   no report goes at once, whatever scopes are open.
//!
//! Code inspected outside an execution scope is kept alive with a [`CodeRefScope`] or
//! [`WasmCodeRef`] (referenced code is never dead).
//!
//! # Flushing
//!
//! [`NativeModule::remove_compiled_code`] with [`RemoveFilter::Baseline`] sends every function
//! whose slot holds baseline code back to its lazy stub and reports the bytes unlinked
//! ([`RemovedCode`]); the memory returns once the code is reclaimed as above (and once the
//! engine drops any [`WasmCodeRef`] it kept). The next call compiles the function again through
//! the lazy-compile builtin.

#![deny(missing_docs)]

mod accounting;
mod code_manager;
mod code_space;
mod epoch;
mod error;
mod jump_table;
mod lookup;
mod native_module;
mod wasm_code;

pub use accounting::MemoryUsage;
pub use code_manager::{CodeManager, CodeManagerConfig};
pub use code_space::{CODE_ALIGNMENT, MAX_CODE_SPACE, live_code_reservations};
pub use epoch::ExecutionScope;
pub use error::CodeError;
pub use lookup::{CodeLookup, MAX_NATIVE_MODULES, lookup};
pub use native_module::{
    FreedCode, NativeModule, PublishMode, PublishRequest, RemoveFilter, RemovedCode,
};
pub use wasm_code::{CodeKind, CodeRefScope, WasmCode, WasmCodeRef};
