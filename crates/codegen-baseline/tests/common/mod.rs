//! A minimal instance for executing baseline code in tests: every defined function compiled
//! and published into a native module, and a hand-built `VMContext`.
//!
//! Calling convention note: generated code uses Cranelift's `tail` convention (vmctx in rdi,
//! integer arguments in rsi, rdx, rcx, r8, r9, floats in xmm0-7, results in rax / xmm0). For a
//! signature with at most 5 integer parameters, at most 8 float parameters and one result,
//! that coincides with System V, so tests call the jump-table slot as an
//! `extern "sysv64" fn(vmctx, ...) -> r`. Other shapes are exercised by wasm-to-wasm calls.

#![allow(dead_code)]

use kiln_abi::{
    BuiltinId, CompiledFunction, Place, VMContextLayout, VMFuncRef, VMMemoryDefinition,
    VMTableDefinition,
};
use kiln_code_manager::{CodeKind, CodeManager, CodeManagerConfig, ExecutionScope, NativeModule};
use kiln_codegen_baseline::{BoundsChecks, CompileEnv, CompileOptions};
use kiln_decoder::{ConstOp, ElementItems, ElementKind, Module};
use std::sync::atomic::{AtomicU32, Ordering};

pub static TIER_UP_CALLS: AtomicU32 = AtomicU32::new(0);

extern "sysv64" fn tier_up(_vmctx: *mut u8, _func: u64) -> u64 {
    TIER_UP_CALLS.fetch_add(1, Ordering::SeqCst);
    0
}

/// Pages of the test memory buffer.
pub const MEMORY_PAGES: u64 = 16;

/// `memory.grow` for the test's fixed buffer: succeeds while the buffer has room and the
/// memory's maximum allows.
extern "sysv64" fn memory_grow(vmctx: *mut u8, _mem: u64, delta: u64) -> u64 {
    // SAFETY: the test instance keeps a pointer to its memory definition and its page limit
    // in the 16 bytes before the vmctx.
    unsafe {
        let def = *(vmctx.sub(16) as *mut *mut VMMemoryDefinition);
        let limit = *(vmctx.sub(8) as *mut u64);
        let old = (*def).length as u64 / 65536;
        if old + delta > limit {
            return u64::MAX;
        }
        (*def).length = ((old + delta) * 65536) as usize;
        old
    }
}

/// Calls of the recording builtins: (builtin, operands after the vmctx).
pub static BUILTIN_CALLS: std::sync::Mutex<Vec<(BuiltinId, Vec<u64>)>> =
    std::sync::Mutex::new(Vec::new());

macro_rules! recorder {
    ($name:ident, $id:expr, $($arg:ident),*) => {
        extern "sysv64" fn $name(_vmctx: *mut u8, $($arg: u64),*) -> u64 {
            BUILTIN_CALLS.lock().unwrap().push(($id, vec![$($arg),*]));
            77
        }
    };
}

recorder!(rec_memory_copy, BuiltinId::MemoryCopy, a, b, c, d, e);
recorder!(rec_memory_fill, BuiltinId::MemoryFill, a, b, c, d);
recorder!(rec_memory_init, BuiltinId::MemoryInit, a, b, c, d, e);
recorder!(rec_data_drop, BuiltinId::DataDrop, a);
recorder!(rec_table_grow, BuiltinId::TableGrow, a, b, c);
recorder!(rec_table_fill, BuiltinId::TableFill, a, b, c, d);
recorder!(rec_table_copy, BuiltinId::TableCopy, a, b, c, d, e);
recorder!(rec_table_init, BuiltinId::TableInit, a, b, c, d, e);
recorder!(rec_elem_drop, BuiltinId::ElemDrop, a);

pub struct Instance {
    pub module: Module,
    pub layout: VMContextLayout,
    pub compiled: Vec<CompiledFunction>,
    pub native: NativeModule,
    _manager: CodeManager,
    pub vmctx: Vec<u128>,
    pub memory: Vec<u8>,
    pub tables: Vec<Vec<usize>>,
    /// Definitions of imported memories, tables and globals.
    imported_defs: Vec<Box<[u128]>>,
    /// Entry points of the imported functions, in order.
    pub imports: Vec<usize>,
    builtins: Box<[usize; BuiltinId::COUNT]>,
}

pub fn options() -> CompileOptions {
    CompileOptions {
        tier_up: false,
        ..CompileOptions::default()
    }
}

pub fn instantiate(wat: &str) -> Instance {
    instantiate_with(wat, &options())
}

