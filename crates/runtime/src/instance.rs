//! Instances: linking imports, building the `VMContext`, initializing tables, memories and
//! globals from the module's segments and constant expressions, and running the start
//! function.
//!
//! Instantiation follows WebAssembly 2.0: imports are resolved by name and type-checked
//! ([`LinkError`]); globals, then tables, are initialized from constant expressions (extended
//! constant expressions included); active element segments, then active data segments, are
//! applied in order, and the first one out of bounds traps, leaving the writes of the earlier
//! ones in place (they may be visible through imported tables and memories); then the start
//! function runs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use kiln_abi::{
    Place, TrapCode, VMContextLayout, VMFuncRef, VMFunctionImport, VMGlobal, VMMemoryDefinition,
    VMTableDefinition,
};
use kiln_code_manager::NativeModule;
use kiln_decoder::{
    ConstExpr, ConstOp, DataKind, ElementItems, ElementKind, ExternKind, ImportType, Module,
};

use crate::host_func::{self, HostCallCtx};
use crate::memory::MemoryData;
use crate::store::StoreInner;
use crate::table::TableData;
use crate::vmcontext::VMContextBlock;
use crate::{Func, Global, Memory, Store, Table, Trap};

/// Something an instance can import or export.
#[derive(Clone, Debug)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A linear memory.
    Memory(Memory),
    /// A table.
    Table(Table),
    /// A global.
    Global(Global),
}

impl Extern {
    fn kind(&self) -> ExternKind {
        match self {
            Extern::Func(_) => ExternKind::Func,
            Extern::Memory(_) => ExternKind::Memory,
            Extern::Table(_) => ExternKind::Table,
            Extern::Global(_) => ExternKind::Global,
        }
    }
}

/// Named definitions that instances import from: `(module name, field name) → Extern`.
#[derive(Clone, Debug, Default)]
pub struct Imports {
    map: HashMap<(String, String), Extern>,
}

impl Imports {
    /// No definitions.
    pub fn new() -> Imports {
        Imports::default()
    }

    /// Defines `module`.`name` (replacing an earlier definition).
    pub fn define(&mut self, module: &str, name: &str, item: impl Into<Extern>) -> &mut Imports {
        self.map
            .insert((module.to_string(), name.to_string()), item.into());
        self
    }

    /// Defines every export of `instance` under module name `module`.
    pub fn define_instance(&mut self, module: &str, instance: &Instance) -> &mut Imports {
        for export in &instance.data().module.exports {
            if let Some(item) = instance.get_export(&export.name) {
                self.define(module, &export.name, item);
            }
        }
        self
    }

    /// The definition of `module`.`name`.
    pub fn get(&self, module: &str, name: &str) -> Option<&Extern> {
        self.map.get(&(module.to_string(), name.to_string()))
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}

/// Why imports could not be linked. The messages start like the spec testsuite's
/// `assert_unlinkable` texts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Nothing is defined under the import's names.
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// The definition's kind, type or limits do not match the import.
    IncompatibleImportType {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
        /// What differs.
        reason: String,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::UnknownImport { module, name } => {
                write!(f, "unknown import: {module:?} {name:?}")
            }
            LinkError::IncompatibleImportType {
                module,
                name,
                reason,
            } => write!(f, "incompatible import type: {module:?} {name:?}: {reason}"),
        }
    }
}

impl std::error::Error for LinkError {}

/// Why [`Instance::new`] failed.
#[derive(Clone, Debug)]
pub enum InstantiationError {
    /// Imports did not link.
    Link(LinkError),
    /// A segment was out of bounds, or the start function trapped.
    Trap(Trap),
    /// A memory or table could not be created (size limits, address space).
    Resource(String),
}

