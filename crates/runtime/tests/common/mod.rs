//! Helpers shared by the integration tests: modules from WAT, native modules, and
//! hand-assembled functions standing in for compiled code.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use kiln_abi::{CompiledFunction, Place, SourcePosition, TrapCode, TrapSite, VMContextLayout};
use kiln_assembler_x64::{Assembler, RBP, RSP, Size};
use kiln_code_manager::{CodeKind, CodeManager, CodeManagerConfig, NativeModule};
use kiln_decoder::Module;

pub fn module(wat: &str) -> Arc<Module> {
    let bytes = wat::parse_str(wat).expect("valid wat");
    let features = kiln_decoder::Features::default()
        .with(kiln_decoder::Proposal::ExtendedConst)
        .with(kiln_decoder::Proposal::MultiMemory);
    Arc::new(kiln_decoder::decode(&bytes, &features).expect("valid module"))
}

pub fn code_manager() -> &'static CodeManager {
    static M: OnceLock<CodeManager> = OnceLock::new();
    M.get_or_init(|| {
        CodeManager::new(CodeManagerConfig {
            code_space_per_module: 8 << 20,
            lazy_compile_builtin: None,
        })
    })
}

pub fn native(module: &Module) -> NativeModule {
    code_manager()
        .new_native_module(
            module.num_imported_functions,
            module.num_defined_functions(),
        )
        .expect("native module")
}

/// A function being assembled, with its trap sites and source positions.
pub struct Code {
    pub asm: Assembler,
    pub trap_sites: Vec<TrapSite>,
    pub positions: Vec<SourcePosition>,
}

impl Code {
    pub fn new() -> Code {
        Code {
            asm: Assembler::new(),
            trap_sites: Vec::new(),
            positions: Vec::new(),
        }
    }

    /// `push rbp; mov rbp, rsp`.
    pub fn prologue(&mut self) {
        self.asm.push_r(RBP);
        self.asm.mov_rr(Size::S64, RBP, RSP);
    }

    /// `mov rsp, rbp; pop rbp; ret`.
    pub fn epilogue(&mut self) {
        self.asm.mov_rr(Size::S64, RSP, RBP);
        self.asm.pop_r(RBP);
        self.asm.ret();
    }

    /// Records that the next instruction may trap with `trap`.
    pub fn trap_here(&mut self, trap: TrapCode) {
        self.trap_sites.push(TrapSite {
            pc_offset: self.asm.pc_offset() as u32,
            trap,
        });
    }

    /// Records that the next instruction belongs to the wasm instruction at `wasm_offset`.
    pub fn position(&mut self, wasm_offset: u32) {
        self.positions.push(SourcePosition {
            pc_offset: self.asm.pc_offset() as u32,
            wasm_offset,
        });
    }

    /// `ret` and finish.
    pub fn finish_with_ret(mut self) -> CompiledFunction {
        self.asm.ret();
        self.finish()
    }

    pub fn finish(self) -> CompiledFunction {
        CompiledFunction {
            code: self.asm.finish().expect("valid code"),
            trap_sites: self.trap_sites,
            source_positions: self.positions.into_iter().collect(),
            ..Default::default()
        }
    }
}

pub fn publish(native: &NativeModule, index: u32, f: CompiledFunction) {
    native
        .publish(index, CodeKind::Baseline, &f)
        .expect("publish");
}

/// Offset of memory 0's inline definition.
pub fn memory0(module: &Module) -> i32 {
    match VMContextLayout::new(module).memory(0) {
        Place::Inline(off) => off as i32,
        Place::Imported(_) => panic!("tests use a defined memory 0"),
    }
}
