//! [`Store`]: owns instances, memories, tables, globals and host functions.
//!
//! Everything created in a store lives until the store (and every handle to it) is dropped,
//! as in Wasmtime: funcrefs in tables and imported memories refer to other instances' data by
//! address, so nothing is freed piecemeal. Memory reservations are released then, and the
//! instances' native-module handles are dropped (so their code spaces can go too): once the
//! store and every handle into it (`Instance`, `Func`, `Memory`, `Table`, `Global`, `Store`
//! clones, funcref `Value`s) are gone, [`crate::live_memory_reservations`] is back to where it
//! was. Handles count as owners, so a host function that captures a handle of its own store
//! makes a cycle that is never freed: reach the instance through [`crate::Caller`] instead. A
//! store is single-threaded (`!Send`); use one store per thread.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use kiln_abi::{VMContextLayout, VMGlobal};
use kiln_decoder::Module;

use crate::host_func::HostFuncData;
use crate::instance::InstanceData;
use crate::memory::MemoryData;
use crate::table::TableData;
use crate::{Backtrace, FrameInfo, Runtime};

#[allow(
    clippy::vec_box,
    reason = "generated code and handles hold the records' addresses: they must not move"
)]
pub(crate) struct StoreInner {
    pub runtime: Runtime,
    pub instances: RefCell<Vec<Box<InstanceData>>>,
    memories: RefCell<Vec<Box<MemoryData>>>,
    tables: RefCell<Vec<Box<TableData>>>,
    globals: RefCell<Vec<Box<VMGlobal>>>,
    pub host_funcs: RefCell<Vec<Box<HostFuncData>>>,
    /// The stack limit last written to every instance's `VMContext`.
    stack_limit: Cell<usize>,
    /// Module of each native module id instantiated here, for backtraces.
    modules: RefCell<HashMap<u64, Arc<Module>>>,
}

impl StoreInner {
    pub(crate) fn add_memory(&self, data: MemoryData) -> *mut MemoryData {
        let mut b = Box::new(data);
        let p: *mut MemoryData = &mut *b;
        self.memories.borrow_mut().push(b);
        p
    }

    pub(crate) fn add_table(&self, data: TableData) -> *mut TableData {
        let mut b = Box::new(data);
        let p: *mut TableData = &mut *b;
        self.tables.borrow_mut().push(b);
        p
    }

    pub(crate) fn add_global(&self, value: VMGlobal) -> *mut VMGlobal {
        let mut b = Box::new(value);
        let p: *mut VMGlobal = &mut *b;
        self.globals.borrow_mut().push(b);
        p
    }

    pub(crate) fn add_instance(&self, data: Box<InstanceData>) -> *const InstanceData {
        let p: *const InstanceData = &*data;
        self.modules
            .borrow_mut()
            .insert(data.native.id(), data.module.clone());
        self.instances.borrow_mut().push(data);
        p
    }

    pub(crate) fn stack_limit(&self) -> usize {
        self.stack_limit.get()
    }

    /// Writes `limit` to the stack-limit field of every instance if it changed.
    pub(crate) fn set_stack_limit(&self, limit: usize) {
        if self.stack_limit.replace(limit) == limit {
            return;
        }
        for instance in self.instances.borrow().iter() {
            // SAFETY: the VMContext block is owned by the instance and at least the header
            // long; generated code on this thread is not running concurrently.
            unsafe {
                *(instance.vmctx.add(VMContextLayout::STACK_LIMIT as usize) as *mut usize) = limit
            };
        }
    }

    /// Maps recorded pcs to frames. Call while the code is alive (inside the execution scope
    /// of the call that trapped).
    pub(crate) fn resolve_backtrace(&self, pcs: &[usize]) -> Backtrace {
        let modules = self.modules.borrow();
        let frames = pcs
            .iter()
            .filter_map(|&pc| {
                let found = kiln_code_manager::lookup(pc)?;
                let func_index = found.code().index()?;
                let module = modules.get(&found.module_id());
                Some(FrameInfo {
                    module_hash: module.map_or(0, |m| m.hash),
                    func_index,
                    func_name: module
                        .and_then(|m| m.function_name(func_index))
                        .map(str::to_string),
                    wasm_offset: found.wasm_offset(),
                })
            })
            .collect();
        Backtrace { frames }
    }
}

/// Owner of everything instantiated with it; see the module docs.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Rc<StoreInner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("instances", &self.inner.instances.borrow().len())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// An empty store using `runtime`.
    pub fn new(runtime: &Runtime) -> Store {
        Store {
            inner: Rc::new(StoreInner {
                runtime: runtime.clone(),
                instances: RefCell::new(Vec::new()),
                memories: RefCell::new(Vec::new()),
                tables: RefCell::new(Vec::new()),
                globals: RefCell::new(Vec::new()),
                host_funcs: RefCell::new(Vec::new()),
                stack_limit: Cell::new(0),
                modules: RefCell::new(HashMap::new()),
            }),
        }
    }

    /// The runtime this store uses.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// Sets the tier-up budget of every defined function to `budget` in every instance of this
    /// store whose code is native module `module_id`
    /// ([`kiln_code_manager::NativeModule::id`]); returns how many instances that was. A store
    /// belongs to one thread, so an engine resets budgets for all isolates by asking each
    /// thread to do it for its stores. Cost: O(instances + their functions).
    pub fn reset_tier_up_budgets(&self, module_id: u64, budget: i32) -> usize {
        let instances = self.inner.instances.borrow();
        let mut count = 0;
        for instance in instances.iter().filter(|i| i.native.id() == module_id) {
            let first = instance.module.num_imported_functions;
            for f in first..first + instance.module.num_defined_functions() {
                instance.set_tier_up_budget(f, budget);
            }
            count += 1;
        }
        count
    }

    pub(crate) fn from_inner(inner: &Rc<StoreInner>) -> Store {
        Store {
            inner: inner.clone(),
        }
    }
}
