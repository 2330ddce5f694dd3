//! The operator visitor: one pass over a function body, emitting code as it goes.
//!
//! Each operator pops its operands from the [`ValueStack`], emits instructions through the
//! assembler and pushes its result. Constants fold into immediates; registers are allocated
//! from the cache and spilled only when it runs out or around calls. Control flow uses the
//! merge states of [`crate::control`]. Trapping instructions branch to out-of-line `ud2`
//! stubs placed after the body, each recorded as a trap site with the wasm offset of its
//! instruction.

use crate::control::{self, Control, ControlKind};
use crate::debug_side_table::{DebugLocation, DebugSideTableBuilder, DebugValue, EntryKind};
use crate::error::{CompileError, Result};
use crate::frame::{self, CALL_TARGET, RET_AREA_PTR, SAVED_RBX};
use crate::masm::{self, Dst, Move, Src, float_size, int_size};
use crate::regalloc::{Reg, RegClass, RegSet, SCRATCH, SCRATCH_XMM, VMCTX};
use crate::value_stack::{Kind, Loc, Value, ValueStack};
use crate::{BoundsChecks, CompileOptions, DebugOptions};
use kiln_abi::calling_convention::INT_ARG_REGS;
use kiln_abi::{
    BuiltinId, CallLayout, CompiledFunction, Location, Place, Relocation, RelocationTarget,
    SourcePosition, TrapCode, TrapSite, VMContextLayout, call_layout,
};
use kiln_assembler_x64::{
    AluOp, Assembler, BitOp, Cond, FloatSize, Gpr, Label, Mem, R11, RAX, RBP, RCX, RDI, RDX, RSI,
    RSP, RoundMode, Scale, ShiftOp, Size, SseOp, UnaryOp, Xmm,
};
use kiln_decoder::{FuncType, Module};
use smallvec::SmallVec;
use wasmparser::{BinaryReader, BlockType, FunctionBody, MemArg, Operator};

/// An out-of-line path emitted after the body.
#[derive(Debug)]
enum StubKind {
    /// `ud2` for this trap.
    Trap(TrapCode),
    /// Call the tier-up builtin, preserving `live` registers, then jump to `resume`.
    TierUp { resume: Label, live: Vec<Reg> },
}

#[derive(Debug)]
struct Stub {
    label: Label,
    kind: StubKind,
    wasm_offset: u32,
}

/// Who a call goes to.
#[derive(Clone, Copy, Debug)]
enum Callee {
    /// A function defined in the module, through its jump-table slot.
    Local(u32),
    /// An imported function, through its `VMFunctionImport`.
    Import(u32),
    /// The `VMFuncRef` stored at [`CALL_TARGET`].
    Indirect,
}

/// Float comparison.
#[derive(Clone, Copy, Debug)]
enum FCmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

fn unsupported(op: &Operator, offset: u32) -> CompileError {
    let name = format!("{op:?}");
    let end = name
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(name.len());
    CompileError::Unsupported {
        operator: name[..end].to_string(),
        offset,
    }
}

fn kinds(types: &[wasmparser::ValType], offset: u32) -> Result<SmallVec<[Kind; 4]>> {
    types
        .iter()
        .map(|&t| {
            Kind::of(t).ok_or(CompileError::Unsupported {
                operator: "v128 value".into(),
                offset,
            })
        })
        .collect()
}

fn gpr(g: Gpr) -> Reg {
    Reg::Gpr(g)
}

/// The debug-mode state of a compilation ([`DebugOptions`]).
struct DebugState<'a> {
    options: &'a DebugOptions,
    table: DebugSideTableBuilder,
    /// Locals written (by `local.set`/`local.tee`) since the last instruction boundary: the
    /// only locals that can have left their slots.
    dirty_locals: Vec<usize>,
    /// The out-of-line tail shared by the function's checks, once one is emitted.
    break_stub: Option<Label>,
}

/// Allocations a thread keeps from one compilation to the next: the code buffer (the code
/// is copied out at its exact size) and value-stack vectors. Taken at the start of a
/// compilation and put back at its end; a failed compilation drops them.
#[derive(Default)]
struct Scratch {
    code: Vec<u8>,
    values: Vec<Value>,
    spare_states: Vec<Vec<Value>>,
}

/// Buffers larger than this are freed rather than kept for the next function.
const SCRATCH_CODE_LIMIT: usize = 64 << 20;
/// State vectors with room for more values than this are freed rather than kept.
const SCRATCH_STATE_LIMIT: usize = 4096;
/// At most this many spare state vectors are kept.
const SCRATCH_STATES_LIMIT: usize = 64;

thread_local! {
    static THREAD_SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

/// The state of one function's compilation.
pub(crate) struct FuncCompiler<'a> {
    module: &'a Module,
    layout: &'a VMContextLayout,
    opts: &'a CompileOptions,
    func_index: u32,
    asm: Assembler,
    stack: ValueStack,
    control: Vec<Control>,
    num_locals: usize,
    reachable: bool,
    dead_depth: u32,
    offset: u32,
    sig: CallLayout,
    results: SmallVec<[Kind; 4]>,
    relocations: Vec<Relocation>,
    trap_sites: Vec<TrapSite>,
    source_positions: Vec<SourcePosition>,
    stubs: Vec<Stub>,
    frame_patch: usize,
    body_len: u32,
    /// The next operator is `br_if` or `if`: a comparison may leave its result in the flags.
    next_is_branch: bool,
    /// A comparison whose result is in the flags (condition true = nonzero), for the
    /// `br_if`/`if` that follows.
    pending_cond: Option<Cond>,
    /// Debug code: every value in its slot or constant at instruction boundaries, checks,
    /// and the side table.
    debug: Option<DebugState<'a>>,
    /// Value-stack states no longer used (merge states, else states, replaced stacks),
    /// empty, kept to be reused instead of allocating one per block.
    spare_states: Vec<Vec<Value>>,
}

