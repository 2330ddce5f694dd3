//! WebAssembly function bodies to Cranelift IR, in one pass over the operators.
//!
//! The operand stack holds SSA values; locals are frontend variables; each `block`/`loop`/`if`
//! becomes Cranelift blocks whose parameters carry the wasm block results (or, for loops, the
//! loop parameters). What each operator does against the runtime (which builtin, which trap
//! code, where a table or global lives) mirrors the baseline tier exactly.
//!
//! Costs: every operator emits a bounded number of instructions and touches a bounded number of
//! table entries (function references and signatures are cached in hash maps), so the
//! translation is linear in the body size. `br_table` with block arguments creates one edge
//! block per distinct target.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::Offset32;
use cranelift_codegen::ir::{
    self, AbiParam, AliasRegionData, ArgumentPurpose, Block, BlockArg, BlockCall, ExtFuncData,
    ExternalName, FuncRef, Function, GlobalValueData, InstBuilder, JumpTableData, MemFlagsData,
    SigRef, Signature, SourceLoc, TrapCode as ClifTrap, Type, UserExternalName, UserFuncName,
    Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_abi::{BoundsChecks, BuiltinId, CompileError, Place, TrapCode, VMContextLayout};
use kiln_decoder::{FuncType, Module};
use std::collections::HashMap;
use wasmparser::{BinaryReader, BlockType, FunctionBody, MemArg, Operator};

use crate::CompileOptions;

type Result<T> = std::result::Result<T, CompileError>;

/// The largest static offset guard mode leaves unchecked: the guard region minus the widest
/// access, so `4 GiB - 1 + offset + size` stays inside the reservation (as in the baseline).
const MAX_UNCHECKED_OFFSET: u64 = kiln_abi::GUARD_SIZE - 16;

/// First Cranelift user trap code used for Kiln trap codes without a built-in equivalent.
const USER_TRAP_BASE: u8 = 16;

/// The Cranelift trap code generated code uses for `trap`.
pub fn clif_trap(trap: TrapCode) -> ClifTrap {
    match trap {
        TrapCode::MemoryOutOfBounds => ClifTrap::HEAP_OUT_OF_BOUNDS,
        TrapCode::IntegerDivideByZero => ClifTrap::INTEGER_DIVISION_BY_ZERO,
        TrapCode::IntegerOverflow => ClifTrap::INTEGER_OVERFLOW,
        TrapCode::BadConversionToInteger => ClifTrap::BAD_CONVERSION_TO_INTEGER,
        TrapCode::StackOverflow => ClifTrap::STACK_OVERFLOW,
        other => ClifTrap::unwrap_user(USER_TRAP_BASE + other as u8),
    }
}

/// The Kiln trap code of a Cranelift trap code (the inverse of [`clif_trap`]).
pub fn kiln_trap(code: ClifTrap) -> Option<TrapCode> {
    Some(match code {
        ClifTrap::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        ClifTrap::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivideByZero,
        ClifTrap::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        ClifTrap::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        ClifTrap::STACK_OVERFLOW => TrapCode::StackOverflow,
        other => {
            let raw = other.as_raw().get();
            TrapCode::from_u8(raw.checked_sub(USER_TRAP_BASE)?)?
        }
    })
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

/// The Cranelift type of a wasm value type; references are pointers.
fn ir_type(ty: wasmparser::ValType, offset: u32) -> Result<Type> {
    use wasmparser::ValType as V;
    Ok(match ty {
        V::I32 => types::I32,
        V::I64 => types::I64,
        V::F32 => types::F32,
        V::F64 => types::F64,
        V::Ref(_) => types::I64,
        V::V128 => {
            return Err(CompileError::Unsupported {
                operator: "v128 value".into(),
                offset,
            });
        }
    })
}

/// The Cranelift signature of a wasm function type under Kiln's calling convention: the
/// callee's `VMContext` first, Cranelift's `tail` convention.
pub fn wasm_signature(ty: &FuncType, offset: u32) -> Result<Signature> {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(types::I64, ArgumentPurpose::VMContext));
    for &p in ty.params() {
        sig.params.push(AbiParam::new(ir_type(p, offset)?));
    }
    for &r in ty.results() {
        sig.returns.push(AbiParam::new(ir_type(r, offset)?));
    }
    Ok(sig)
}

fn builtin_signature(nargs: usize) -> Signature {
    let mut sig = Signature::new(CallConv::SystemV);
    for _ in 0..=nargs {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

fn memory_of(memarg: &MemArg) -> u32 {
    match memarg.target {
        wasmparser::MemArgTarget::Memory(m) => m,
        wasmparser::MemArgTarget::Array(_) => u32::MAX,
    }
}

/// Flags of loads from the `VMContext` and definitions that never change while code runs and
/// are valid to read anywhere in the function: pure, so unused ones disappear and repeated ones
/// are shared (global value numbering) or hoisted out of loops.
fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    Function,
    Block,
    Loop,
    If { else_block: Block, has_else: bool },
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// Where `br` to this frame goes: the loop header, or the continuation.
    dest: Block,
    /// The continuation after `end`, with the result values as parameters.
    next: Block,
    num_params: usize,
    num_results: usize,
    /// Stack height below the frame's parameters.
    height: usize,
    /// Whether anything jumps to `next`.
    next_reached: bool,
}

/// How code reaches one memory's base (and, in explicit mode, length).
#[derive(Clone, Copy, Debug)]
enum MemBase {
    /// Guard mode: the base never moves; loaded once at entry.
    Fixed(Value),
    /// Explicit mode: variables reloaded after every call.
    Reloaded { base: Variable, len: Variable },
}

struct Translator<'a, 'f> {
    module: &'a Module,
    layout: &'a VMContextLayout,
    opts: &'a CompileOptions,
    b: FunctionBuilder<'f>,
    vmctx: Value,
    locals: Vec<Variable>,
    stack: Vec<Value>,
    control: Vec<Frame>,
    reachable: bool,
    dead_depth: u32,
    offset: u32,
    memories: Vec<MemBase>,
    func_refs: HashMap<u32, FuncRef>,
    sig_refs: HashMap<u32, SigRef>,
    builtin_sigs: [Option<SigRef>; 6],
    // Flags of the three alias regions: linear memories (unaligned; the trap code or
    // `notrap` is set per access); mutable data reached from the `VMContext` (lengths,
    // globals, function references); table element arrays. They are disjoint allocations,
    // so a store to one never invalidates a load from another.
    heapf: MemFlagsData,
    vmf: MemFlagsData,
    elemf: MemFlagsData,
}

/// Translates defined function `func_index` into `func`. Cost: linear in the body size.
pub(crate) fn translate(
    module: &Module,
    layout: &VMContextLayout,
    opts: &CompileOptions,
    isa: &dyn TargetIsa,
    func_index: u32,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
) -> Result<()> {
    let range = module.functions[func_index as usize]
        .body
        .clone()
        .ok_or(CompileError::NoBody { func_index })?;
    let offset = range.start as u32;
    let ty = module.function_type(func_index).clone();
    func.signature = wasm_signature(&ty, offset)?;
    func.name = UserFuncName::user(0, func_index);
    let wire = module.wire_bytes.clone();
    let body = FunctionBody::new(BinaryReader::new(&wire[range.clone()], range.start as u64));

    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    b.set_srcloc(SourceLoc::new(offset));
    let vmctx = b.block_params(entry)[0];
    let params: Vec<Value> = b.block_params(entry)[1..].to_vec();

    // The stack limit, read by the prologue.
    let vmctx_gv = b.create_global_value(GlobalValueData::VMContext);
    let flags = b
        .func
        .dfg
        .mem_flags
        .insert_unchecked(MemFlagsData::trusted());
    let limit = b.create_global_value(GlobalValueData::Load {
        base: vmctx_gv,
        offset: Offset32::new(VMContextLayout::STACK_LIMIT as i32),
        global_type: types::I64,
        flags,
    });
    b.func.stack_limit = Some(limit);

    let mut region = |user_id, description: &'static str| {
        b.func.dfg.alias_regions.insert(AliasRegionData {
            user_id,
            description: description.into(),
        })
    };
    let heap = region(1, "linear memory");
    let vm = region(2, "vmctx");
    let elems = region(3, "table elements");

    let mut t = Translator {
        module,
        layout,
        opts,
        b,
        vmctx,
        locals: Vec::new(),
        stack: Vec::new(),
        control: Vec::new(),
        reachable: true,
        dead_depth: 0,
        offset,
        memories: Vec::new(),
        func_refs: HashMap::new(),
        sig_refs: HashMap::new(),
        builtin_sigs: [None; 6],
        heapf: MemFlagsData::new().with_alias_region(Some(heap)),
        vmf: MemFlagsData::trusted().with_alias_region(Some(vm)),
        elemf: MemFlagsData::trusted().with_alias_region(Some(elems)),
    };
    for (i, &p) in ty.params().iter().enumerate() {
        let var = t.b.declare_var(ir_type(p, offset)?);
        t.b.def_var(var, params[i]);
        t.locals.push(var);
    }
    for local in body.get_locals_reader()? {
        let (count, vt) = local?;
        let irt = ir_type(vt, offset)?;
        if t.locals.len() as u64 + u64::from(count) > 50_000 {
            return Err(CompileError::TooLarge { what: "locals" });
        }
        let zero = t.zero(irt);
        for _ in 0..count {
            let var = t.b.declare_var(irt);
            t.b.def_var(var, zero);
            t.locals.push(var);
        }
    }
    t.init_memories();

    let ret = t.b.create_block();
    for &r in ty.results() {
        t.b.append_block_param(ret, ir_type(r, offset)?);
    }
    t.control.push(Frame {
        kind: FrameKind::Function,
        dest: ret,
        next: ret,
        num_params: 0,
        num_results: ty.results().len(),
        height: 0,
        next_reached: false,
    });

    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let (op, off) = ops.read_with_offset()?;
        t.offset = off as u32;
        t.b.set_srcloc(SourceLoc::new(t.offset));
        t.visit(op)?;
    }
    if !t.control.is_empty() {
        return Err(CompileError::Malformed {
            message: "function body ends inside a block".into(),
            offset: t.offset,
        });
    }
    t.b.finalize(isa.frontend_config());
    let _ = isa;
    Ok(())
}