pub fn decode(wat: &str) -> Module {
    let wasm = wat::parse_str(wat).expect("valid wat");
    kiln_decoder::decode(&wasm, &Default::default()).expect("valid module")
}

pub fn instantiate_with(wat: &str, opts: &CompileOptions) -> Instance {
    instantiate_with_imports(wat, opts, &[])
}

/// Like [`instantiate_with`], with the entry points of the imported functions (host
/// functions whose signature coincides with System V, see above).
pub fn instantiate_with_imports(wat: &str, opts: &CompileOptions, imports: &[usize]) -> Instance {
    instantiate_module(decode(wat), opts, imports).unwrap_or_else(|e| panic!("{e}"))
}

/// Compiles every defined function of `module` and instantiates it.
pub fn instantiate_module(
    module: Module,
    opts: &CompileOptions,
    imports: &[usize],
) -> Result<Instance, kiln_codegen_baseline::CompileError> {
    let env = CompileEnv::new(&module);
    let layout = env.layout().clone();
    let imported = module.num_imported_functions;
    let compiled: Vec<CompiledFunction> = (imported..module.functions.len() as u32)
        .map(|i| {
            env.compile(i, opts)
                .unwrap_or_else(|e| panic!("function {i}: {e}"))
        })
        .collect();
    let manager = CodeManager::new(CodeManagerConfig {
        code_space_per_module: 16 << 20,
        lazy_compile_builtin: None,
    });
    let native = manager
        .new_native_module(imported, module.num_defined_functions())
        .unwrap();
    for (k, f) in compiled.iter().enumerate() {
        native
            .publish(imported + k as u32, CodeKind::Baseline, f)
            .unwrap();
    }
    let mut inst = Instance {
        vmctx: vec![0u128; layout.size() as usize / 16 + 1],
        memory: vec![0u8; MEMORY_PAGES as usize * 65536 + 64],
        tables: Vec::new(),
        imports: imports.to_vec(),
        imported_defs: Vec::new(),
        builtins: Box::new([0; BuiltinId::COUNT]),
        module,
        layout,
        compiled,
        native,
        _manager: manager,
    };
    inst.builtins[BuiltinId::TierUp as usize] = tier_up as *const () as usize;
    inst.builtins[BuiltinId::MemoryGrow as usize] = memory_grow as *const () as usize;
    let recorders: [(BuiltinId, usize); 9] = [
        (BuiltinId::MemoryCopy, rec_memory_copy as *const () as usize),
        (BuiltinId::MemoryFill, rec_memory_fill as *const () as usize),
        (BuiltinId::MemoryInit, rec_memory_init as *const () as usize),
        (BuiltinId::DataDrop, rec_data_drop as *const () as usize),
        (BuiltinId::TableGrow, rec_table_grow as *const () as usize),
        (BuiltinId::TableFill, rec_table_fill as *const () as usize),
        (BuiltinId::TableCopy, rec_table_copy as *const () as usize),
        (BuiltinId::TableInit, rec_table_init as *const () as usize),
        (BuiltinId::ElemDrop, rec_elem_drop as *const () as usize),
    ];
    for (id, f) in recorders {
        inst.builtins[id as usize] = f;
    }
    inst.init_vmctx(opts);
    Ok(inst)
}

impl Instance {
    /// The vmctx: 16 bytes into the buffer (the first 16 hold the grow builtin's state).
    pub fn vmctx_ptr(&self) -> *mut u8 {
        // SAFETY: the buffer is one u128 longer than the layout.
        unsafe { (self.vmctx.as_ptr() as *mut u8).add(16) }
    }

    fn at<T>(&self, off: u32) -> *mut T {
        // SAFETY: offsets come from the layout, inside the block.
        unsafe { self.vmctx_ptr().add(off as usize) as *mut T }
    }

    /// The definition at `place`: inline in the vmctx, or (imported) a zeroed block owned by
    /// the instance whose address is stored in the vmctx.
    fn place(&mut self, place: Place, size: usize) -> *mut u8 {
        match place {
            Place::Inline(off) => self.at::<u8>(off),
            Place::Imported(off) => {
                let block = vec![0u128; size.div_ceil(16)].into_boxed_slice();
                let ptr = block.as_ptr() as *mut u8;
                self.imported_defs.push(block);
                // SAFETY: the offset is the import's pointer slot.
                unsafe { *self.at::<usize>(off) = ptr as usize };
                ptr
            }
        }
    }

