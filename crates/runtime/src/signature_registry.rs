//! Engine-wide canonical signature ids.
//!
//! `call_indirect` compares the `type_id` of a [`kiln_abi::VMFuncRef`] with the id the caller
//! expects, read from its own `VMContext`. Both come from one [`SignatureRegistry`] per
//! [`crate::Runtime`], so equal function types get equal ids across modules and host functions.
//! Ids are dense, never reused and never freed (the registry grows with the number of distinct
//! signatures, not with instances).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kiln_decoder::FuncType;

/// Maps function types to canonical `u32` ids and back. Thread-safe.
#[derive(Debug, Default)]
pub struct SignatureRegistry {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    ids: HashMap<FuncType, u32>,
    types: Vec<Arc<FuncType>>,
}

impl SignatureRegistry {
    /// An empty registry.
    pub fn new() -> SignatureRegistry {
        SignatureRegistry::default()
    }

    /// The canonical id of `ty`, assigning the next one on first sight. Cost: one hash lookup
    /// under a lock.
    pub fn register(&self, ty: &FuncType) -> u32 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = inner.ids.get(ty) {
            return id;
        }
        let id = u32::try_from(inner.types.len()).expect("fewer than 2^32 signatures");
        inner.ids.insert(ty.clone(), id);
        inner.types.push(Arc::new(ty.clone()));
        id
    }

    /// The function type with canonical id `id`, if assigned.
    pub fn lookup(&self, id: u32) -> Option<Arc<FuncType>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.types.get(id as usize).cloned()
    }

    /// Number of distinct signatures registered.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .types
            .len()
    }

    /// Whether no signature is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_decoder::ValType;

    #[test]
    fn equal_types_share_an_id() {
        let r = SignatureRegistry::new();
        let a = r.register(&FuncType::new([ValType::I32], [ValType::I64]));
        let b = r.register(&FuncType::new([ValType::I64], [ValType::I64]));
        let c = r.register(&FuncType::new([ValType::I32], [ValType::I64]));
        assert_eq!(a, c);
        assert_ne!(a, b);
        assert_eq!(r.lookup(b).unwrap().params(), [ValType::I64]);
        assert_eq!(r.len(), 2);
    }
}