impl<'a> FuncCompiler<'a> {
    pub(crate) fn new(
        module: &'a Module,
        layout: &'a VMContextLayout,
        opts: &'a CompileOptions,
        func_index: u32,
    ) -> Result<FuncCompiler<'a>> {
        let f = module
            .functions
            .get(func_index as usize)
            .ok_or(CompileError::NoBody { func_index })?;
        let range = f.body.clone().ok_or(CompileError::NoBody { func_index })?;
        let ty = module.function_type(func_index);
        let offset = range.start as u32;
        // Rejects v128 parameters before any code is emitted.
        kinds(ty.params(), offset)?;
        let results = kinds(ty.results(), offset)?;
        let scratch = THREAD_SCRATCH.with(|s| s.take()).unwrap_or_default();
        let mut stack = ValueStack::default();
        stack.values = scratch.values;
        stack.values.clear();
        Ok(FuncCompiler {
            module,
            layout,
            opts,
            func_index,
            asm: Assembler::with_buffer(scratch.code, range.len() * 4 + 64),
            stack,
            control: Vec::new(),
            num_locals: 0,
            reachable: true,
            dead_depth: 0,
            offset,
            sig: call_layout(ty.params(), ty.results()),
            results,
            relocations: Vec::new(),
            trap_sites: Vec::new(),
            source_positions: Vec::new(),
            stubs: Vec::new(),
            frame_patch: 0,
            body_len: range.len() as u32,
            next_is_branch: false,
            pending_cond: None,
            debug: None,
            spare_states: scratch.spare_states,
        })
    }

    pub(crate) fn compile(mut self) -> Result<CompiledFunction> {
        let range = self.module.functions[self.func_index as usize]
            .body
            .clone()
            .expect("checked in new");
        let wire = self.module.wire_bytes.clone();
        let body = FunctionBody::new(BinaryReader::new(&wire[range.clone()], range.start as u64));
        let ty = self.module.function_type(self.func_index).clone();
        let mut local_kinds: Vec<Kind> = kinds(ty.params(), self.offset)?.to_vec();
        for local in body.get_locals_reader()? {
            let (count, t) = local?;
            let kind = Kind::of(t).ok_or(CompileError::Unsupported {
                operator: "v128 local".into(),
                offset: self.offset,
            })?;
            frame::check_height(local_kinds.len() + count as usize)?;
            local_kinds.extend(std::iter::repeat_n(kind, count as usize));
        }
        if let Some(options) = self.opts.debug.as_ref() {
            self.debug = Some(DebugState {
                options,
                table: DebugSideTableBuilder::new(&local_kinds),
                dirty_locals: Vec::new(),
                break_stub: None,
            });
        }
        self.stack.values.reserve(local_kinds.len() + 16);
        self.prologue(&ty, &local_kinds)?;
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            self.offset = offset as u32;
            if self.reachable {
                if self.debug.is_some() {
                    self.debug_boundary()?;
                }
                self.record_position();
                if self
                    .debug
                    .as_ref()
                    .is_some_and(|d| d.options.checks(self.offset))
                {
                    self.debug_check(EntryKind::Break)?;
                }
            }
            // Peek at the next opcode byte: 0x04 is `if`, 0x0d is `br_if`. Debug code keeps
            // every result on the value stack, so it never fuses a comparison with a branch.
            self.next_is_branch = self.debug.is_none()
                && matches!(ops.get_binary_reader().read_u8(), Ok(0x04 | 0x0d));
            self.visit(op)?;
        }
        self.finish()
    }

    // --- Bookkeeping ---------------------------------------------------------------------

    fn pc(&self) -> u32 {
        self.asm.pc_offset() as u32
    }

    fn record_position(&mut self) {
        let pos = SourcePosition {
            pc_offset: self.pc(),
            wasm_offset: self.offset,
        };
        match self.source_positions.last_mut() {
            Some(last) if last.pc_offset == pos.pc_offset => *last = pos,
            _ => self.source_positions.push(pos),
        }
    }

    /// Records the next instruction as one that may fault with `trap`.
    fn trap_here(&mut self, trap: TrapCode) {
        self.trap_sites.push(TrapSite {
            pc_offset: self.pc(),
            trap,
        });
    }

    /// A label whose out-of-line code traps with `trap` (for the current instruction).
    fn trap_label(&mut self, trap: TrapCode) -> Label {
        let label = self.asm.new_label();
        self.stubs.push(Stub {
            label,
            kind: StubKind::Trap(trap),
            wasm_offset: self.offset,
        });
        label
    }

    fn vmctx_reg(&self) -> Gpr {
        match self.sig.vmctx {
            Location::Gpr(g) => Gpr::new(g).expect("register number"),
            _ => unreachable!("the VMContext is always a register argument"),
        }
    }

    // --- Prologue, epilogue, stubs ---------------------------------------------------------

    fn prologue(&mut self, ty: &FuncType, locals: &[Kind]) -> Result<()> {
        let vmctx = self.vmctx_reg();
        self.asm.push_r(RBP);
        self.asm.mov_rr(Size::S64, RBP, RSP);
        self.asm.mov_rr(Size::S64, SCRATCH, RSP);
        self.asm.alu_ri32(AluOp::Sub, Size::S64, SCRATCH, 0);
        self.frame_patch = self.asm.pc_offset() - 4;
        self.asm.alu_rm(
            AluOp::Cmp,
            Size::S64,
            SCRATCH,
            Mem::base(vmctx, VMContextLayout::STACK_LIMIT as i32),
        );
        let overflow = self.trap_label(TrapCode::StackOverflow);
        self.asm.jcc(Cond::B, overflow);
        self.asm.mov_rr(Size::S64, RSP, SCRATCH);
        self.asm.mov_mr(Size::S64, SAVED_RBX, VMCTX);
        self.asm.mov_rr(Size::S64, VMCTX, vmctx);
        if let Some(Location::Gpr(g)) = self.sig.ret_area_pointer {
            self.asm
                .mov_mr(Size::S64, RET_AREA_PTR, Gpr::new(g).expect("register"));
        }
        self.num_locals = locals.len();
        let num_params = ty.params().len();
        for (i, &kind) in locals.iter().enumerate() {
            let loc = if i < num_params {
                match self.sig.params[i] {
                    Location::Gpr(g) => {
                        let g = Gpr::new(g).expect("register");
                        if kind == Kind::I32 {
                            // Callers need not clear the upper half of an i32 argument.
                            self.asm.mov_rr(Size::S32, g, g);
                        }
                        Loc::Reg(Reg::Gpr(g))
                    }
                    Location::Xmm(x) => Loc::Reg(Reg::Xmm(Xmm::new(x).expect("register"))),
                    Location::Stack(off) => {
                        let src = Mem::base(RBP, frame::STACK_ARGS + off as i32);
                        masm::copy_mem(&mut self.asm, frame::slot(i), src);
                        Loc::Stack
                    }
                    Location::RetArea(_) => unreachable!("parameters never use the return area"),
                }
            } else {
                Loc::Const(0)
            };
            if let Loc::Reg(r) = loc {
                self.stack.regs.acquire(r);
            }
            self.stack.push(Value { kind, loc })?;
        }
        self.stack.set_num_locals(self.num_locals);
        self.control.push(Control {
            kind: ControlKind::Function,
            label: self.asm.new_label(),
            base: self.num_locals,
            params: SmallVec::new(),
            results: self.results.clone(),
            merge: None,
            start_offset: self.offset,
        });
        let cost = self.body_len.clamp(1, i32::MAX as u32) as i32;
        let live: Vec<Reg> = self.live_regs(&self.stack.values);
        self.tier_up_check(cost, live);
        if let Some(d) = &self.debug {
            let entry_check = d.options.function_entry;
            for i in 0..self.num_locals {
                self.debug_home_local(i);
            }
            if entry_check {
                self.debug_check(EntryKind::FunctionEntry)?;
            }
        }
        Ok(())
    }

    // --- Debug code ------------------------------------------------------------------------

    /// Puts local `i` in its slot if it is in a register or a constant.
    fn debug_home_local(&mut self, i: usize) {
        let v = self.stack.values[i];
        match v.loc {
            Loc::Reg(_) => self.stack.spill_entry(&mut self.asm, i),
            Loc::Const(c) => {
                masm::store_const(&mut self.asm, v.kind, frame::slot(i), c);
                self.stack.set_loc(i, Loc::Stack);
            }
            Loc::Stack => {}
        }
    }

    /// At an instruction boundary of debug code: every local goes to its slot and every
    /// operand in a register to its slot (operand constants stay constants). Cost: the
    /// locals written since the last boundary plus the operand height.
    fn debug_boundary(&mut self) -> Result<()> {
        let dirty = match self.debug.as_mut() {
            Some(d) => std::mem::take(&mut d.dirty_locals),
            None => return Ok(()),
        };
        for &i in &dirty {
            self.debug_home_local(i);
        }
        if let Some(d) = self.debug.as_mut() {
            d.dirty_locals = dirty;
            d.dirty_locals.clear();
        }
        if self.stack.regs.any_used() {
            for i in self.num_locals..self.stack.len() {
                self.stack.spill_entry(&mut self.asm, i);
            }
        }
        // Debug builds check every entry while that stays cheap (it would make boundaries
        // cost O(locals)).
        #[cfg(debug_assertions)]
        for (i, v) in self.stack.values.iter().enumerate().take(256) {
            let ok = match v.loc {
                Loc::Stack => true,
                Loc::Const(_) => i >= self.num_locals,
                Loc::Reg(_) => false,
            };
            debug_assert!(ok, "debug boundary at {}: entry {i} is {v:?}", self.offset);
        }
        if self.stack.regs.any_used() {
            return Err(CompileError::Internal(format!(
                "debug boundary at {} with a register in use",
                self.offset
            )));
        }
        Ok(())
    }

    /// Records that local `i` may have left its slot (debug code).
    pub(super) fn debug_local_written(&mut self, i: usize) {
        if let Some(d) = self.debug.as_mut() {
            d.dirty_locals.push(i);
        }
    }

    /// Emits a call to `BuiltinId::DebugBreak` (function index, wasm offset) and records a
    /// side-table entry at its return address. Called at a boundary, where no value lives in
    /// a register, so the call has no live register to preserve (`rbx` is callee-saved).
    ///
    /// A check is `mov edx, offset; call stub` (10 bytes); the function's one out-of-line stub
    /// sets the other operands and tail-jumps to the builtin, which returns straight after
    /// the check (so its caller's return address, and the side-table key, is that pc).
    fn debug_check(&mut self, kind: EntryKind) -> Result<()> {
        let stub = match self.debug.as_mut().map(|d| &mut d.break_stub) {
            Some(Some(label)) => *label,
            Some(slot) => {
                let label = self.asm.new_label();
                *slot = Some(label);
                label
            }
            None => unreachable!("checks are only emitted in debug code"),
        };
        self.asm.mov_ri(Size::S32, RDX, i64::from(self.offset));
        self.asm.call(stub);
        self.debug_entry(kind)
    }

    /// The shared tail of the debug checks: `DebugBreak(vmctx, function index, edx)`.
    fn emit_debug_break_stub(&mut self, label: Label) {
        self.asm.bind(label);
        self.asm.mov_rr(Size::S64, RDI, VMCTX);
        self.asm.mov_ri(Size::S32, RSI, i64::from(self.func_index));
        self.asm.mov_rm(
            Size::S64,
            SCRATCH,
            Mem::base(VMCTX, VMContextLayout::BUILTINS as i32),
        );
        self.asm.jmp_m(Mem::base(
            SCRATCH,
            BuiltinId::DebugBreak.table_offset() as i32,
        ));
    }

    /// Records a side-table entry for the current pc (just after a call) and value stack,
    /// whose values must all be in their slots or constants. Does nothing outside debug code.
    pub(super) fn debug_entry(&mut self, kind: EntryKind) -> Result<()> {
        let pc = self.pc();
        let (offset, num_locals) = (self.offset, self.num_locals);
        let Some(d) = self.debug.as_mut() else {
            return Ok(());
        };
        let mut operands = Vec::with_capacity(self.stack.len() - num_locals);
        for (pos, v) in self.stack.values.iter().enumerate().skip(num_locals) {
            let loc = match v.loc {
                Loc::Stack => DebugLocation::Slot(frame::slot_offset(pos)),
                Loc::Const(c) => DebugLocation::Const(c),
                Loc::Reg(_) => {
                    return Err(CompileError::Internal(format!(
                        "debug entry at {offset}: operand {pos} is in a register"
                    )));
                }
            };
            operands.push(DebugValue { kind: v.kind, loc });
        }
        d.table.add(pc, offset, kind, &operands);
        Ok(())
    }

    fn live_regs(&self, values: &[Value]) -> Vec<Reg> {
        let mut set = RegSet::EMPTY;
        let mut live = Vec::new();
        for v in values {
            if let Loc::Reg(r) = v.loc
                && !set.contains(r)
            {
                set.insert(r);
                live.push(r);
            }
        }
        live
    }

    /// Charges `cost` to the function's tier-up budget; calls the builtin when it goes
    /// negative, preserving `live`.
    fn tier_up_check(&mut self, cost: i32, live: Vec<Reg>) {
        if !self.opts.tier_up {
            return;
        }
        let defined = self.func_index - self.module.num_imported_functions;
        let budget = Mem::base(VMCTX, self.layout.tier_up_budget(defined) as i32);
        self.asm.alu_mi(AluOp::Sub, Size::S32, budget, cost);
        let label = self.asm.new_label();
        let resume = self.asm.new_label();
        self.asm.jcc(Cond::S, label);
        self.asm.bind(resume);
        self.stubs.push(Stub {
            label,
            kind: StubKind::TierUp { resume, live },
            wasm_offset: self.offset,
        });
    }

    fn emit_epilogue(&mut self) {
        self.asm.mov_rm(Size::S64, VMCTX, SAVED_RBX);
        self.asm.mov_rr(Size::S64, RSP, RBP);
        self.asm.pop_r(RBP);
        match self.sig.stack_args_size {
            0 => self.asm.ret(),
            n => self.asm.ret_imm(n as u16),
        }
    }

    /// Moves the top results to their return locations and returns. Leaves the state alone.
    fn emit_return(&mut self) -> Result<()> {
        let n = self.results.len();
        let len = self.stack.len();
        let mut moves = Vec::with_capacity(n);
        let mut uses_ret_area = false;
        for (j, loc) in self.sig.results.iter().enumerate() {
            let pos = len - n + j;
            let v = self.stack.values[pos];
            let dst = match *loc {
                Location::Gpr(g) => Dst::Reg(gpr(Gpr::new(g).expect("register"))),
                Location::Xmm(x) => Dst::Reg(Reg::Xmm(Xmm::new(x).expect("register"))),
                Location::RetArea(off) => {
                    uses_ret_area = true;
                    Dst::Mem(Mem::base(SCRATCH, off as i32))
                }
                Location::Stack(_) => unreachable!("results never use argument slots"),
            };
            moves.push(Move {
                dst,
                src: v.src(pos),
                kind: v.kind,
            });
        }
        if uses_ret_area {
            self.asm.mov_rm(Size::S64, SCRATCH, RET_AREA_PTR);
        }
        masm::execute(&mut self.asm, &moves)?;
        self.emit_epilogue();
        Ok(())
    }

    fn finish(mut self) -> Result<CompiledFunction> {
        let stubs = std::mem::take(&mut self.stubs);
        for stub in stubs {
            self.asm.bind(stub.label);
            let pos = SourcePosition {
                pc_offset: self.pc(),
                wasm_offset: stub.wasm_offset,
            };
            match self.source_positions.last_mut() {
                Some(last) if last.pc_offset == pos.pc_offset => *last = pos,
                _ => self.source_positions.push(pos),
            }
            match stub.kind {
                StubKind::Trap(trap) => {
                    self.trap_here(trap);
                    self.asm.ud2();
                }
                StubKind::TierUp { resume, live } => {
                    self.emit_tier_up_call(&live);
                    self.asm.jmp(resume);
                }
            }
        }
        if let Some(label) = self.debug.as_ref().and_then(|d| d.break_stub) {
            self.emit_debug_break_stub(label);
        }
        let frame_size = frame::frame_size(self.stack.max_height);
        self.asm.patch_i32(self.frame_patch, frame_size as i32);
        let buffer = self
            .asm
            .finish()
            .map_err(|e| CompileError::Internal(e.to_string()))?;
        let code = buffer.clone();
        let mut spare_states = self.spare_states;
        spare_states.retain(|v| v.capacity() <= SCRATCH_STATE_LIMIT);
        spare_states.truncate(SCRATCH_STATES_LIMIT);
        let mut values = self.stack.values;
        if values.capacity() > SCRATCH_STATE_LIMIT {
            values = Vec::new();
        }
        if buffer.capacity() <= SCRATCH_CODE_LIMIT {
            THREAD_SCRATCH.with(|s| {
                s.set(Some(Scratch {
                    code: buffer,
                    values,
                    spare_states,
                }))
            });
        }
        Ok(CompiledFunction {
            code,
            relocations: self.relocations,
            trap_sites: self.trap_sites,
            source_positions: self.source_positions,
            frame_size,
            debug_side_table: self.debug.map(|d| d.table.finish()),
        })
    }

    fn emit_tier_up_call(&mut self, live: &[Reg]) {
        let gprs: Vec<Gpr> = live
            .iter()
            .filter_map(|r| match r {
                Reg::Gpr(g) => Some(*g),
                _ => None,
            })
            .collect();
        let xmms: Vec<Xmm> = live
            .iter()
            .filter_map(|r| match r {
                Reg::Xmm(x) => Some(*x),
                _ => None,
            })
            .collect();
        for &g in &gprs {
            self.asm.push_r(g);
        }
        let xmm_bytes = 16 * xmms.len() as i32 + if gprs.len() % 2 == 1 { 8 } else { 0 };
        if xmm_bytes > 0 {
            self.asm.alu_ri(AluOp::Sub, Size::S64, RSP, xmm_bytes);
        }
        for (k, &x) in xmms.iter().enumerate() {
            self.asm
                .movs_mr(FloatSize::F64, Mem::base(RSP, 16 * k as i32), x);
        }
        self.asm.mov_rr(Size::S64, RDI, VMCTX);
        self.asm.mov_ri(Size::S32, RSI, i64::from(self.func_index));
        self.call_builtin_entry(BuiltinId::TierUp);
        for (k, &x) in xmms.iter().enumerate() {
            self.asm
                .movs_rm(FloatSize::F64, x, Mem::base(RSP, 16 * k as i32));
        }
        if xmm_bytes > 0 {
            self.asm.alu_ri(AluOp::Add, Size::S64, RSP, xmm_bytes);
        }
        for &g in gprs.iter().rev() {
            self.asm.pop_r(g);
        }
    }

    fn call_builtin_entry(&mut self, id: BuiltinId) {
        self.asm.mov_rm(
            Size::S64,
            SCRATCH,
            Mem::base(VMCTX, VMContextLayout::BUILTINS as i32),
        );
        self.asm
            .call_m(Mem::base(SCRATCH, id.table_offset() as i32));
    }

    // --- The visitor -------------------------------------------------------------------------

    fn visit(&mut self, op: Operator) -> Result<()> {
        use Kind::*;
        use Operator as O;
        if !self.reachable {
            match op {
                O::Block { .. } | O::Loop { .. } | O::If { .. } => self.dead_depth += 1,
                O::Else if self.dead_depth == 0 => self.visit_else()?,
                O::End if self.dead_depth == 0 => self.visit_end()?,
                O::End => self.dead_depth -= 1,
                _ => {}
            }
            return Ok(());
        }
        match op {
            // Control.
            O::Unreachable => {
                self.trap_here(TrapCode::Unreachable);
                self.asm.ud2();
                self.reachable = false;
            }
            O::Nop => {}
            O::Block { blockty } => self.visit_block(blockty, ControlKind::Block)?,
            O::Loop { blockty } => self.visit_loop(blockty)?,
            O::If { blockty } => self.visit_if(blockty)?,
            O::Else => self.visit_else()?,
            O::End => self.visit_end()?,
            O::Br { relative_depth } => {
                self.branch_to(relative_depth)?;
                self.reachable = false;
            }
            O::BrIf { relative_depth } => self.visit_br_if(relative_depth)?,
            O::BrTable { targets } => {
                let depths = targets
                    .targets()
                    .collect::<std::result::Result<Vec<u32>, _>>()?;
                self.visit_br_table(&depths, targets.default())?;
            }
            O::Return => {
                self.emit_return()?;
                self.reachable = false;
            }
            O::Call { function_index } => {
                let ty = self.module.function_type(function_index).clone();
                let callee = if function_index < self.module.num_imported_functions {
                    Callee::Import(function_index)
                } else {
                    Callee::Local(function_index)
                };
                self.call(callee, &ty)?;
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => self.visit_call_indirect(type_index, table_index)?,
            O::Drop => {
                let (v, _) = self.stack.pop();
                self.stack.release(v);
            }
            O::Select => self.visit_select()?,
            O::TypedSelect { ty } if Kind::of(ty).is_some() => self.visit_select()?,

            // Locals and globals.
            O::LocalGet { local_index } => self.local_get(local_index as usize)?,
            O::LocalSet { local_index } => self.local_set(local_index as usize, false)?,
            O::LocalTee { local_index } => self.local_set(local_index as usize, true)?,
            O::GlobalGet { global_index } => self.global_get(global_index, &op)?,
            O::GlobalSet { global_index } => self.global_set(global_index, &op)?,

            // Constants.
            O::I32Const { value } => self.stack.push_const(I32, i64::from(value))?,
            O::I64Const { value } => self.stack.push_const(I64, value)?,
            O::F32Const { value } => self.stack.push_const(F32, i64::from(value.bits()))?,
            O::F64Const { value } => self.stack.push_const(F64, value.bits() as i64)?,

            // Integer arithmetic.
            O::I32Add => self.alu(I32, AluOp::Add, i64::wrapping_add)?,
            O::I64Add => self.alu(I64, AluOp::Add, i64::wrapping_add)?,
            O::I32Sub => self.alu(I32, AluOp::Sub, i64::wrapping_sub)?,
            O::I64Sub => self.alu(I64, AluOp::Sub, i64::wrapping_sub)?,
            O::I32And => self.alu(I32, AluOp::And, |a, b| a & b)?,
            O::I64And => self.alu(I64, AluOp::And, |a, b| a & b)?,
            O::I32Or => self.alu(I32, AluOp::Or, |a, b| a | b)?,
            O::I64Or => self.alu(I64, AluOp::Or, |a, b| a | b)?,
            O::I32Xor => self.alu(I32, AluOp::Xor, |a, b| a ^ b)?,
            O::I64Xor => self.alu(I64, AluOp::Xor, |a, b| a ^ b)?,
            O::I32Mul => self.mul(I32)?,
            O::I64Mul => self.mul(I64)?,
            O::I32DivS => self.divrem(I32, true, false)?,
            O::I64DivS => self.divrem(I64, true, false)?,
            O::I32DivU => self.divrem(I32, false, false)?,
            O::I64DivU => self.divrem(I64, false, false)?,
            O::I32RemS => self.divrem(I32, true, true)?,
            O::I64RemS => self.divrem(I64, true, true)?,
            O::I32RemU => self.divrem(I32, false, true)?,
            O::I64RemU => self.divrem(I64, false, true)?,
            O::I32Shl => self.shift(I32, ShiftOp::Shl)?,
            O::I64Shl => self.shift(I64, ShiftOp::Shl)?,
            O::I32ShrS => self.shift(I32, ShiftOp::Sar)?,
            O::I64ShrS => self.shift(I64, ShiftOp::Sar)?,
            O::I32ShrU => self.shift(I32, ShiftOp::Shr)?,
            O::I64ShrU => self.shift(I64, ShiftOp::Shr)?,
            O::I32Rotl => self.shift(I32, ShiftOp::Rol)?,
            O::I64Rotl => self.shift(I64, ShiftOp::Rol)?,
            O::I32Rotr => self.shift(I32, ShiftOp::Ror)?,
            O::I64Rotr => self.shift(I64, ShiftOp::Ror)?,
            O::I32Clz => self.bitcount(I32, BitOp::Lzcnt)?,
            O::I64Clz => self.bitcount(I64, BitOp::Lzcnt)?,
            O::I32Ctz => self.bitcount(I32, BitOp::Tzcnt)?,
            O::I64Ctz => self.bitcount(I64, BitOp::Tzcnt)?,
            O::I32Popcnt => self.bitcount(I32, BitOp::Popcnt)?,
            O::I64Popcnt => self.bitcount(I64, BitOp::Popcnt)?,
            O::I32Extend8S => self.extend(I32, Size::S32, Size::S8)?,
            O::I32Extend16S => self.extend(I32, Size::S32, Size::S16)?,
            O::I64Extend8S => self.extend(I64, Size::S64, Size::S8)?,
            O::I64Extend16S => self.extend(I64, Size::S64, Size::S16)?,
            O::I64Extend32S | O::I64ExtendI32S => self.extend(I64, Size::S64, Size::S32)?,
            O::I64ExtendI32U => self.extend_u()?,
            O::I32WrapI64 => self.wrap()?,

            // Integer comparisons.
            O::I32Eqz => self.eqz(I32)?,
            O::I64Eqz => self.eqz(I64)?,
            O::I32Eq => self.icmp(I32, Cond::E)?,
            O::I64Eq => self.icmp(I64, Cond::E)?,
            O::I32Ne => self.icmp(I32, Cond::Ne)?,
            O::I64Ne => self.icmp(I64, Cond::Ne)?,
            O::I32LtS => self.icmp(I32, Cond::L)?,
            O::I64LtS => self.icmp(I64, Cond::L)?,
            O::I32LtU => self.icmp(I32, Cond::B)?,
            O::I64LtU => self.icmp(I64, Cond::B)?,
            O::I32GtS => self.icmp(I32, Cond::G)?,
            O::I64GtS => self.icmp(I64, Cond::G)?,
            O::I32GtU => self.icmp(I32, Cond::A)?,
            O::I64GtU => self.icmp(I64, Cond::A)?,
            O::I32LeS => self.icmp(I32, Cond::Le)?,
            O::I64LeS => self.icmp(I64, Cond::Le)?,
            O::I32LeU => self.icmp(I32, Cond::Be)?,
            O::I64LeU => self.icmp(I64, Cond::Be)?,
            O::I32GeS => self.icmp(I32, Cond::Ge)?,
            O::I64GeS => self.icmp(I64, Cond::Ge)?,
            O::I32GeU => self.icmp(I32, Cond::Ae)?,
            O::I64GeU => self.icmp(I64, Cond::Ae)?,

            // Floats.
            O::F32Add => self.fbin(F32, SseOp::Addss)?,
            O::F64Add => self.fbin(F64, SseOp::Addsd)?,
            O::F32Sub => self.fbin(F32, SseOp::Subss)?,
            O::F64Sub => self.fbin(F64, SseOp::Subsd)?,
            O::F32Mul => self.fbin(F32, SseOp::Mulss)?,
            O::F64Mul => self.fbin(F64, SseOp::Mulsd)?,
            O::F32Div => self.fbin(F32, SseOp::Divss)?,
            O::F64Div => self.fbin(F64, SseOp::Divsd)?,
            O::F32Min => self.fminmax(F32, true)?,
            O::F64Min => self.fminmax(F64, true)?,
            O::F32Max => self.fminmax(F32, false)?,
            O::F64Max => self.fminmax(F64, false)?,
            O::F32Sqrt => self.funary(F32, |a, x| a.sse_rr(SseOp::Sqrtss, x, x))?,
            O::F64Sqrt => self.funary(F64, |a, x| a.sse_rr(SseOp::Sqrtsd, x, x))?,
            O::F32Neg => self.fbitwise(F32, SseOp::Xorps, 0x8000_0000)?,
            O::F64Neg => self.fbitwise(F64, SseOp::Xorps, 1 << 63)?,
            O::F32Abs => self.fbitwise(F32, SseOp::Andps, 0x7fff_ffff)?,
            O::F64Abs => self.fbitwise(F64, SseOp::Andps, u64::MAX >> 1)?,
            O::F32Copysign => self.copysign(F32)?,
            O::F64Copysign => self.copysign(F64)?,
            O::F32Ceil => self.fround(F32, RoundMode::Up, &op)?,
            O::F64Ceil => self.fround(F64, RoundMode::Up, &op)?,
            O::F32Floor => self.fround(F32, RoundMode::Down, &op)?,
            O::F64Floor => self.fround(F64, RoundMode::Down, &op)?,
            O::F32Trunc => self.fround(F32, RoundMode::Zero, &op)?,
            O::F64Trunc => self.fround(F64, RoundMode::Zero, &op)?,
            O::F32Nearest => self.fround(F32, RoundMode::Nearest, &op)?,
            O::F64Nearest => self.fround(F64, RoundMode::Nearest, &op)?,
            O::F32Eq => self.fcmp(F32, FCmp::Eq)?,
            O::F64Eq => self.fcmp(F64, FCmp::Eq)?,
            O::F32Ne => self.fcmp(F32, FCmp::Ne)?,
            O::F64Ne => self.fcmp(F64, FCmp::Ne)?,
            O::F32Lt => self.fcmp(F32, FCmp::Lt)?,
            O::F64Lt => self.fcmp(F64, FCmp::Lt)?,
            O::F32Gt => self.fcmp(F32, FCmp::Gt)?,
            O::F64Gt => self.fcmp(F64, FCmp::Gt)?,
            O::F32Le => self.fcmp(F32, FCmp::Le)?,
            O::F64Le => self.fcmp(F64, FCmp::Le)?,
            O::F32Ge => self.fcmp(F32, FCmp::Ge)?,
            O::F64Ge => self.fcmp(F64, FCmp::Ge)?,

            // Conversions.
            O::F32ConvertI32S => self.convert_int(F32, I32, true)?,
            O::F32ConvertI32U => self.convert_int(F32, I32, false)?,
            O::F32ConvertI64S => self.convert_int(F32, I64, true)?,
            O::F32ConvertI64U => self.convert_int(F32, I64, false)?,
            O::F64ConvertI32S => self.convert_int(F64, I32, true)?,
            O::F64ConvertI32U => self.convert_int(F64, I32, false)?,
            O::F64ConvertI64S => self.convert_int(F64, I64, true)?,
            O::F64ConvertI64U => self.convert_int(F64, I64, false)?,
            O::F32DemoteF64 => self.fconvert(F32, SseOp::Cvtsd2ss)?,
            O::F64PromoteF32 => self.fconvert(F64, SseOp::Cvtss2sd)?,
            O::I32ReinterpretF32 => self.reinterpret(I32)?,
            O::I64ReinterpretF64 => self.reinterpret(I64)?,
            O::F32ReinterpretI32 => self.reinterpret(F32)?,
            O::F64ReinterpretI64 => self.reinterpret(F64)?,
            O::I32TruncF32S => self.trunc(I32, F32, true, false)?,
            O::I32TruncF32U => self.trunc(I32, F32, false, false)?,
            O::I32TruncF64S => self.trunc(I32, F64, true, false)?,
            O::I32TruncF64U => self.trunc(I32, F64, false, false)?,
            O::I64TruncF32S => self.trunc(I64, F32, true, false)?,
            O::I64TruncF32U => self.trunc(I64, F32, false, false)?,
            O::I64TruncF64S => self.trunc(I64, F64, true, false)?,
            O::I64TruncF64U => self.trunc(I64, F64, false, false)?,
            O::I32TruncSatF32S => self.trunc(I32, F32, true, true)?,
            O::I32TruncSatF32U => self.trunc(I32, F32, false, true)?,
            O::I32TruncSatF64S => self.trunc(I32, F64, true, true)?,
            O::I32TruncSatF64U => self.trunc(I32, F64, false, true)?,
            O::I64TruncSatF32S => self.trunc(I64, F32, true, true)?,
            O::I64TruncSatF32U => self.trunc(I64, F32, false, true)?,
            O::I64TruncSatF64S => self.trunc(I64, F64, true, true)?,
            O::I64TruncSatF64U => self.trunc(I64, F64, false, true)?,

            // Memory.
            O::I32Load { memarg } => self.load(&memarg, I32, LoadOp::Plain(Size::S32), &op)?,
            O::I64Load { memarg } => self.load(&memarg, I64, LoadOp::Plain(Size::S64), &op)?,
            O::F32Load { memarg } => self.load(&memarg, F32, LoadOp::Float, &op)?,
            O::F64Load { memarg } => self.load(&memarg, F64, LoadOp::Float, &op)?,
            O::I32Load8S { memarg } => self.load(&memarg, I32, LoadOp::Sx(Size::S8), &op)?,
            O::I32Load8U { memarg } => self.load(&memarg, I32, LoadOp::Zx(Size::S8), &op)?,
            O::I32Load16S { memarg } => self.load(&memarg, I32, LoadOp::Sx(Size::S16), &op)?,
            O::I32Load16U { memarg } => self.load(&memarg, I32, LoadOp::Zx(Size::S16), &op)?,
            O::I64Load8S { memarg } => self.load(&memarg, I64, LoadOp::Sx(Size::S8), &op)?,
            O::I64Load8U { memarg } => self.load(&memarg, I64, LoadOp::Zx(Size::S8), &op)?,
            O::I64Load16S { memarg } => self.load(&memarg, I64, LoadOp::Sx(Size::S16), &op)?,
            O::I64Load16U { memarg } => self.load(&memarg, I64, LoadOp::Zx(Size::S16), &op)?,
            O::I64Load32S { memarg } => self.load(&memarg, I64, LoadOp::Sx(Size::S32), &op)?,
            O::I64Load32U { memarg } => self.load(&memarg, I64, LoadOp::Plain(Size::S32), &op)?,
            O::I32Store { memarg } => self.store(&memarg, Size::S32, &op)?,
            O::I64Store { memarg } => self.store(&memarg, Size::S64, &op)?,
            O::F32Store { memarg } => self.store(&memarg, Size::S32, &op)?,
            O::F64Store { memarg } => self.store(&memarg, Size::S64, &op)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                self.store(&memarg, Size::S8, &op)?
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                self.store(&memarg, Size::S16, &op)?
            }
            O::I64Store32 { memarg } => self.store(&memarg, Size::S32, &op)?,
            O::MemorySize { mem } => self.memory_size(mem, &op)?,
            O::MemoryGrow { mem } => {
                self.check_memory(mem, &op)?;
                self.call_builtin(BuiltinId::MemoryGrow, &[mem], 1, Some(I32))?
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                self.check_memory(dst_mem, &op)?;
                self.check_memory(src_mem, &op)?;
                self.call_builtin(BuiltinId::MemoryCopy, &[dst_mem, src_mem], 3, None)?
            }
            O::MemoryFill { mem } => {
                self.check_memory(mem, &op)?;
                self.call_builtin(BuiltinId::MemoryFill, &[mem], 3, None)?
            }
            O::MemoryInit { data_index, mem } => {
                self.check_memory(mem, &op)?;
                self.call_builtin(BuiltinId::MemoryInit, &[mem, data_index], 3, None)?
            }
            O::DataDrop { data_index } => {
                self.call_builtin(BuiltinId::DataDrop, &[data_index], 0, None)?
            }

            // References and tables.
            O::RefNull { .. } => self.stack.push_const(Ref, 0)?,
            O::RefIsNull => self.eqz(Ref)?,
            O::RefFunc { function_index } => {
                let dst = self
                    .stack
                    .alloc(&mut self.asm, RegClass::Gpr, RegSet::EMPTY);
                let off = self.layout.funcref(function_index) as i32;
                self.asm.lea(Size::S64, dst.gpr(), Mem::base(VMCTX, off));
                self.stack.push_reg(Ref, dst)?;
            }
            O::TableGet { table } => self.table_get(table, &op)?,
            O::TableSet { table } => self.table_set(table, &op)?,
            O::TableSize { table } => self.table_size(table, &op)?,
            O::TableGrow { table } => {
                self.check_table(table, &op)?;
                self.call_builtin(BuiltinId::TableGrow, &[table], 2, Some(I32))?
            }
            O::TableFill { table } => {
                self.check_table(table, &op)?;
                self.call_builtin(BuiltinId::TableFill, &[table], 3, None)?
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                self.check_table(dst_table, &op)?;
                self.check_table(src_table, &op)?;
                self.call_builtin(BuiltinId::TableCopy, &[dst_table, src_table], 3, None)?
            }
            O::TableInit { elem_index, table } => {
                self.check_table(table, &op)?;
                self.call_builtin(BuiltinId::TableInit, &[table, elem_index], 3, None)?
            }
            O::ElemDrop { elem_index } => {
                self.call_builtin(BuiltinId::ElemDrop, &[elem_index], 0, None)?
            }

            other => return Err(unsupported(&other, self.offset)),
        }
        Ok(())
    }
}

/// How a load extends its value.
#[derive(Clone, Copy, Debug)]
enum LoadOp {
    /// A full-width integer load of this size.
    Plain(Size),
    /// Sign-extending from this size.
    Sx(Size),
    /// Zero-extending from this size.
    Zx(Size),
    /// `movss`/`movsd`.
    Float,
}

mod call_ops;
mod control_ops;
mod float_ops;
mod int_ops;
mod memory_ops;
