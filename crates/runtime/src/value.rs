//! [`Value`]: a wasm value as the host sees it, and its raw encodings.

use std::rc::Rc;

use kiln_abi::{VMFuncRef, VMGlobal};
use kiln_decoder::ValType;

use crate::Func;
use crate::store::StoreInner;

/// A WebAssembly value.
#[derive(Clone, Debug)]
pub enum Value {
    /// `i32`.
    I32(i32),
    /// `i64`.
    I64(i64),
    /// `f32`, as its bit pattern (NaN payloads are preserved).
    F32(u32),
    /// `f64`, as its bit pattern.
    F64(u64),
    /// `v128`.
    V128(u128),
    /// A function reference (`None` is `ref.null func`).
    FuncRef(Option<Func>),
    /// An external reference: the host's non-zero handle, or 0 for `ref.null extern`.
    ExternRef(usize),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.ty() == other.ty() && self.to_raw() == other.to_raw()
    }
}

impl Value {
    /// The value's type (`funcref`/`externref` for references).
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::V128(_) => ValType::V128,
            Value::FuncRef(_) => ValType::FUNCREF,
            Value::ExternRef(_) => ValType::EXTERNREF,
        }
    }

    /// Whether the value can be stored where `ty` is expected.
    pub fn matches(&self, ty: ValType) -> bool {
        match (self, ty) {
            (Value::FuncRef(_), ValType::Ref(r)) => r.is_func_ref(),
            (Value::ExternRef(_), ValType::Ref(r)) => r.is_extern_ref(),
            _ => self.ty() == ty,
        }
    }

    /// Whether the value may be used in `store`: a function reference must come from it.
    pub(crate) fn belongs_to(&self, store: &Rc<StoreInner>) -> bool {
        match self {
            Value::FuncRef(Some(f)) => Rc::ptr_eq(&f.store, store),
            _ => true,
        }
    }

    /// The zero value of `ty` (null for references).
    pub fn default_for(ty: ValType) -> Value {
        match ty {
            ValType::I32 => Value::I32(0),
            ValType::I64 => Value::I64(0),
            ValType::F32 => Value::F32(0),
            ValType::F64 => Value::F64(0),
            ValType::V128 => Value::V128(0),
            ValType::Ref(r) if r.is_extern_ref() => Value::ExternRef(0),
            ValType::Ref(_) => Value::FuncRef(None),
        }
    }

    /// The value as a trampoline slot (see [`crate::trampoline::SLOT_SIZE`]).
    pub(crate) fn to_raw(&self) -> u128 {
        match self {
            Value::I32(v) => u128::from(*v as u32),
            Value::I64(v) => u128::from(*v as u64),
            Value::F32(v) => u128::from(*v),
            Value::F64(v) => u128::from(*v),
            Value::V128(v) => *v,
            Value::FuncRef(f) => f.as_ref().map_or(0, |f| f.funcref as usize) as u128,
            Value::ExternRef(v) => *v as u128,
        }
    }

    /// Decodes a slot holding a value of type `ty`.
    pub(crate) fn from_raw(store: &Rc<StoreInner>, ty: ValType, raw: u128) -> Value {
        match ty {
            ValType::I32 => Value::I32(raw as u32 as i32),
            ValType::I64 => Value::I64(raw as u64 as i64),
            ValType::F32 => Value::F32(raw as u32),
            ValType::F64 => Value::F64(raw as u64),
            ValType::V128 => Value::V128(raw),
            ValType::Ref(r) if r.is_extern_ref() => Value::ExternRef(raw as usize),
            ValType::Ref(_) => {
                let ptr = raw as usize as *const VMFuncRef;
                Value::FuncRef((!ptr.is_null()).then(|| Func::from_funcref(store, ptr)))
            }
        }
    }

    pub(crate) fn to_vmglobal(&self) -> VMGlobal {
        VMGlobal(self.to_raw().to_le_bytes())
    }

    /// The `i32`, if it is one.
    pub fn as_i32(&self) -> Option<i32> {
        if let Value::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The `i64`, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        if let Value::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The `f32`, if it is one.
    pub fn as_f32(&self) -> Option<f32> {
        if let Value::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }

    /// The `f64`, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        if let Value::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::I32(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::I64(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Value {
        Value::F32(v.to_bits())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::F64(v.to_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_keep_bits() {
        assert_eq!(Value::from(-1i32).to_raw(), 0xFFFF_FFFF);
        assert_eq!(Value::from(-1i64).to_raw(), u128::from(u64::MAX));
        let nan = f32::from_bits(0x7fc0_0001);
        assert_eq!(Value::from(nan).to_raw(), 0x7fc0_0001);
        assert_eq!(Value::from(2.5f64).as_f64(), Some(2.5));
        assert!(Value::from(1i32).matches(ValType::I32));
        assert!(!Value::from(1i32).matches(ValType::I64));
        assert!(Value::ExternRef(0).matches(ValType::EXTERNREF));
        assert!(!Value::ExternRef(0).matches(ValType::FUNCREF));
        assert_eq!(Value::default_for(ValType::FUNCREF), Value::FuncRef(None));
    }
}