impl fmt::Display for InstantiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiationError::Link(e) => e.fmt(f),
            InstantiationError::Trap(t) => t.fmt(f),
            InstantiationError::Resource(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for InstantiationError {}

/// The runtime's record of an instance. Lives in its store at a stable address, which the
/// `VMContext` header points to.
pub(crate) struct InstanceData {
    pub runtime: crate::Runtime,
    pub module: Arc<Module>,
    pub native: NativeModule,
    pub layout: VMContextLayout,
    block: VMContextBlock,
    pub vmctx: *mut u8,
    pub memories: Vec<*mut MemoryData>,
    pub tables: Vec<*mut TableData>,
    pub globals: Vec<*mut VMGlobal>,
    #[allow(
        clippy::vec_box,
        reason = "generated code holds the contexts' addresses"
    )]
    host_ctxs: Vec<Box<HostCallCtx>>,
    /// Element segments still available to `table.init` (None once dropped).
    pub elements: RefCell<Vec<Option<Vec<usize>>>>,
    /// Data segments dropped by `data.drop` or instantiation.
    pub dropped_data: RefCell<Vec<bool>>,
    /// What the embedder keeps alive as long as the instance ([`Instance::keep_alive`]).
    owners: RefCell<Vec<Arc<dyn std::any::Any + Send + Sync>>>,
}

impl InstanceData {
    fn at<T>(&self, offset: u32) -> *mut T {
        self.block.at(offset)
    }

    pub(crate) fn funcref(&self, func_index: u32) -> *mut VMFuncRef {
        self.at(self.layout.funcref(func_index))
    }

    /// The tier-up budget field of defined function `func_index`, if it is one.
    fn tier_up_budget_field(&self, func_index: u32) -> Option<*mut i32> {
        let defined = func_index
            .checked_sub(self.module.num_imported_functions)
            .filter(|&d| d < self.module.num_defined_functions())?;
        Some(self.at::<i32>(self.layout.tier_up_budget(defined)))
    }

    /// The remaining tier-up budget of defined function `func_index`.
    pub(crate) fn tier_up_budget(&self, func_index: u32) -> Option<i32> {
        let field = self.tier_up_budget_field(func_index)?;
        // SAFETY: the field is inside the block; code of this store runs on this thread only,
        // and not while the runtime runs here.
        Some(unsafe { field.read() })
    }

    /// Sets the tier-up budget of defined function `func_index`; false if it is not one.
    pub(crate) fn set_tier_up_budget(&self, func_index: u32, budget: i32) -> bool {
        let Some(field) = self.tier_up_budget_field(func_index) else {
            return false;
        };
        // SAFETY: as in `tier_up_budget`.
        unsafe { field.write(budget) };
        true
    }

    /// The bytes of data segment `index` (empty once dropped).
    pub(crate) fn data_segment(&self, index: u32) -> &[u8] {
        if self.dropped_data.borrow()[index as usize] {
            return &[];
        }
        &self.module.wire_bytes[self.module.data[index as usize].range.clone()]
    }

