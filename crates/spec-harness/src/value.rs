//! Values passed to and expected from wasm functions, and how results are matched.

use wast::core::{HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// A WebAssembly value crossing the host boundary. Floats are raw bits so NaN payloads survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as bits.
    F32(u32),
    /// An `f64`, as bits.
    F64(u64),
    /// A `v128`, little-endian.
    V128(u128),
    /// A `funcref`: null, or some function (identified by the back end).
    FuncRef(Option<u64>),
    /// An `externref`: null, or the host value `ref.extern N`.
    ExternRef(Option<u32>),
}

/// What an `assert_return` expects of one result.
#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    /// Exactly this value (floats compared bit for bit).
    Exact(Value),
    /// An `f32` that is the canonical NaN (either sign).
    F32CanonicalNan,
    /// An `f32` that is an arithmetic NaN (quiet bit set).
    F32ArithmeticNan,
    /// An `f64` that is the canonical NaN (either sign).
    F64CanonicalNan,
    /// An `f64` that is an arithmetic NaN (quiet bit set).
    F64ArithmeticNan,
    /// A `v128` whose lanes match one by one.
    V128Lanes(Vec<Expected>, LaneShape),
    /// A non-null `funcref`.
    AnyFuncRef,
    /// Any one of these.
    Either(Vec<Expected>),
}

/// How a `v128` is split into lanes for matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneShape {
    /// Four `f32` lanes.
    F32x4,
    /// Two `f64` lanes.
    F64x2,
}

impl Value {
    /// The value of a script argument, or the proposal it needs.
    pub(crate) fn from_arg(arg: &WastArg<'_>) -> Result<Value, String> {
        let WastArg::Core(core) = arg else {
            return Err("component-model".into());
        };
        Ok(match core {
            WastArgCore::I32(v) => Value::I32(*v),
            WastArgCore::I64(v) => Value::I64(*v),
            WastArgCore::F32(v) => Value::F32(v.bits),
            WastArgCore::F64(v) => Value::F64(v.bits),
            WastArgCore::V128(v) => Value::V128(u128::from_le_bytes(v.to_le_bytes())),
            WastArgCore::RefNull(HeapType::Abstract {
                ty: wast::core::AbstractHeapType::Func,
                ..
            }) => Value::FuncRef(None),
            WastArgCore::RefNull(HeapType::Abstract {
                ty: wast::core::AbstractHeapType::Extern,
                ..
            }) => Value::ExternRef(None),
            WastArgCore::RefExtern(n) => Value::ExternRef(Some(*n)),
            // Other heap types and host references belong to the GC proposal.
            _ => return Err("gc".into()),
        })
    }
}

fn f32_pattern(p: &NanPattern<wast::token::F32>) -> Expected {
    match p {
        NanPattern::CanonicalNan => Expected::F32CanonicalNan,
        NanPattern::ArithmeticNan => Expected::F32ArithmeticNan,
        NanPattern::Value(v) => Expected::Exact(Value::F32(v.bits)),
    }
}

fn f64_pattern(p: &NanPattern<wast::token::F64>) -> Expected {
    match p {
        NanPattern::CanonicalNan => Expected::F64CanonicalNan,
        NanPattern::ArithmeticNan => Expected::F64ArithmeticNan,
        NanPattern::Value(v) => Expected::Exact(Value::F64(v.bits)),
    }
}

fn lanes<T: Copy, const N: usize>(lanes: [T; N], bytes: impl Fn(T) -> Vec<u8>) -> u128 {
    let all: Vec<u8> = lanes.into_iter().flat_map(bytes).collect();
    u128::from_le_bytes(all.try_into().expect("16 bytes"))
}

impl Expected {
    /// The expectation of a script result, or the proposal it needs.
    pub(crate) fn from_ret(ret: &WastRet<'_>) -> Result<Expected, String> {
        let WastRet::Core(core) = ret else {
            return Err("component-model".into());
        };
        Expected::from_core(core)
    }