    fn init_vmctx(&mut self, opts: &CompileOptions) {
        let _ = opts;
        let l = self.layout.clone();
        // SAFETY: every write is at an offset of the layout, inside the zeroed block, with the
        // type the layout documents there.
        unsafe {
            *self.at::<u32>(VMContextLayout::MAGIC) = VMContextLayout::MAGIC_VALUE;
            // A limit 256 KiB below the current stack pointer: deep enough for every test.
            let here = &l as *const _ as usize;
            *self.at::<usize>(VMContextLayout::STACK_LIMIT) = here - (256 << 10);
            *self.at::<usize>(VMContextLayout::BUILTINS) = self.builtins.as_ptr() as usize;
            for (t, id) in self.module.signature_ids.iter().enumerate() {
                *self.at::<u32>(l.signature_id(t as u32)) = *id;
            }
            for f in 0..self.module.num_defined_functions() {
                *self.at::<i32>(l.tier_up_budget(f)) = 1000;
            }
            if !self.module.memories.is_empty() {
                let def = self.place(l.memory(0), std::mem::size_of::<VMMemoryDefinition>())
                    as *mut VMMemoryDefinition;
                (*def).base = self.memory.as_mut_ptr();
                (*def).length = self.module.memories[0].initial as usize * 65536;
                // The definition and page limit for the grow builtin, before the vmctx.
                *(self.vmctx_ptr().sub(16) as *mut usize) = def as usize;
                let max = self.module.memories[0].maximum.unwrap_or(u64::MAX);
                *(self.vmctx_ptr().sub(8) as *mut u64) = max.min(MEMORY_PAGES);
                for seg in &self.module.data {
                    if let kiln_decoder::DataKind::Active { offset, .. } = &seg.kind {
                        let at = offset.as_int_const().unwrap() as usize;
                        let bytes = &self.module.wire_bytes[seg.range.clone()];
                        self.memory[at..at + bytes.len()].copy_from_slice(bytes);
                    }
                }
            }
            let globals = self.module.globals.clone();
            for (g, global) in globals.iter().enumerate() {
                let at = self.place(l.global(g as u32), 16) as *mut u64;
                let Some(init) = global.init.as_ref() else {
                    // An imported global starts at 0.
                    continue;
                };
                let bits: u64 = match init.ops[0] {
                    ConstOp::I32Const(v) => v as u32 as u64,
                    ConstOp::I64Const(v) => v as u64,
                    ConstOp::F32Const(b) => b as u64,
                    ConstOp::F64Const(b) => b,
                    _ => 0,
                };
                *at = bits;
            }
            for (k, &code) in self.imports.iter().enumerate() {
                let imp = self.at::<kiln_abi::VMFunctionImport>(l.imported_function(k as u32));
                (*imp).code = code as *const u8;
                (*imp).vmctx = self.vmctx_ptr();
            }
            for f in self.module.num_imported_functions..self.module.functions.len() as u32 {
                let r = self.at::<VMFuncRef>(l.funcref(f));
                (*r).code = self.native.jump_table_slot(f).unwrap() as *const u8;
                (*r).type_id = self.module.signature_ids
                    [self.module.functions[f as usize].type_index as usize];
                (*r).vmctx = self.vmctx_ptr();
            }
            self.tables = self
                .module
                .tables
                .iter()
                .map(|t| vec![0usize; t.ty.initial as usize])
                .collect();
            for seg in &self.module.elements {
                let ElementKind::Active { table, offset } = &seg.kind else {
                    continue;
                };
                let Some(at) = offset.as_int_const() else {
                    continue;
                };
                let funcs: Vec<Option<u32>> = match &seg.items {
                    ElementItems::Functions(fs) => fs.iter().map(|&f| Some(f)).collect(),
                    ElementItems::Expressions(es) => es
                        .iter()
                        .map(|e| match e.ops.first() {
                            Some(ConstOp::RefFunc(f)) => Some(*f),
                            _ => None,
                        })
                        .collect(),
                };
                for (k, f) in funcs.into_iter().enumerate() {
                    let elem = f.map_or(0, |f| self.at::<u8>(l.funcref(f)) as usize);
                    if let Some(slot) = self.tables[*table as usize].get_mut(at as usize + k) {
                        *slot = elem;
                    }
                }
            }
            for t in 0..self.tables.len() {
                let def = self.place(l.table(t as u32), std::mem::size_of::<VMTableDefinition>())
                    as *mut VMTableDefinition;
                (*def).base = self.tables[t].as_mut_ptr();
                (*def).length = self.tables[t].len() as u32;
            }
        }
    }