impl Translator<'_, '_> {
    fn zero(&mut self, ty: Type) -> Value {
        match ty {
            types::F32 => self.b.ins().f32const(0.0),
            types::F64 => self.b.ins().f64const(0.0),
            _ => self.b.ins().iconst(ty, 0),
        }
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated: operand present")
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn top(&self, n: usize) -> Vec<BlockArg> {
        self.stack[self.stack.len() - n..]
            .iter()
            .map(|&v| BlockArg::Value(v))
            .collect()
    }

    // --- Runtime data --------------------------------------------------------------------

    /// The address of a definition (`VMMemoryDefinition`/`VMTableDefinition`/`VMGlobal`) and
    /// the offset of it to add; imported ones through their (never changing) pointer.
    fn def_addr(&mut self, place: Place) -> (Value, i32) {
        match place {
            Place::Inline(off) => (self.vmctx, off as i32),
            Place::Imported(off) => {
                let p = self
                    .b
                    .ins()
                    .load(types::I64, readonly(), self.vmctx, off as i32);
                (p, 0)
            }
        }
    }

    fn load_mem_fields(&mut self, index: u32) -> (Value, Value) {
        let (p, off) = self.def_addr(self.layout.memory(index));
        let base = self.b.ins().load(types::I64, self.vmf, p, off);
        let len = self.b.ins().load(types::I64, self.vmf, p, off + 8);
        (base, len)
    }

    fn init_memories(&mut self) {
        for index in 0..self.module.memories.len() as u32 {
            let state = match self.opts.bounds_checks {
                BoundsChecks::Guard => {
                    let (p, off) = self.def_addr(self.layout.memory(index));
                    MemBase::Fixed(self.b.ins().load(types::I64, readonly(), p, off))
                }
                BoundsChecks::Explicit => {
                    let base = self.b.declare_var(types::I64);
                    let len = self.b.declare_var(types::I64);
                    let (bv, lv) = self.load_mem_fields(index);
                    self.b.def_var(base, bv);
                    self.b.def_var(len, lv);
                    MemBase::Reloaded { base, len }
                }
            };
            self.memories.push(state);
        }
    }

    /// After a call: memories that may have moved are reloaded.
    fn reload_memories(&mut self) {
        for index in 0..self.memories.len() {
            if let MemBase::Reloaded { base, len } = self.memories[index] {
                let (bv, lv) = self.load_mem_fields(index as u32);
                self.b.def_var(base, bv);
                self.b.def_var(len, lv);
            }
        }
    }

    fn check_memory(&self, mem: u32, op: &Operator) -> Result<()> {
        match self.module.memories.get(mem as usize) {
            Some(m) if !m.memory64 && !m.shared => Ok(()),
            _ => Err(unsupported(op, self.offset)),
        }
    }

    fn check_table(&self, table: u32, op: &Operator) -> Result<()> {
        match self.module.tables.get(table as usize) {
            Some(t) if !t.ty.table64 && !t.ty.shared => Ok(()),
            _ => Err(unsupported(op, self.offset)),
        }
    }

    /// Pops the index of an access of `size` bytes; returns the native address, the static
    /// offset still to add, and the flags of the access.
    fn heap_addr(&mut self, memarg: &MemArg, size: u32) -> (Value, i32, MemFlagsData) {
        let mem = memory_of(memarg) as usize;
        let index = self.pop();
        let index = self.b.ins().uextend(types::I64, index);
        let offset = memarg.offset;
        let explicit =
            self.opts.bounds_checks == BoundsChecks::Explicit || offset > MAX_UNCHECKED_OFFSET;
        let base = match self.memories[mem] {
            MemBase::Fixed(v) => v,
            MemBase::Reloaded { base, .. } => self.b.use_var(base),
        };
        if !explicit {
            // The guard region covers index + offset + size: the access is the trap site.
            let addr = self.b.ins().iadd(base, index);
            let flags = self
                .heapf
                .with_trap_code(Some(clif_trap(TrapCode::MemoryOutOfBounds)));
            return (addr, offset as i32, flags);
        }
        let len = match self.memories[mem] {
            MemBase::Fixed(_) => {
                let (p, off) = self.def_addr(self.layout.memory(mem as u32));
                self.b.ins().load(types::I64, self.vmf, p, off + 8)
            }
            MemBase::Reloaded { len, .. } => self.b.use_var(len),
        };
        // index < 2^32 and offset + size < 2^33: the sum cannot wrap.
        let end = self
            .b
            .ins()
            .iadd_imm_u(index, (offset + u64::from(size)) as i64);
        let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        self.b
            .ins()
            .trapnz(oob, clif_trap(TrapCode::MemoryOutOfBounds));
        let addr = self.b.ins().iadd(base, index);
        let flags = self.heapf.with_notrap();
        if offset <= i32::MAX as u64 {
            (addr, offset as i32, flags)
        } else {
            let addr = self.b.ins().iadd_imm_u(addr, offset as i64);
            (addr, 0, flags)
        }
    }

    fn load(&mut self, memarg: &MemArg, op: &Operator) -> Result<()> {
        self.check_memory(memory_of(memarg), op)?;
        if memarg.ordering.is_some() {
            return Err(unsupported(op, self.offset));
        }
        use Operator as O;
        use types::{F32, F64, I32, I64};
        // (result type, bytes, extension: 0 none, 1 zero, 2 sign)
        let (ty, size, ext) = match op {
            O::I32Load { .. } => (I32, 4, 0),
            O::I64Load { .. } => (I64, 8, 0),
            O::F32Load { .. } => (F32, 4, 0),
            O::F64Load { .. } => (F64, 8, 0),
            O::I32Load8S { .. } => (I32, 1, 2),
            O::I32Load8U { .. } => (I32, 1, 1),
            O::I32Load16S { .. } => (I32, 2, 2),
            O::I32Load16U { .. } => (I32, 2, 1),
            O::I64Load8S { .. } => (I64, 1, 2),
            O::I64Load8U { .. } => (I64, 1, 1),
            O::I64Load16S { .. } => (I64, 2, 2),
            O::I64Load16U { .. } => (I64, 2, 1),
            O::I64Load32S { .. } => (I64, 4, 2),
            O::I64Load32U { .. } => (I64, 4, 1),
            _ => return Err(unsupported(op, self.offset)),
        };
        let (addr, off, flags) = self.heap_addr(memarg, size);
        let ins = self.b.ins();
        let v = match (size, ext) {
            (_, 0) => ins.load(ty, flags, addr, off),
            (1, 1) => ins.uload8(ty, flags, addr, off),
            (1, _) => ins.sload8(ty, flags, addr, off),
            (2, 1) => ins.uload16(ty, flags, addr, off),
            (2, _) => ins.sload16(ty, flags, addr, off),
            (_, 1) => ins.uload32(flags, addr, off),
            _ => ins.sload32(flags, addr, off),
        };
        self.push(v);
        Ok(())
    }

    fn store(&mut self, memarg: &MemArg, op: &Operator) -> Result<()> {
        self.check_memory(memory_of(memarg), op)?;
        if memarg.ordering.is_some() {
            return Err(unsupported(op, self.offset));
        }
        use Operator as O;
        let size = match op {
            O::I32Store8 { .. } | O::I64Store8 { .. } => 1,
            O::I32Store16 { .. } | O::I64Store16 { .. } => 2,
            O::I32Store { .. } | O::F32Store { .. } | O::I64Store32 { .. } => 4,
            O::I64Store { .. } | O::F64Store { .. } => 8,
            _ => return Err(unsupported(op, self.offset)),
        };
        let value = self.pop();
        let (addr, off, flags) = self.heap_addr(memarg, size);
        let wide = self.b.func.dfg.value_type(value).bytes();
        let ins = self.b.ins();
        match (size, wide) {
            (1, _) => ins.istore8(flags, value, addr, off),
            (2, _) => ins.istore16(flags, value, addr, off),
            (4, 8) => ins.istore32(flags, value, addr, off),
            _ => ins.store(flags, value, addr, off),
        };
        Ok(())
    }

    fn global_ty(&self, index: u32, op: &Operator) -> Result<(Type, bool)> {
        let g = self
            .module
            .globals
            .get(index as usize)
            .ok_or_else(|| unsupported(op, self.offset))?;
        Ok((ir_type(g.ty.content_type, self.offset)?, g.ty.mutable))
    }

    fn table_element(&mut self, table: u32, index: Value, oob: TrapCode) -> Value {
        let (p, off) = self.def_addr(self.layout.table(table));
        let len = self.b.ins().load(types::I32, self.vmf, p, off + 8);
        let out = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.b.ins().trapnz(out, clif_trap(oob));
        let base = self.b.ins().load(types::I64, self.vmf, p, off);
        let index = self.b.ins().uextend(types::I64, index);
        let scaled = self.b.ins().ishl_imm_u(index, 3);
        self.b.ins().iadd(base, scaled)
    }

    // --- Calls ---------------------------------------------------------------------------

    fn sig_ref(&mut self, type_index: u32) -> Result<SigRef> {
        if let Some(&s) = self.sig_refs.get(&type_index) {
            return Ok(s);
        }
        let ty = self
            .module
            .func_type(type_index)
            .ok_or_else(|| CompileError::Malformed {
                message: format!("type {type_index} is not a function type"),
                offset: self.offset,
            })?;
        let sig = wasm_signature(ty, self.offset)?;
        let s = self.b.import_signature(sig);
        self.sig_refs.insert(type_index, s);
        Ok(s)
    }

    fn func_ref(&mut self, func_index: u32) -> Result<FuncRef> {
        if let Some(&f) = self.func_refs.get(&func_index) {
            return Ok(f);
        }
        let type_index = self.module.functions[func_index as usize].type_index;
        let signature = self.sig_ref(type_index)?;
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName::new(0, func_index));
        let f = self.b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature,
            colocated: true,
            patchable: false,
        });
        self.func_refs.insert(func_index, f);
        Ok(f)
    }

    fn args(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }

    fn push_results(&mut self, inst: ir::Inst) {
        let results = self.b.inst_results(inst).to_vec();
        self.stack.extend(results);
        self.reload_memories();
    }

    fn call(&mut self, func_index: u32) -> Result<()> {
        let ty = self.module.function_type(func_index);
        let n = ty.params().len();
        let mut args = vec![];
        if func_index < self.module.num_imported_functions {
            let sig = self.sig_ref(self.module.functions[func_index as usize].type_index)?;
            let off = self.layout.imported_function(func_index) as i32;
            let code = self.b.ins().load(types::I64, readonly(), self.vmctx, off);
            let callee_vmctx = self
                .b
                .ins()
                .load(types::I64, readonly(), self.vmctx, off + 8);
            args.push(callee_vmctx);
            args.extend(self.args(n));
            let inst = self.b.ins().call_indirect(sig, code, &args);
            self.push_results(inst);
        } else {
            let f = self.func_ref(func_index)?;
            args.push(self.vmctx);
            args.extend(self.args(n));
            let inst = self.b.ins().call(f, &args);
            self.push_results(inst);
        }
        Ok(())
    }

    fn call_indirect(&mut self, type_index: u32, table: u32, op: &Operator) -> Result<()> {
        self.check_table(table, op)?;
        let sig = self.sig_ref(type_index)?;
        let n = self
            .module
            .func_type(type_index)
            .map_or(0, |t| t.params().len());
        let index = self.pop();
        let elem_addr = self.table_element(table, index, TrapCode::UndefinedElement);
        let funcref = self.b.ins().load(types::I64, self.elemf, elem_addr, 0);
        self.b
            .ins()
            .trapz(funcref, clif_trap(TrapCode::IndirectCallToNull));
        let actual = self.b.ins().load(types::I32, self.vmf, funcref, 8);
        let expected = self.b.ins().load(
            types::I32,
            readonly(),
            self.vmctx,
            self.layout.signature_id(type_index) as i32,
        );
        let bad = self.b.ins().icmp(IntCC::NotEqual, actual, expected);
        self.b.ins().trapnz(bad, clif_trap(TrapCode::BadSignature));
        let code = self.b.ins().load(types::I64, self.vmf, funcref, 0);
        let callee_vmctx = self.b.ins().load(types::I64, self.vmf, funcref, 16);
        let mut args = vec![callee_vmctx];
        args.extend(self.args(n));
        let inst = self.b.ins().call_indirect(sig, code, &args);
        self.push_results(inst);
        Ok(())
    }

    /// Calls builtin `id` with `imms` then the top `nvals` values (zero-extended to 64 bits),
    /// pushing its result as `result`.
    fn builtin(&mut self, id: BuiltinId, imms: &[u32], nvals: usize, result: Option<Type>) {
        let nargs = imms.len() + nvals;
        let sig = match self.builtin_sigs[nargs] {
            Some(s) => s,
            None => {
                let s = self.b.import_signature(builtin_signature(nargs));
                self.builtin_sigs[nargs] = Some(s);
                s
            }
        };
        let vals = self.args(nvals);
        let mut args = vec![self.vmctx];
        for &imm in imms {
            args.push(self.b.ins().iconst(types::I64, i64::from(imm)));
        }
        for v in vals {
            let v = if self.b.func.dfg.value_type(v) == types::I64 {
                v
            } else {
                self.b.ins().uextend(types::I64, v)
            };
            args.push(v);
        }
        let table = self.b.ins().load(
            types::I64,
            readonly(),
            self.vmctx,
            VMContextLayout::BUILTINS as i32,
        );
        let entry = self
            .b
            .ins()
            .load(types::I64, readonly(), table, id.table_offset() as i32);
        let inst = self.b.ins().call_indirect(sig, entry, &args);
        let r = self.b.inst_results(inst)[0];
        if let Some(ty) = result {
            let v = if ty == types::I32 {
                self.b.ins().ireduce(types::I32, r)
            } else {
                r
            };
            self.push(v);
        }
        self.reload_memories();
    }

    // --- Control -------------------------------------------------------------------------

    fn block_types(&self, blockty: BlockType) -> Result<(Vec<Type>, Vec<Type>)> {
        Ok(match blockty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (vec![], vec![ir_type(t, self.offset)?]),
            BlockType::FuncType(i) => {
                let ty = self
                    .module
                    .func_type(i)
                    .ok_or_else(|| CompileError::Malformed {
                        message: format!("type {i} is not a function type"),
                        offset: self.offset,
                    })?;
                let p = ty
                    .params()
                    .iter()
                    .map(|&t| ir_type(t, self.offset))
                    .collect::<Result<_>>()?;
                let r = ty
                    .results()
                    .iter()
                    .map(|&t| ir_type(t, self.offset))
                    .collect::<Result<_>>()?;
                (p, r)
            }
        })
    }

    fn block_with(&mut self, tys: &[Type]) -> Block {
        let block = self.b.create_block();
        for &t in tys {
            self.b.append_block_param(block, t);
        }
        block
    }

    fn frame_at(&mut self, depth: u32) -> &mut Frame {
        let i = self.control.len() - 1 - depth as usize;
        &mut self.control[i]
    }

    /// The target block and argument count of a branch to `depth`; marks it reached.
    fn branch_target(&mut self, depth: u32) -> (Block, usize) {
        let f = self.frame_at(depth);
        if f.kind == FrameKind::Loop {
            (f.dest, f.num_params)
        } else {
            f.next_reached = true;
            (f.next, f.num_results)
        }
    }

    fn visit_block(&mut self, blockty: BlockType, kind: FrameKind) -> Result<()> {
        let (params, results) = self.block_types(blockty)?;
        let next = self.block_with(&results);
        let height = self.stack.len() - params.len();
        match kind {
            FrameKind::Loop => {
                let header = self.block_with(&params);
                let args = self.top(params.len());
                self.b.ins().jump(header, &args);
                self.b.switch_to_block(header);
                self.stack.truncate(height);
                self.stack.extend_from_slice(self.b.block_params(header));
                self.control.push(Frame {
                    kind,
                    dest: header,
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    height,
                    next_reached: false,
                });
            }
            _ => {
                self.control.push(Frame {
                    kind,
                    dest: next,
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    height,
                    next_reached: false,
                });
            }
        }
        Ok(())
    }

    fn visit_if(&mut self, blockty: BlockType) -> Result<()> {
        let cond = self.pop();
        let (params, results) = self.block_types(blockty)?;
        let next = self.block_with(&results);
        let then_block = self.block_with(&params);
        let else_block = self.block_with(&params);
        let height = self.stack.len() - params.len();
        let args = self.top(params.len());
        self.b
            .ins()
            .brif(cond, then_block, &args, else_block, &args);
        self.b.seal_block(then_block);
        self.b.seal_block(else_block);
        self.b.switch_to_block(then_block);
        self.stack.truncate(height);
        self.stack
            .extend_from_slice(self.b.block_params(then_block));
        self.control.push(Frame {
            kind: FrameKind::If {
                else_block,
                has_else: false,
            },
            dest: next,
            next,
            num_params: params.len(),
            num_results: results.len(),
            height,
            next_reached: false,
        });
        Ok(())
    }

    fn visit_else(&mut self) {
        let reachable = self.reachable;
        let n = self.control.last().expect("validated").num_results;
        if reachable {
            let args = self.top(n);
            let next = self.control.last().expect("validated").next;
            self.b.ins().jump(next, &args);
        }
        let f = self.control.last_mut().expect("validated");
        f.next_reached |= reachable;
        let FrameKind::If { else_block, .. } = f.kind else {
            unreachable!("validated: else ends an if")
        };
        f.kind = FrameKind::If {
            else_block,
            has_else: true,
        };
        let height = f.height;
        self.stack.truncate(height);
        self.b.switch_to_block(else_block);
        self.stack
            .extend_from_slice(self.b.block_params(else_block));
        self.reachable = true;
    }

    fn visit_end(&mut self) -> Result<()> {
        let mut f = self.control.pop().expect("validated");
        if self.reachable {
            let args = self.top(f.num_results);
            self.b.ins().jump(f.next, &args);
            f.next_reached = true;
        }
        if let FrameKind::If {
            else_block,
            has_else: false,
        } = f.kind
        {
            // No else: the parameters flow through (validation: same types as the results).
            self.b.switch_to_block(else_block);
            let args: Vec<BlockArg> = self
                .b
                .block_params(else_block)
                .iter()
                .map(|&v| BlockArg::Value(v))
                .collect();
            self.b.ins().jump(f.next, &args);
            f.next_reached = true;
        }
        if f.kind == FrameKind::Loop {
            self.b.seal_block(f.dest);
        }
        self.b.switch_to_block(f.next);
        self.b.seal_block(f.next);
        self.stack.truncate(f.height);
        self.stack.extend_from_slice(self.b.block_params(f.next));
        self.reachable = f.next_reached;
        if f.kind == FrameKind::Function {
            let rets = self.stack.clone();
            self.b.ins().return_(&rets);
            self.reachable = false;
        }
        Ok(())
    }

    fn visit_br_table(&mut self, targets: &wasmparser::BrTable) -> Result<()> {
        let index = self.pop();
        let depths = targets
            .targets()
            .collect::<std::result::Result<Vec<u32>, _>>()?;
        let default = targets.default();
        let (_, n) = self.branch_target(default);
        let mut calls = Vec::with_capacity(depths.len());
        if n == 0 {
            let (db, _) = self.branch_target(default);
            let pool = &mut self.b.func.dfg.value_lists;
            let def = BlockCall::new(db, [], pool);
            for &d in &depths {
                let (blk, _) = self.branch_target(d);
                let pool = &mut self.b.func.dfg.value_lists;
                calls.push(BlockCall::new(blk, [], pool));
            }
            let jt = self.b.create_jump_table(JumpTableData::new(def, &calls));
            self.b.ins().br_table(index, jt);
        } else {
            // Jump tables pass no arguments here: one edge block per distinct depth does.
            let mut edges: HashMap<u32, Block> = HashMap::new();
            let mut order = Vec::new();
            let mut edge = |d: u32, b: &mut FunctionBuilder| {
                *edges.entry(d).or_insert_with(|| {
                    order.push(d);
                    b.create_block()
                })
            };
            let def_edge = edge(default, &mut self.b);
            let tgt: Vec<Block> = depths.iter().map(|&d| edge(d, &mut self.b)).collect();
            let pool = &mut self.b.func.dfg.value_lists;
            let def = BlockCall::new(def_edge, [], pool);
            for blk in tgt {
                let pool = &mut self.b.func.dfg.value_lists;
                calls.push(BlockCall::new(blk, [], pool));
            }
            let jt = self.b.create_jump_table(JumpTableData::new(def, &calls));
            self.b.ins().br_table(index, jt);
            let args = self.top(n);
            for d in order {
                let blk = edges[&d];
                self.b.switch_to_block(blk);
                self.b.seal_block(blk);
                let (target, _) = self.branch_target(d);
                self.b.ins().jump(target, &args);
            }
        }
        self.reachable = false;
        Ok(())
    }

    // --- Operators -----------------------------------------------------------------------

    fn unop(&mut self, f: impl FnOnce(&mut FunctionBuilder, Value) -> Value) {
        let a = self.pop();
        let v = f(&mut self.b, a);
        self.push(v);
    }

    fn binop(&mut self, f: impl FnOnce(&mut FunctionBuilder, Value, Value) -> Value) {
        let (a, c) = self.pop2();
        let v = f(&mut self.b, a, c);
        self.push(v);
    }

    fn icmp(&mut self, cc: IntCC) {
        let (a, c) = self.pop2();
        let r = self.b.ins().icmp(cc, a, c);
        let v = self.b.ins().uextend(types::I32, r);
        self.push(v);
    }

    fn fcmp(&mut self, cc: FloatCC) {
        let (a, c) = self.pop2();
        let r = self.b.ins().fcmp(cc, a, c);
        let v = self.b.ins().uextend(types::I32, r);
        self.push(v);
    }

    fn eqz(&mut self) {
        let a = self.pop();
        let r = self.b.ins().icmp_imm_u(IntCC::Equal, a, 0);
        let v = self.b.ins().uextend(types::I32, r);
        self.push(v);
    }

    fn sext(&mut self, from: Type, to: Type) {
        let a = self.pop();
        let narrow = if self.b.func.dfg.value_type(a) == from {
            a
        } else {
            self.b.ins().ireduce(from, a)
        };
        let v = self.b.ins().sextend(to, narrow);
        self.push(v);
    }

    fn visit(&mut self, op: Operator) -> Result<()> {
        use Operator as O;
        use types::{F32, F64, I32, I64};
        if !self.reachable {
            match op {
                O::Block { .. } | O::Loop { .. } | O::If { .. } => self.dead_depth += 1,
                O::Else if self.dead_depth == 0 => self.visit_else(),
                O::End if self.dead_depth == 0 => self.visit_end()?,
                O::End => self.dead_depth -= 1,
                _ => {}
            }
            return Ok(());
        }
        match op {
            // Control.
            O::Unreachable => {
                self.b.ins().trap(clif_trap(TrapCode::Unreachable));
                self.reachable = false;
            }
            O::Nop => {}
            O::Block { blockty } => self.visit_block(blockty, FrameKind::Block)?,
            O::Loop { blockty } => self.visit_block(blockty, FrameKind::Loop)?,
            O::If { blockty } => self.visit_if(blockty)?,
            O::Else => self.visit_else(),
            O::End => self.visit_end()?,
            O::Br { relative_depth } => {
                let (target, n) = self.branch_target(relative_depth);
                let args = self.top(n);
                self.b.ins().jump(target, &args);
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let cond = self.pop();
                let (target, n) = self.branch_target(relative_depth);
                let args = self.top(n);
                let cont = self.b.create_block();
                self.b.ins().brif(cond, target, &args, cont, &[]);
                self.b.seal_block(cont);
                self.b.switch_to_block(cont);
            }
            O::BrTable { targets } => self.visit_br_table(&targets)?,
            O::Return => {
                let n = self.control[0].num_results;
                let rets = self.args(n);
                self.b.ins().return_(&rets);
                self.reachable = false;
            }
            O::Call { function_index } => self.call(function_index)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index, &op)?,
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                if let O::TypedSelect { ty } = op {
                    ir_type(ty, self.offset)?;
                }
                let cond = self.pop();
                let (a, c) = self.pop2();
                let v = self.b.ins().select(cond, a, c);
                self.push(v);
            }

            // Locals and globals.
            O::LocalGet { local_index } => {
                let v = self.b.use_var(self.locals[local_index as usize]);
                self.push(v);
            }
            O::LocalSet { local_index } => {
                let v = self.pop();
                self.b.def_var(self.locals[local_index as usize], v);
            }
            O::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                self.b.def_var(self.locals[local_index as usize], v);
            }
            O::GlobalGet { global_index } => {
                let (ty, mutable) = self.global_ty(global_index, &op)?;
                let (p, off) = self.def_addr(self.layout.global(global_index));
                let flags = if mutable { self.vmf } else { readonly() };
                let v = self.b.ins().load(ty, flags, p, off);
                self.push(v);
            }
            O::GlobalSet { global_index } => {
                self.global_ty(global_index, &op)?;
                let v = self.pop();
                let (p, off) = self.def_addr(self.layout.global(global_index));
                self.b.ins().store(self.vmf, v, p, off);
            }

            // Constants.
            O::I32Const { value } => {
                let v = self.b.ins().iconst(I32, i64::from(value));
                self.push(v);
            }
            O::I64Const { value } => {
                let v = self.b.ins().iconst(I64, value);
                self.push(v);
            }
            O::F32Const { value } => {
                let v = self
                    .b
                    .ins()
                    .f32const(ir::immediates::Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            O::F64Const { value } => {
                let v = self
                    .b
                    .ins()
                    .f64const(ir::immediates::Ieee64::with_bits(value.bits()));
                self.push(v);
            }

            // Integer arithmetic.
            O::I32Add | O::I64Add => self.binop(|b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.binop(|b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.binop(|b, x, y| b.ins().imul(x, y)),
            O::I32DivS | O::I64DivS => self.binop(|b, x, y| b.ins().sdiv(x, y)),
            O::I32DivU | O::I64DivU => self.binop(|b, x, y| b.ins().udiv(x, y)),
            O::I32RemS | O::I64RemS => self.binop(|b, x, y| b.ins().srem(x, y)),
            O::I32RemU | O::I64RemU => self.binop(|b, x, y| b.ins().urem(x, y)),
            O::I32And | O::I64And => self.binop(|b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.binop(|b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.binop(|b, x, y| b.ins().bxor(x, y)),
            O::I32Shl | O::I64Shl => self.binop(|b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.binop(|b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.binop(|b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.binop(|b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.binop(|b, x, y| b.ins().rotr(x, y)),
            O::I32Clz | O::I64Clz => self.unop(|b, x| b.ins().clz(x)),
            O::I32Ctz | O::I64Ctz => self.unop(|b, x| b.ins().ctz(x)),
            O::I32Popcnt | O::I64Popcnt => self.unop(|b, x| b.ins().popcnt(x)),
            O::I32Extend8S => self.sext(types::I8, I32),
            O::I32Extend16S => self.sext(types::I16, I32),
            O::I64Extend8S => self.sext(types::I8, I64),
            O::I64Extend16S => self.sext(types::I16, I64),
            O::I64Extend32S | O::I64ExtendI32S => self.sext(I32, I64),
            O::I64ExtendI32U => self.unop(|b, x| b.ins().uextend(I64, x)),
            O::I32WrapI64 => self.unop(|b, x| b.ins().ireduce(I32, x)),

            // Integer comparisons.
            O::I32Eqz | O::I64Eqz => self.eqz(),
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            // Floats.
            O::F32Add | O::F64Add => self.binop(|b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.binop(|b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.binop(|b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.binop(|b, x, y| b.ins().fdiv(x, y)),
            O::F32Min | O::F64Min => self.binop(|b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.binop(|b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => self.binop(|b, x, y| b.ins().fcopysign(x, y)),
            O::F32Sqrt | O::F64Sqrt => self.unop(|b, x| b.ins().sqrt(x)),
            O::F32Neg | O::F64Neg => self.unop(|b, x| b.ins().fneg(x)),
            O::F32Abs | O::F64Abs => self.unop(|b, x| b.ins().fabs(x)),
            O::F32Ceil | O::F64Ceil => self.unop(|b, x| b.ins().ceil(x)),
            O::F32Floor | O::F64Floor => self.unop(|b, x| b.ins().floor(x)),
            O::F32Trunc | O::F64Trunc => self.unop(|b, x| b.ins().trunc(x)),
            O::F32Nearest | O::F64Nearest => self.unop(|b, x| b.ins().nearest(x)),
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            // Conversions.
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.unop(|b, x| b.ins().fcvt_from_sint(F32, x))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.unop(|b, x| b.ins().fcvt_from_uint(F32, x))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.unop(|b, x| b.ins().fcvt_from_sint(F64, x))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.unop(|b, x| b.ins().fcvt_from_uint(F64, x))
            }
            O::F32DemoteF64 => self.unop(|b, x| b.ins().fdemote(F32, x)),
            O::F64PromoteF32 => self.unop(|b, x| b.ins().fpromote(F64, x)),
            O::I32ReinterpretF32 => self.unop(|b, x| b.ins().bitcast(I32, MemFlagsData::new(), x)),
            O::I64ReinterpretF64 => self.unop(|b, x| b.ins().bitcast(I64, MemFlagsData::new(), x)),
            O::F32ReinterpretI32 => self.unop(|b, x| b.ins().bitcast(F32, MemFlagsData::new(), x)),
            O::F64ReinterpretI64 => self.unop(|b, x| b.ins().bitcast(F64, MemFlagsData::new(), x)),
            O::I32TruncF32S | O::I32TruncF64S => self.unop(|b, x| b.ins().fcvt_to_sint(I32, x)),
            O::I32TruncF32U | O::I32TruncF64U => self.unop(|b, x| b.ins().fcvt_to_uint(I32, x)),
            O::I64TruncF32S | O::I64TruncF64S => self.unop(|b, x| b.ins().fcvt_to_sint(I64, x)),
            O::I64TruncF32U | O::I64TruncF64U => self.unop(|b, x| b.ins().fcvt_to_uint(I64, x)),
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.unop(|b, x| b.ins().fcvt_to_sint_sat(I32, x))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.unop(|b, x| b.ins().fcvt_to_uint_sat(I32, x))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.unop(|b, x| b.ins().fcvt_to_sint_sat(I64, x))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.unop(|b, x| b.ins().fcvt_to_uint_sat(I64, x))
            }

            // Memory.
            O::I32Load { memarg }
            | O::I64Load { memarg }
            | O::F32Load { memarg }
            | O::F64Load { memarg }
            | O::I32Load8S { memarg }
            | O::I32Load8U { memarg }
            | O::I32Load16S { memarg }
            | O::I32Load16U { memarg }
            | O::I64Load8S { memarg }
            | O::I64Load8U { memarg }
            | O::I64Load16S { memarg }
            | O::I64Load16U { memarg }
            | O::I64Load32S { memarg }
            | O::I64Load32U { memarg } => self.load(&memarg, &op)?,
            O::I32Store { memarg }
            | O::I64Store { memarg }
            | O::F32Store { memarg }
            | O::F64Store { memarg }
            | O::I32Store8 { memarg }
            | O::I64Store8 { memarg }
            | O::I32Store16 { memarg }
            | O::I64Store16 { memarg }
            | O::I64Store32 { memarg } => self.store(&memarg, &op)?,
            O::MemorySize { mem } => {
                self.check_memory(mem, &op)?;
                let (p, off) = self.def_addr(self.layout.memory(mem));
                let len = self.b.ins().load(I64, self.vmf, p, off + 8);
                let pages = self.b.ins().ushr_imm_u(len, 16);
                let v = self.b.ins().ireduce(I32, pages);
                self.push(v);
            }
            O::MemoryGrow { mem } => {
                self.check_memory(mem, &op)?;
                self.builtin(BuiltinId::MemoryGrow, &[mem], 1, Some(I32));
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                self.check_memory(dst_mem, &op)?;
                self.check_memory(src_mem, &op)?;
                self.builtin(BuiltinId::MemoryCopy, &[dst_mem, src_mem], 3, None);
            }
            O::MemoryFill { mem } => {
                self.check_memory(mem, &op)?;
                self.builtin(BuiltinId::MemoryFill, &[mem], 3, None);
            }
            O::MemoryInit { data_index, mem } => {
                self.check_memory(mem, &op)?;
                self.builtin(BuiltinId::MemoryInit, &[mem, data_index], 3, None);
            }
            O::DataDrop { data_index } => self.builtin(BuiltinId::DataDrop, &[data_index], 0, None),

            // References and tables.
            O::RefNull { .. } => {
                let v = self.b.ins().iconst(I64, 0);
                self.push(v);
            }
            O::RefIsNull => self.eqz(),
            O::RefFunc { function_index } => {
                let off = self.layout.funcref(function_index);
                let v = self.b.ins().iadd_imm_u(self.vmctx, i64::from(off));
                self.push(v);
            }
            O::TableGet { table } => {
                self.check_table(table, &op)?;
                let index = self.pop();
                let addr = self.table_element(table, index, TrapCode::TableOutOfBounds);
                let v = self.b.ins().load(I64, self.elemf, addr, 0);
                self.push(v);
            }
            O::TableSet { table } => {
                self.check_table(table, &op)?;
                let value = self.pop();
                let index = self.pop();
                let addr = self.table_element(table, index, TrapCode::TableOutOfBounds);
                self.b.ins().store(self.elemf, value, addr, 0);
            }
            O::TableSize { table } => {
                self.check_table(table, &op)?;
                let (p, off) = self.def_addr(self.layout.table(table));
                let v = self.b.ins().load(I32, self.vmf, p, off + 8);
                self.push(v);
            }
            O::TableGrow { table } => {
                self.check_table(table, &op)?;
                self.builtin(BuiltinId::TableGrow, &[table], 2, Some(I32));
            }
            O::TableFill { table } => {
                self.check_table(table, &op)?;
                self.builtin(BuiltinId::TableFill, &[table], 3, None);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                self.check_table(dst_table, &op)?;
                self.check_table(src_table, &op)?;
                self.builtin(BuiltinId::TableCopy, &[dst_table, src_table], 3, None);
            }
            O::TableInit { elem_index, table } => {
                self.check_table(table, &op)?;
                self.builtin(BuiltinId::TableInit, &[table, elem_index], 3, None);
            }
            O::ElemDrop { elem_index } => self.builtin(BuiltinId::ElemDrop, &[elem_index], 0, None),

            other => return Err(unsupported(&other, self.offset)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trap_code_round_trips_through_cranelift() {
        let mut seen = std::collections::HashSet::new();
        for code in TrapCode::ALL {
            let clif = clif_trap(code);
            assert!(seen.insert(clif), "{code:?} shares a Cranelift code");
            assert_eq!(kiln_trap(clif), Some(code));
        }
        assert_eq!(kiln_trap(ClifTrap::unwrap_user(1)), None);
    }
}