    fn eval(&self, expr: &ConstExpr) -> Result<u128, InstantiationError> {
        // A single instruction, the only form before extended constant expressions, needs
        // no stack: data and element segments evaluate one each, and modules have 100,000.
        if let [op] = expr.ops.as_slice() {
            return self.eval_leaf(*op);
        }
        let mut stack: Vec<u128> = Vec::with_capacity(4);
        for op in &expr.ops {
            let v = match *op {
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let b = stack.pop().expect("validated") as u32;
                    let a = stack.pop().expect("validated") as u32;
                    u128::from(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let b = stack.pop().expect("validated") as u64;
                    let a = stack.pop().expect("validated") as u64;
                    u128::from(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                leaf => self.eval_leaf(leaf)?,
            };
            stack.push(v);
        }
        Ok(stack.pop().unwrap_or(0))
    }

    /// The value of an instruction that takes no operands.
    fn eval_leaf(&self, op: ConstOp) -> Result<u128, InstantiationError> {
        Ok(match op {
            ConstOp::I32Const(v) => u128::from(v as u32),
            ConstOp::I64Const(v) => u128::from(v as u64),
            ConstOp::F32Const(bits) => u128::from(bits),
            ConstOp::F64Const(bits) => u128::from(bits),
            ConstOp::V128Const(bytes) => u128::from_le_bytes(bytes),
            ConstOp::RefNull(_) => 0,
            ConstOp::RefFunc(f) => self.funcref(f) as usize as u128,
            ConstOp::GlobalGet(g) => {
                // SAFETY: global storage lives as long as the store.
                u128::from_le_bytes(unsafe { (*self.globals[g as usize]).0 })
            }
            ConstOp::Unsupported(offset) => {
                return Err(InstantiationError::Resource(format!(
                    "unsupported constant instruction at offset {offset:#x}"
                )));
            }
            binary => unreachable!("validated: {binary:?} has operands"),
        })
    }

    pub(crate) fn get_export(&self, store: &Rc<StoreInner>, name: &str) -> Option<Extern> {
        let export = self.module.export(name)?;
        let i = export.index as usize;
        Some(match export.kind {
            ExternKind::Func => Extern::Func(Func::from_funcref(store, self.funcref(export.index))),
            ExternKind::Memory => Extern::Memory(Memory {
                store: store.clone(),
                data: self.memories[i],
            }),
            ExternKind::Table => Extern::Table(Table {
                store: store.clone(),
                data: self.tables[i],
            }),
            ExternKind::Global => Extern::Global(Global {
                store: store.clone(),
                ptr: self.globals[i],
                ty: self.module.globals[i].ty,
            }),
            ExternKind::Tag => return None,
        })
    }
}

/// A handle to an instance of a module in a store.
#[derive(Clone)]
pub struct Instance {
    store: Rc<StoreInner>,
    data: *const InstanceData,
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("native_module", &self.data().native.id())
            .finish_non_exhaustive()
    }
}

fn incompatible(module: &str, name: &str, reason: impl Into<String>) -> LinkError {
    LinkError::IncompatibleImportType {
        module: module.to_string(),
        name: name.to_string(),
        reason: reason.into(),
    }
}

fn limits_match(
    actual_min: u64,
    actual_max: Option<u64>,
    wanted_min: u64,
    wanted_max: Option<u64>,
) -> bool {
    actual_min >= wanted_min
        && match wanted_max {
            None => true,
            Some(w) => actual_max.is_some_and(|a| a <= w),
        }
}

impl Instance {
    /// Instantiates `module`, whose code is (or will lazily be) in `native_module`, with
    /// `imports` resolved by name.
    ///
    /// `native_module` must have been created for `module` (`module.num_imported_functions`
    /// imported, `module.num_defined_functions()` declared); each defined function's funcref
    /// and `ref.func` value point at its jump-table slot. Cost: O(module size) plus the
    /// segments' bytes.
    pub fn new(
        store: &Store,
        module: &Arc<Module>,
        native_module: &NativeModule,
        imports: &Imports,
    ) -> Result<Instance, InstantiationError> {
        let inner = &store.inner;
        let runtime = &inner.runtime;
        assert_eq!(
            (
                native_module.imported_functions(),
                native_module.declared_functions()
            ),
            (
                module.num_imported_functions,
                module.num_defined_functions()
            ),
            "the native module was not created for this module"
        );

        // 1. Resolve and check imports.
        let mut resolved = Vec::with_capacity(module.imports.len());
        for import in &module.imports {
            let (m, n) = (import.module.as_str(), import.name.as_str());
            let item = imports
                .get(m, n)
                .ok_or_else(|| LinkError::UnknownImport {
                    module: m.to_string(),
                    name: n.to_string(),
                })
                .map_err(InstantiationError::Link)?;
            if item.kind() != import.ty.kind() {
                return Err(InstantiationError::Link(incompatible(
                    m,
                    n,
                    format!("expected {:?}, found {:?}", import.ty.kind(), item.kind()),
                )));
            }
            let ok = match (&import.ty, item) {
                (ImportType::Func(ti), Extern::Func(f)) => {
                    Some(&*f.ty) == module.func_type(*ti) && Rc::ptr_eq(&f.store, inner)
                }
                (ImportType::Memory(want), Extern::Memory(mem)) => {
                    let have = mem.ty();
                    have.memory64 == want.memory64
                        && have.shared == want.shared
                        && limits_match(mem.size(), have.maximum, want.initial, want.maximum)
                }
                (ImportType::Table(want), Extern::Table(t)) => {
                    let have = t.ty();
                    have.element_type == want.element_type
                        && have.table64 == want.table64
                        && limits_match(t.size(), have.maximum, want.initial, want.maximum)
                }
                (ImportType::Global(want), Extern::Global(g)) => {
                    g.ty.content_type == want.content_type && g.ty.mutable == want.mutable
                }
                _ => false,
            };
            if !ok {
                return Err(InstantiationError::Link(incompatible(
                    m,
                    n,
                    "type or limits differ",
                )));
            }
            resolved.push(item.clone());
        }

        // 2. The VMContext block and the instance record.
        let layout = VMContextLayout::new(module);
        let block = VMContextBlock::new(&layout);
        let vmctx = block.base();
        let num_elements = module.elements.len();
        let mut data = Box::new(InstanceData {
            runtime: runtime.clone(),
            module: module.clone(),
            native: native_module.clone(),
            layout,
            block,
            vmctx,
            memories: Vec::with_capacity(module.memories.len()),
            tables: Vec::with_capacity(module.tables.len()),
            globals: Vec::with_capacity(module.globals.len()),
            host_ctxs: Vec::new(),
            elements: RefCell::new(vec![None; num_elements]),
            dropped_data: RefCell::new(vec![false; module.data.len()]),
            owners: RefCell::new(Vec::new()),
        });
        let this: *const InstanceData = &*data;
        data.block
            .write_header(inner.stack_limit(), runtime.builtin_table(), this.cast());
        let sig_ids: Vec<u32> = (0..module.types.len() as u32)
            .map(|ti| {
                module
                    .func_type(ti)
                    .map_or(u32::MAX, |ft| runtime.signatures().register(ft))
            })
            .collect();
        for (ti, &id) in sig_ids.iter().enumerate() {
            // SAFETY: the offset is inside the block, for a u32.
            unsafe { *data.at::<u32>(data.layout.signature_id(ti as u32)) = id };
        }
        for d in 0..module.num_defined_functions() {
            // SAFETY: as above, for an i32.
            unsafe {
                *data.at::<i32>(data.layout.tier_up_budget(d)) = runtime.config().tier_up_budget
            };
        }

        // 3. Functions: imports, then funcrefs of every function.
        let mut imported_funcs = resolved.iter().filter_map(|e| match e {
            Extern::Func(f) => Some(f),
            _ => None,
        });
        for i in 0..module.functions.len() as u32 {
            let type_id = sig_ids[module.functions[i as usize].type_index as usize];
            let (code, vmctx_arg) = if i < module.num_imported_functions {
                let f = imported_funcs.next().expect("one Func per function import");
                // SAFETY: funcrefs live as long as their store.
                let (code, callee_vmctx) = unsafe { ((*f.funcref).code, (*f.funcref).vmctx) };
                let callee_vmctx = match host_func::context_for_import(f, this) {
                    Some(ctx) => {
                        let p = (&*ctx as *const HostCallCtx).cast_mut().cast::<u8>();
                        data.host_ctxs.push(ctx);
                        p
                    }
                    None => callee_vmctx,
                };
                // SAFETY: the offset is inside the block, for a VMFunctionImport.
                unsafe {
                    *data.at::<VMFunctionImport>(data.layout.imported_function(i)) =
                        VMFunctionImport {
                            code,
                            vmctx: callee_vmctx,
                        }
                };
                (code, callee_vmctx)
            } else {
                let slot = native_module
                    .jump_table_slot(i)
                    .expect("declared functions have slots");
                (slot as *const u8, vmctx)
            };
            // SAFETY: the offset is inside the block, for a VMFuncRef.
            unsafe {
                *data.funcref(i) = VMFuncRef {
                    code,
                    type_id,
                    _pad: 0,
                    vmctx: vmctx_arg,
                }
            };
        }

        // 4. Memories.
        let mut imported = resolved.iter();
        for (index, ty) in module.memories.iter().enumerate() {
            let index = index as u32;
            let mem = if index < module.num_imported_memories {
                let Some(Extern::Memory(m)) = imported.find(|e| matches!(e, Extern::Memory(_)))
                else {
                    unreachable!("checked while linking")
                };
                m.data
            } else {
                let mem = MemoryData::new(*ty, runtime.config().bounds_checks)
                    .map_err(InstantiationError::Resource)?;
                inner.add_memory(mem)
            };
            match data.layout.memory(index) {
                // SAFETY: the offsets are inside the block; the memory record lives as long
                // as the store.
                Place::Imported(off) => unsafe {
                    *data.at::<*mut VMMemoryDefinition>(off) = &mut *(*mem).def
                },
                // SAFETY: as above.
                Place::Inline(off) => unsafe { (*mem).set_mirror(data.at(off)) },
            }
            data.memories.push(mem);
        }

        // 5. Globals (they may refer to imported globals and to functions).
        let mut imported = resolved.iter();
        for (index, global) in module.globals.iter().enumerate() {
            let index = index as u32;
            let ptr = match data.layout.global(index) {
                Place::Imported(off) => {
                    let Some(Extern::Global(g)) = imported.find(|e| matches!(e, Extern::Global(_)))
                    else {
                        unreachable!("checked while linking")
                    };
                    // SAFETY: the offset is inside the block.
                    unsafe { *data.at::<*mut VMGlobal>(off) = g.ptr };
                    g.ptr
                }
                Place::Inline(off) => {
                    let init = global
                        .init
                        .as_ref()
                        .expect("defined globals have initializers");
                    let value = data.eval(init)?;
                    let p = data.at::<VMGlobal>(off);
                    // SAFETY: the offset is inside the block and 16-aligned.
                    unsafe { *p = VMGlobal(value.to_le_bytes()) };
                    p
                }
            };
            data.globals.push(ptr);
        }

        // 6. Tables.
        let mut imported = resolved.iter();
        for (index, table) in module.tables.iter().enumerate() {
            let index = index as u32;
            let t = if index < module.num_imported_tables {
                let Some(Extern::Table(t)) = imported.find(|e| matches!(e, Extern::Table(_)))
                else {
                    unreachable!("checked while linking")
                };
                t.data
            } else {
                let init = match &table.init {
                    Some(expr) => data.eval(expr)? as usize,
                    None => 0,
                };
                let t = TableData::new(table.ty, init).map_err(InstantiationError::Resource)?;
                inner.add_table(t)
            };
            match data.layout.table(index) {
                // SAFETY: the offsets are inside the block; the table record lives as long as
                // the store.
                Place::Imported(off) => unsafe {
                    *data.at::<*mut VMTableDefinition>(off) = &mut *(*t).def
                },
                // SAFETY: as above.
                Place::Inline(off) => unsafe { (*t).set_mirror(data.at(off)) },
            }
            data.tables.push(t);
        }

        // 7. Element segment items.
        let mut items = Vec::with_capacity(module.elements.len());
        for segment in &module.elements {
            let values: Vec<usize> = match &segment.items {
                ElementItems::Functions(fs) => {
                    fs.iter().map(|&f| data.funcref(f) as usize).collect()
                }
                ElementItems::Expressions(es) => es
                    .iter()
                    .map(|e| data.eval(e).map(|v| v as usize))
                    .collect::<Result<_, _>>()?,
            };
            items.push(values);
        }

        let data_ptr = inner.add_instance(data);
        let instance = Instance {
            store: inner.clone(),
            data: data_ptr,
        };
        let data = instance.data();

        // 8. Active element segments, then active data segments, in order.
        for (i, (segment, values)) in module.elements.iter().zip(items).enumerate() {
            match &segment.kind {
                ElementKind::Passive => data.elements.borrow_mut()[i] = Some(values),
                ElementKind::Declared => {}
                ElementKind::Active { table, offset } => {
                    let offset = data.eval(offset)? as u64;
                    // SAFETY: table records live as long as the store; nothing else holds a
                    // reference to this one now.
                    let t = data.tables[*table as usize];
                    // SAFETY: see above.
                    let t = unsafe { &mut *t };
                    let dst = t
                        .range(offset, values.len() as u64)
                        .ok_or_else(|| trap(TrapCode::TableOutOfBounds))?;
                    dst.copy_from_slice(&values);
                }
            }
        }
        for (i, segment) in module.data.iter().enumerate() {
            if let DataKind::Active { memory, offset } = &segment.kind {
                let offset = data.eval(offset)? as u64;
                let bytes = &module.wire_bytes[segment.range.clone()];
                let mem = data.memories[*memory as usize];
                // SAFETY: memory records live as long as the store; no other reference to this
                // one is live.
                let mem = unsafe { &mut *mem };
                let dst = mem
                    .slice_mut(offset, bytes.len() as u64)
                    .ok_or_else(|| trap(TrapCode::MemoryOutOfBounds))?;
                dst.copy_from_slice(bytes);
                data.dropped_data.borrow_mut()[i] = true;
            }
        }

        // 9. The start function.
        if let Some(start) = module.start {
            let f = Func::from_funcref(inner, data.funcref(start));
            f.call(&[]).map_err(InstantiationError::Trap)?;
        }
        Ok(instance)
    }