    fn from_core(core: &WastRetCore<'_>) -> Result<Expected, String> {
        use wast::core::AbstractHeapType as H;
        Ok(match core {
            WastRetCore::I32(v) => Expected::Exact(Value::I32(*v)),
            WastRetCore::I64(v) => Expected::Exact(Value::I64(*v)),
            WastRetCore::F32(p) => f32_pattern(p),
            WastRetCore::F64(p) => f64_pattern(p),
            WastRetCore::V128(V128Pattern::F32x4(p)) => {
                Expected::V128Lanes(p.iter().map(f32_pattern).collect(), LaneShape::F32x4)
            }
            WastRetCore::V128(V128Pattern::F64x2(p)) => {
                Expected::V128Lanes(p.iter().map(f64_pattern).collect(), LaneShape::F64x2)
            }
            WastRetCore::V128(V128Pattern::I8x16(l)) => {
                Expected::Exact(Value::V128(lanes(*l, |x| x.to_le_bytes().to_vec())))
            }
            WastRetCore::V128(V128Pattern::I16x8(l)) => {
                Expected::Exact(Value::V128(lanes(*l, |x| x.to_le_bytes().to_vec())))
            }
            WastRetCore::V128(V128Pattern::I32x4(l)) => {
                Expected::Exact(Value::V128(lanes(*l, |x| x.to_le_bytes().to_vec())))
            }
            WastRetCore::V128(V128Pattern::I64x2(l)) => {
                Expected::Exact(Value::V128(lanes(*l, |x| x.to_le_bytes().to_vec())))
            }
            WastRetCore::RefNull(Some(HeapType::Abstract { ty: H::Func, .. })) => {
                Expected::Exact(Value::FuncRef(None))
            }
            WastRetCore::RefNull(Some(HeapType::Abstract { ty: H::Extern, .. })) => {
                Expected::Exact(Value::ExternRef(None))
            }
            WastRetCore::RefExtern(Some(n)) => Expected::Exact(Value::ExternRef(Some(*n))),
            WastRetCore::RefFunc(None) => Expected::AnyFuncRef,
            WastRetCore::Either(options) => Expected::Either(
                options
                    .iter()
                    .map(Expected::from_core)
                    .collect::<Result<_, _>>()?,
            ),
            // Other reference patterns belong to the GC proposal.
            _ => return Err("gc".into()),
        })
    }

    /// Whether `actual` satisfies this expectation.
    pub fn matches(&self, actual: &Value) -> bool {
        const F32_QUIET: u32 = 0x0040_0000;
        const F64_QUIET: u64 = 0x0008_0000_0000_0000;
        match (self, actual) {
            (Expected::Exact(v), a) => v == a,
            (Expected::F32CanonicalNan, Value::F32(b)) => b & 0x7fff_ffff == 0x7fc0_0000,
            (Expected::F32ArithmeticNan, Value::F32(b)) => {
                b & 0x7f80_0000 == 0x7f80_0000 && b & F32_QUIET != 0
            }
            (Expected::F64CanonicalNan, Value::F64(b)) => {
                b & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000
            }
            (Expected::F64ArithmeticNan, Value::F64(b)) => {
                b & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000 && b & F64_QUIET != 0
            }
            (Expected::V128Lanes(lanes, shape), Value::V128(bits)) => {
                lanes.iter().enumerate().all(|(i, lane)| {
                    let value = match shape {
                        LaneShape::F32x4 => Value::F32((bits >> (32 * i)) as u32),
                        LaneShape::F64x2 => Value::F64((bits >> (64 * i)) as u64),
                    };
                    lane.matches(&value)
                })
            }
            (Expected::AnyFuncRef, Value::FuncRef(f)) => f.is_some(),
            (Expected::Either(options), a) => options.iter().any(|o| o.matches(a)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns() {
        assert!(Expected::F32CanonicalNan.matches(&Value::F32(0x7fc0_0000)));
        assert!(Expected::F32CanonicalNan.matches(&Value::F32(0xffc0_0000)));
        assert!(!Expected::F32CanonicalNan.matches(&Value::F32(0x7fc0_0001)));
        assert!(Expected::F32ArithmeticNan.matches(&Value::F32(0x7fc0_0001)));
        assert!(!Expected::F32ArithmeticNan.matches(&Value::F32(0x7f80_0001)));
        assert!(!Expected::F32ArithmeticNan.matches(&Value::F32(0x7f80_0000)));
        assert!(Expected::F64CanonicalNan.matches(&Value::F64(0xfff8_0000_0000_0000)));
        assert!(!Expected::F64CanonicalNan.matches(&Value::F64(0x7ff8_0000_0000_0001)));
        assert!(Expected::F64ArithmeticNan.matches(&Value::F64(0x7ff8_0000_0000_0001)));
        assert!(!Expected::F64ArithmeticNan.matches(&Value::F64(0x7ff0_0000_0000_0001)));
        assert!(!Expected::F64ArithmeticNan.matches(&Value::F32(0x7fc0_0000)));
    }

    #[test]
    fn exact_floats_compare_bits() {
        let neg_zero = Expected::Exact(Value::F64((-0.0f64).to_bits()));
        assert!(neg_zero.matches(&Value::F64((-0.0f64).to_bits())));
        assert!(!neg_zero.matches(&Value::F64(0.0f64.to_bits())));
    }

    #[test]
    fn v128_lanes_and_either() {
        let e = Expected::V128Lanes(
            vec![
                Expected::F64CanonicalNan,
                Expected::Exact(Value::F64(1.0f64.to_bits())),
            ],
            LaneShape::F64x2,
        );
        let bits = u128::from(0x7ff8_0000_0000_0000u64) | (u128::from(1.0f64.to_bits()) << 64);
        assert!(e.matches(&Value::V128(bits)));
        assert!(!e.matches(&Value::V128(bits ^ (1 << 70))));
        let either = Expected::Either(vec![
            Expected::Exact(Value::I32(1)),
            Expected::Exact(Value::I32(2)),
        ]);
        assert!(either.matches(&Value::I32(2)));
        assert!(!either.matches(&Value::I32(3)));
    }
}
