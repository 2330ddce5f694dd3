//! Globals, defined or imported, mutable or not.
//!
//! A defined global's [`kiln_abi::VMGlobal`] lives inline in its instance's `VMContext`; an
//! importing instance stores a pointer to it, so an exported mutable global is shared by
//! reference. Globals created by the host live in the store.

use std::rc::Rc;

use kiln_abi::VMGlobal;
use kiln_decoder::GlobalType;

use crate::store::StoreInner;
use crate::{Store, Value};

/// A handle to a global of a store.
#[derive(Clone)]
pub struct Global {
    pub(crate) store: Rc<StoreInner>,
    pub(crate) ptr: *mut VMGlobal,
    pub(crate) ty: GlobalType,
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global")
            .field("ty", &self.ty)
            .field("value", &self.get())
            .finish()
    }
}

impl Global {
    /// A new global of type `ty` holding `value`, owned by `store`.
    pub fn new(store: &Store, ty: GlobalType, value: Value) -> Result<Global, String> {
        if !value.matches(ty.content_type) || !value.belongs_to(&store.inner) {
            return Err("global value does not match its type".to_string());
        }
        let ptr = store.inner.add_global(value.to_vmglobal());
        Ok(Global {
            store: store.inner.clone(),
            ptr,
            ty,
        })
    }

    /// The global's type.
    pub fn ty(&self) -> GlobalType {
        self.ty
    }

    /// The current value.
    pub fn get(&self) -> Value {
        // SAFETY: the storage lives as long as the store, which `self.store` keeps alive.
        let raw = unsafe { *self.ptr };
        Value::from_raw(
            &self.store,
            self.ty.content_type,
            u128::from_le_bytes(raw.0),
        )
    }

    /// Sets the value; fails for immutable globals or a value of another type.
    pub fn set(&self, value: Value) -> Result<(), String> {
        if !self.ty.mutable {
            return Err("global is immutable".to_string());
        }
        if !value.matches(self.ty.content_type) || !value.belongs_to(&self.store) {
            return Err("global value does not match its type".to_string());
        }
        // SAFETY: as in `get`; wasm does not run concurrently with the host on this store.
        unsafe { *self.ptr = value.to_vmglobal() };
        Ok(())
    }
}