    pub(crate) fn data(&self) -> &InstanceData {
        // SAFETY: instances live as long as their store, which `self.store` keeps alive.
        unsafe { &*self.data }
    }

    /// Keeps `owner` alive as long as the instance (its store) lives: an engine ties the
    /// compiled module that lazily compiles this instance's functions to it this way.
    pub fn keep_alive(&self, owner: Arc<dyn std::any::Any + Send + Sync>) {
        self.data().owners.borrow_mut().push(owner);
    }

    /// The module this is an instance of.
    pub fn module(&self) -> &Arc<Module> {
        &self.data().module
    }

    /// The address of the instance's `VMContext` block.
    pub fn vmctx(&self) -> *mut u8 {
        self.data().vmctx
    }

    /// The export `name`, if any.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        self.data().get_export(&self.store, name)
    }

    /// The exported function `name`.
    pub fn get_func(&self, name: &str) -> Option<Func> {
        match self.get_export(name)? {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, name: &str) -> Option<Memory> {
        match self.get_export(name)? {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The exported table `name`.
    pub fn get_table(&self, name: &str) -> Option<Table> {
        match self.get_export(name)? {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The exported global `name`.
    pub fn get_global(&self, name: &str) -> Option<Global> {
        match self.get_export(name)? {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    /// Function `index` of the instance's function index space, exported or not.
    pub fn func_by_index(&self, index: u32) -> Option<Func> {
        if index as usize >= self.data().module.functions.len() {
            return None;
        }
        Some(Func::from_funcref(&self.store, self.data().funcref(index)))
    }

    /// The remaining tier-up budget of defined function `func_index` in this instance, or
    /// `None` if the module does not define it. Generated code with tier-up checks subtracts
    /// from it and calls the `TierUp` builtin when it goes negative.
    pub fn tier_up_budget(&self, func_index: u32) -> Option<i32> {
        self.data().tier_up_budget(func_index)
    }

    /// Sets the tier-up budget of defined function `func_index` in this instance (for example
    /// to restart counting after the engine flushed or replaced its code); false if the module
    /// does not define it.
    pub fn set_tier_up_budget(&self, func_index: u32, budget: i32) -> bool {
        self.data().set_tier_up_budget(func_index, budget)
    }

    /// Memory `index` of the instance, exported or not.
    pub fn memory_by_index(&self, index: u32) -> Option<Memory> {
        Some(Memory {
            store: self.store.clone(),
            data: *self.data().memories.get(index as usize)?,
        })
    }
}

fn trap(code: TrapCode) -> InstantiationError {
    InstantiationError::Trap(Trap::from_code(code))
}
