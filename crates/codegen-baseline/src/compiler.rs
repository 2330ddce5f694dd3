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
use crate::value_stack::{Kind, Loc, LocalSet, State, Value, ValueStack};
use crate::{BoundsChecks, CompileEnv, CompileOptions, DebugOptions};
use kiln_abi::calling_convention::INT_ARG_REGS;
use kiln_abi::{
    BuiltinId, CallLayout, CompiledFunction, Location, Place, Relocation, RelocationTarget,
    SourcePosition, SourcePositions, TrapCode, TrapSite, VMContextLayout,
};
use kiln_assembler_x64::{
    AluOp, Assembler, BitOp, Cond, FloatSize, Gpr, Label, Mem, R11, RAX, RBP, RCX, RDI, RDX, RSI,
    RSP, RoundMode, Scale, ShiftOp, Size, SseOp, UnaryOp, Xmm,
};
use kiln_decoder::{FuncType, Module, Reader};
use smallvec::SmallVec;
use wasmparser::{BinaryReader, BlockType, BrTable, FunctionBody, MemArg, ValType};

/// An out-of-line path emitted after the body.
#[derive(Debug)]
enum StubKind {
    /// `ud2` for this trap.
    Trap(TrapCode),
    /// Call the tier-up builtin, preserving `live` registers, then jump to `resume`.
    TierUp { resume: Label, live: LiveRegs },
}

/// The registers live at a tier-up check, in order of first use on the value stack.
type LiveRegs = SmallVec<[Reg; 8]>;

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

/// The error for operator `name` (as wasmparser spells it), which this tier does not compile.
fn unsupported(name: &str, offset: u32) -> CompileError {
    CompileError::Unsupported {
        operator: name.to_string(),
        offset,
    }
}

/// The kinds of `types`, or `Unsupported` at `offset` if one is `v128`.
fn kinds(types: &[wasmparser::ValType], offset: u32) -> Result<SmallVec<[Kind; 4]>> {
    let mut out = SmallVec::with_capacity(types.len());
    for &t in types {
        out.push(Kind::of(t).ok_or_else(|| v128_value(offset))?);
    }
    Ok(out)
}

/// `Unsupported` at `offset` if one of `types` is `v128`.
fn check_kinds(types: &[wasmparser::ValType], offset: u32) -> Result<()> {
    match types.iter().all(|&t| Kind::of(t).is_some()) {
        true => Ok(()),
        false => Err(v128_value(offset)),
    }
}

#[cold]
fn v128_value(offset: u32) -> CompileError {
    CompileError::Unsupported {
        operator: "v128 value".into(),
        offset,
    }
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

/// Allocations a thread keeps from one compilation to the next: the assembler (its code
/// buffer, labels and constant pool; the code is copied out at its exact size), value-stack
/// vectors, the control stack, the stubs and the tables that are copied out at their exact
/// size. Taken at the start of a compilation and put back at its end; a failed compilation
/// drops them.
#[derive(Default)]
struct Scratch {
    asm: Assembler,
    values: Vec<Value>,
    spare_states: Vec<State>,
    control: Vec<Control>,
    stubs: Vec<Stub>,
    relocations: Vec<Relocation>,
    trap_sites: Vec<TrapSite>,
    source_positions: Vec<SourcePosition>,
    local_kinds: Vec<Kind>,
    br_table_labels: Vec<Option<Label>>,
}

/// Declared (non-parameter) locals up to this many start as constant zeros; beyond it, all
/// start in zeroed slots (half the allocatable registers, the limit Liftoff uses too).
const MAX_CONSTANT_LOCALS: usize = crate::regalloc::ALLOCATABLE_GPRS.len() / 2;
/// Zeroing this many slots or fewer is a store each; more is a loop.
const ZERO_SLOTS_UNROLLED: usize = 8;

/// Buffers larger than this are freed rather than kept for the next function.
const SCRATCH_CODE_LIMIT: usize = 64 << 20;
/// State vectors with room for more values than this are freed rather than kept.
const SCRATCH_STATE_LIMIT: usize = 4096;
/// At most this many spare state vectors are kept from one function to the next (a function
/// compiled from a `switch` holds a merge state per case at once).
const SCRATCH_STATES_LIMIT: usize = 1024;

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
    /// The function's own call layout.
    sig: &'a CallLayout,
    /// The call layout of each function type, by type index.
    call_layouts: &'a [Option<CallLayout>],
    results: SmallVec<[Kind; 4]>,
    relocations: Vec<Relocation>,
    trap_sites: Vec<TrapSite>,
    source_positions: Vec<SourcePosition>,
    stubs: Vec<Stub>,
    frame_patch: usize,
    body_len: u32,
    /// A comparison whose result is in the flags (condition true = nonzero), for the
    /// `br_if`/`if` that follows.
    pending_cond: Option<Cond>,
    /// Debug code: every value in its slot or constant at instruction boundaries, checks,
    /// and the side table.
    debug: Option<DebugState<'a>>,
    /// Value-stack states no longer used (merge states, else states, replaced stacks),
    /// empty, kept to be reused instead of allocating one per block.
    spare_states: Vec<State>,
    /// `br_table` scratch: the stub label of each target depth.
    br_table_labels: Vec<Option<Label>>,
    /// The kind of each local (kept for its allocation).
    local_kinds: Vec<Kind>,
}

