//! Tables of `funcref` and `externref`.
//!
//! Elements are pointer-sized: a funcref element is a `*const VMFuncRef` (null for
//! `ref.null`), an externref element is the host's handle (0 for null). The elements live in
//! a vector whose address the [`kiln_abi::VMTableDefinition`] publishes; growth may move it,
//! and updates the definition importers point to and the defining instance's inline copy.

use std::rc::Rc;

use kiln_abi::{TrapCode, VMTableDefinition};
use kiln_decoder::TableType;

use crate::store::StoreInner;
use crate::{Store, Trap, Value};

/// Most elements a table may have in this runtime.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// The runtime's record of one table. Lives in a store at a stable address.
pub(crate) struct TableData {
    pub ty: TableType,
    pub elements: Vec<usize>,
    max: u64,
    pub def: Box<VMTableDefinition>,
    pub mirror: *mut VMTableDefinition,
}

impl TableData {
    pub(crate) fn new(ty: TableType, init: usize) -> Result<TableData, String> {
        let max = ty
            .maximum
            .unwrap_or(MAX_TABLE_ELEMENTS)
            .min(MAX_TABLE_ELEMENTS);
        if ty.initial > max {
            return Err(format!(
                "table of {} elements exceeds the limit of {max}",
                ty.initial
            ));
        }
        let mut t = TableData {
            ty,
            elements: vec![init; ty.initial as usize],
            max,
            def: Box::new(VMTableDefinition {
                base: std::ptr::null_mut(),
                length: 0,
                _pad: 0,
            }),
            mirror: std::ptr::null_mut(),
        };
        t.sync();
        Ok(t)
    }

    fn sync(&mut self) {
        self.def.base = self.elements.as_mut_ptr();
        self.def.length = self.elements.len() as u32;
        if !self.mirror.is_null() {
            // SAFETY: the mirror is the defining instance's inline definition, which lives as
            // long as the store, like this table.
            unsafe {
                (*self.mirror).base = self.def.base;
                (*self.mirror).length = self.def.length;
            }
        }
    }

    pub(crate) fn set_mirror(&mut self, mirror: *mut VMTableDefinition) {
        self.mirror = mirror;
        self.sync();
    }

    /// `table.grow`: the previous size, or `None`.
    pub(crate) fn grow(&mut self, delta: u64, init: usize) -> Option<u64> {
        let old = self.elements.len() as u64;
        let new = old.checked_add(delta).filter(|&n| n <= self.max)?;
        self.elements.resize(new as usize, init);
        self.sync();
        Some(old)
    }

    /// The elements `[start, start + len)`, or `None` if out of bounds.
    pub(crate) fn range(&mut self, start: u64, len: u64) -> Option<&mut [usize]> {
        let end = start.checked_add(len)?;
        if end > self.elements.len() as u64 {
            return None;
        }
        Some(&mut self.elements[start as usize..end as usize])
    }
}

/// A handle to a table of a store.
#[derive(Clone)]
pub struct Table {
    pub(crate) store: Rc<StoreInner>,
    pub(crate) data: *mut TableData,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("ty", &self.ty())
            .field("size", &self.size())
            .finish()
    }
}

impl Table {
    /// A new table of type `ty` with every element `init`, owned by `store`.
    pub fn new(store: &Store, ty: TableType, init: Value) -> Result<Table, String> {
        if !init.matches(kiln_decoder::ValType::Ref(ty.element_type))
            || !init.belongs_to(&store.inner)
        {
            return Err("table initializer does not match the element type".to_string());
        }
        let data = TableData::new(ty, init.to_raw() as usize)?;
        let data = store.inner.add_table(data);
        Ok(Table {
            store: store.inner.clone(),
            data,
        })
    }

    #[allow(
        clippy::mut_from_ref,
        reason = "the record is owned by the single-threaded store and the reference does not \
                  outlive the calling method"
    )]
    fn get_data(&self) -> &mut TableData {
        // SAFETY: tables live as long as their store, which `self.store` keeps alive; the
        // store is single-threaded and no other reference to the record is held across this.
        unsafe { &mut *self.data }
    }

    /// The table's type.
    pub fn ty(&self) -> TableType {
        self.get_data().ty
    }

    /// Number of elements.
    pub fn size(&self) -> u64 {
        self.get_data().elements.len() as u64
    }

    /// Element `index`, or `None` if out of bounds.
    pub fn get(&self, index: u64) -> Option<Value> {
        let data = self.get_data();
        let raw = *data.elements.get(index as usize)?;
        let ty = kiln_decoder::ValType::Ref(data.ty.element_type);
        Some(Value::from_raw(&self.store, ty, raw as u128))
    }

    /// Sets element `index` (a [`TrapCode::TableOutOfBounds`] trap if out of bounds, a host
    /// error for a value of the wrong type or from another store).
    pub fn set(&self, index: u64, value: Value) -> Result<(), Trap> {
        self.check(&value)?;
        let data = self.get_data();
        let slot = data
            .elements
            .get_mut(index as usize)
            .ok_or_else(|| Trap::from_code(TrapCode::TableOutOfBounds))?;
        *slot = value.to_raw() as usize;
        Ok(())
    }

    /// Grows by `delta` elements set to `init`: the previous size, or `None` (also for an
    /// `init` of the wrong type or from another store).
    pub fn grow(&self, delta: u64, init: Value) -> Option<u64> {
        self.check(&init).ok()?;
        self.get_data().grow(delta, init.to_raw() as usize)
    }

    fn check(&self, value: &Value) -> Result<(), Trap> {
        let ty = kiln_decoder::ValType::Ref(self.ty().element_type);
        if value.matches(ty) && value.belongs_to(&self.store) {
            Ok(())
        } else {
            Err(Trap::host(format!(
                "a {:?} cannot be stored in a table of {ty:?}",
                value.ty()
            )))
        }
    }
}