    /// The entry of the exported function `name`, as `F` (an `extern "sysv64" fn` type whose
    /// first parameter is the vmctx pointer).
    ///
    /// # Safety
    /// `F` must match the export's signature under the coincidence described above.
    pub unsafe fn get<F: Copy>(&self, name: &str) -> F {
        let e = self
            .module
            .export(name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let addr = self.native.jump_table_slot(e.index).unwrap();
        assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<usize>());
        // SAFETY: the caller vouches for the signature.
        unsafe { std::mem::transmute_copy(&addr) }
    }

    pub fn compiled_export(&self, name: &str) -> &CompiledFunction {
        let e = self.module.export(name).unwrap();
        &self.compiled[(e.index - self.module.num_imported_functions) as usize]
    }
}

/// Enters an execution scope for calls into published code.
pub fn scope() -> ExecutionScope {
    ExecutionScope::enter()
}

pub fn explicit() -> CompileOptions {
    CompileOptions {
        bounds_checks: BoundsChecks::Explicit,
        ..options()
    }
}

/// Exit status of a child whose code faulted at a pc that is not a recorded trap site.
pub const NOT_A_TRAP_SITE: i32 = 100;
/// Exit status of a child whose code returned without trapping.
pub const NO_TRAP: i32 = 101;
/// Exit status of a child that panicked.
pub const CHILD_PANICKED: i32 = 103;
/// Exit status of a child that faulted outside wasm code.
pub const NOT_WASM: i32 = 102;

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

/// Runs `f` in a forked child whose signal handler maps the faulting pc to the trap recorded
/// there and exits with its code (or [`NOT_A_TRAP_SITE`], [`NOT_WASM`]); [`NO_TRAP`] if `f`
/// returns. Code spaces are not inherited by `fork`: `f` must instantiate its own module.
/// Call it from a test binary with a single test, so no other thread holds a lock at the fork.
pub fn in_child(f: impl FnOnce()) -> i32 {
    // SAFETY: the handlers are installed in the child only; the child ends with `_exit`.
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
                // A panic must not unwind into the forked copy of the test harness.
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
                libc::_exit(if ok { NO_TRAP } else { CHILD_PANICKED });
            }
            pid => {
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
                assert!(
                    libc::WIFEXITED(status),
                    "child died without reporting: signal {}",
                    libc::WTERMSIG(status)
                );
                libc::WEXITSTATUS(status)
            }
        }
    }
}

impl Instance {
    /// Moves memory 0 into a reservation with a 6 GiB guard region (for guard-mode traps),
    /// keeping its contents.
    pub fn guard_memory(&self) {
        let def = match self.layout.memory(0) {
            Place::Inline(off) => self.at::<VMMemoryDefinition>(off),
            // SAFETY: the import's pointer slot holds the definition's address.
            Place::Imported(off) => unsafe { *self.at::<*mut VMMemoryDefinition>(off) },
        };
        // SAFETY: a fresh private mapping; the accessible part is the memory's length; the
        // definition is the instance's.
        unsafe {
            let len = (*def).length;
            let base = libc::mmap(
                std::ptr::null_mut(),
                6 << 30,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            ) as *mut u8;
            if len > 0 {
                libc::mprotect(base as *mut _, len, libc::PROT_READ | libc::PROT_WRITE);
                std::ptr::copy_nonoverlapping((*def).base, base, len);
            }
            (*def).base = base;
        }
    }
}

/// Checks the tables of a compiled function against its code: trap sites and source
/// positions strictly increasing and inside the code, relocations inside it, an aligned frame.
pub fn check_invariants(f: &CompiledFunction) {
    let len = f.code.len() as u32;
    assert!(
        f.trap_sites
            .windows(2)
            .all(|w| w[0].pc_offset < w[1].pc_offset)
    );
    let positions: Vec<_> = f.source_positions.iter().collect();
    assert!(
        positions
            .windows(2)
            .all(|w| w[0].pc_offset < w[1].pc_offset)
    );
    assert_eq!(
        f.source_positions.last_pc(),
        positions.last().map(|p| p.pc_offset)
    );
    assert!(f.trap_sites.iter().all(|t| t.pc_offset < len));
    assert!(f.source_positions.iter().all(|p| p.pc_offset < len));
    assert!(f.relocations.iter().all(|r| r.offset + 4 <= len));
    assert_eq!(f.frame_size % 16, 0);
}