impl<'a> FuncCompiler<'a> {
    pub(crate) fn new(
        env: &'a CompileEnv<'a>,
        opts: &'a CompileOptions,
        func_index: u32,
    ) -> Result<FuncCompiler<'a>> {
        let (module, layout) = (env.module, &env.layout);
        let f = module
            .functions
            .get(func_index as usize)
            .ok_or(CompileError::NoBody { func_index })?;
        let range = f.body.clone().ok_or(CompileError::NoBody { func_index })?;
        let ty = module.function_type(func_index);
        let offset = range.start as u32;
        // Rejects v128 parameters before any code is emitted.
        check_kinds(ty.params(), offset)?;
        let results = kinds(ty.results(), offset)?;
        let mut scratch = THREAD_SCRATCH.with(|s| s.take()).unwrap_or_default();
        let mut stack = ValueStack::default();
        stack.values = scratch.values;
        stack.values.clear();
        scratch.asm.reset(range.len() * 4 + 64);
        scratch.control.clear();
        scratch.stubs.clear();
        scratch.relocations.clear();
        scratch.trap_sites.clear();
        scratch.source_positions.clear();
        scratch.local_kinds.clear();
        Ok(FuncCompiler {
            module,
            layout,
            opts,
            func_index,
            asm: scratch.asm,
            stack,
            control: scratch.control,
            num_locals: 0,
            reachable: true,
            dead_depth: 0,
            offset,
            sig: env.call_layouts[f.type_index as usize]
                .as_ref()
                .expect("validated: a function's type is a function type"),
            call_layouts: &env.call_layouts,
            results,
            relocations: scratch.relocations,
            trap_sites: scratch.trap_sites,
            source_positions: scratch.source_positions,
            stubs: scratch.stubs,
            frame_patch: 0,
            body_len: range.len() as u32,
            pending_cond: None,
            debug: None,
            spare_states: scratch.spare_states,
            br_table_labels: scratch.br_table_labels,
            local_kinds: scratch.local_kinds,
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
        let mut local_kinds = std::mem::take(&mut self.local_kinds);
        local_kinds.extend(kinds(ty.params(), self.offset)?);
        let mut locals = body.get_locals_reader()?.into_iter();
        for local in &mut locals {
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
        self.local_kinds = local_kinds;
        let code_start = locals
            .into_binary_reader_for_operators()
            .original_position() as usize;
        let mut reader = Reader {
            bytes: &wire[..range.end],
            pos: code_start,
        };
        while !reader.at_end() {
            self.offset = reader.pos as u32;
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
            self.operator(&mut reader)?;
        }
        self.finish()
    }

    /// Whether the operator after the current one, which must be one byte long (an integer
    /// comparison or `ref.is_null`), is `if` (0x04) or `br_if` (0x0d): then a comparison may
    /// leave its result in the flags. Never in debug code, which keeps every result on the
    /// value stack.
    fn next_is_branch(&self) -> bool {
        self.debug.is_none()
            && matches!(
                self.module.wire_bytes.get(self.offset as usize + 1),
                Some(0x04 | 0x0d)
            )
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
        // A few declared locals start as constant zeros (folded into their first uses); more
        // start in zeroed slots, since as constants every merge would store each of them.
        let declared = locals.len() - num_params;
        let zeroed_slots = declared > MAX_CONSTANT_LOCALS;
        if zeroed_slots {
            self.zero_slots(num_params, declared);
        }
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
            } else if zeroed_slots {
                Loc::Stack
            } else {
                Loc::Const(0)
            };
            if let Loc::Reg(r) = loc {
                self.stack.regs.acquire(r);
            }
            self.stack.push(Value::new(kind, loc))?;
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
        let live = Self::live_regs(&self.stack.values, &self.stack.off_slot);
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

    /// Zeroes the slots of positions `first..first + count`: a store each for a few, else a
    /// loop of stores counting `r11` up from `-count` to zero.
    fn zero_slots(&mut self, first: usize, count: usize) {
        if count <= ZERO_SLOTS_UNROLLED {
            for i in first..first + count {
                self.asm.mov_mi(Size::S64, frame::slot(i), 0);
            }
            return;
        }
        // Slots lie 8 bytes apart below the first one's: at r11 = -1 the store hits slot
        // `first`, at r11 = -count slot `first + count - 1`.
        let slots = Mem::base_index(RBP, SCRATCH, Scale::Eight, frame::slot_offset(first) + 8);
        self.asm.mov_ri(Size::S64, SCRATCH, -(count as i64));
        let top = self.asm.new_label();
        self.asm.bind(top);
        self.asm.mov_mi(Size::S64, slots, 0);
        self.asm.alu_ri(AluOp::Add, Size::S64, SCRATCH, 1);
        self.asm.jcc(Cond::Ne, top);
    }

    // --- Debug code ------------------------------------------------------------------------

    /// Puts local `i` in its slot if it is in a register or a constant.
    fn debug_home_local(&mut self, i: usize) {
        let v = self.stack.values[i];
        match v.loc() {
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
            let ok = match v.loc() {
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
            let loc = match v.loc() {
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

    /// The distinct registers holding values of a state (`values` with the locals off their
    /// slots `off_slot`), in position order. Cost: those locals plus the operands.
    fn live_regs(values: &[Value], off_slot: &LocalSet) -> LiveRegs {
        let mut set = RegSet::EMPTY;
        let mut live = LiveRegs::new();
        let positions = off_slot.iter().chain(off_slot.num_locals()..values.len());
        for pos in positions {
            if let Loc::Reg(r) = values[pos].loc()
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
    fn tier_up_check(&mut self, cost: i32, live: LiveRegs) {
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
        let mut moves: SmallVec<[Move; 4]> = SmallVec::new();
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
        let mut stubs = std::mem::take(&mut self.stubs);
        for stub in stubs.drain(..) {
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
        self.stubs = stubs;
        if let Some(label) = self.debug.as_ref().and_then(|d| d.break_stub) {
            self.emit_debug_break_stub(label);
        }
        let frame_size = frame::frame_size(self.stack.max_height);
        self.asm.patch_i32(self.frame_patch, frame_size as i32);
        self.asm
            .finish_in_place()
            .map_err(|e| CompileError::Internal(e.to_string()))?;
        let compiled = CompiledFunction {
            code: self.asm.code().to_vec(),
            relocations: self.relocations.clone(),
            trap_sites: self.trap_sites.clone(),
            source_positions: SourcePositions::new(&self.source_positions),
            frame_size,
            debug_side_table: self.debug.map(|d| d.table.finish()),
        };
        let mut spare_states = self.spare_states;
        spare_states.truncate(SCRATCH_STATES_LIMIT);
        let mut values = self.stack.values;
        if values.capacity() > SCRATCH_STATE_LIMIT {
            values = Vec::new();
        }
        if self.asm.capacity() <= SCRATCH_CODE_LIMIT {
            THREAD_SCRATCH.with(|s| {
                s.set(Some(Scratch {
                    asm: self.asm,
                    values,
                    spare_states,
                    control: self.control,
                    stubs: self.stubs,
                    relocations: self.relocations,
                    trap_sites: self.trap_sites,
                    source_positions: self.source_positions,
                    local_kinds: self.local_kinds,
                    br_table_labels: self.br_table_labels,
                }))
            });
        }
        Ok(compiled)
    }

    fn emit_tier_up_call(&mut self, live: &[Reg]) {
        let gprs: SmallVec<[Gpr; 8]> = live
            .iter()
            .filter_map(|r| match r {
                Reg::Gpr(g) => Some(*g),
                _ => None,
            })
            .collect();
        let xmms: SmallVec<[Xmm; 8]> = live
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
mod visitor;
