//! Trap codes: why generated code stopped.

use std::fmt;

/// The reason a WebAssembly computation trapped.
///
/// Each trapping instruction a compiler emits is recorded as a [`crate::TrapSite`] carrying one
/// of these; the runtime maps a fault at that pc back to it. The `Display` text is the message the
/// spec testsuite expects (`assert_trap`), so it must not change casually.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TrapCode {
    /// `unreachable` was executed.
    Unreachable = 0,
    /// A load or store outside the bounds of a linear memory.
    MemoryOutOfBounds,
    /// A table access (`table.get`/`set`/`fill`/`copy`/`init`) out of bounds.
    TableOutOfBounds,
    /// `call_indirect` with an index past the end of the table.
    UndefinedElement,
    /// `call_indirect` through a null table entry.
    IndirectCallToNull,
    /// `call_indirect` to a function whose signature differs from the expected one.
    BadSignature,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// Signed integer overflow (`INT_MIN / -1`).
    IntegerOverflow,
    /// A trapping float-to-int conversion of NaN or an out-of-range value.
    BadConversionToInteger,
    /// The wasm call stack exceeded its limit.
    StackOverflow,
    /// A null reference where a non-null one is required (`ref.as_non_null`, `call_ref`).
    NullReference,
    /// A host function returned an error or panicked.
    HostError,
}

impl TrapCode {
    /// Every trap code, in discriminant order.
    pub const ALL: [TrapCode; 12] = [
        TrapCode::Unreachable,
        TrapCode::MemoryOutOfBounds,
        TrapCode::TableOutOfBounds,
        TrapCode::UndefinedElement,
        TrapCode::IndirectCallToNull,
        TrapCode::BadSignature,
        TrapCode::IntegerDivideByZero,
        TrapCode::IntegerOverflow,
        TrapCode::BadConversionToInteger,
        TrapCode::StackOverflow,
        TrapCode::NullReference,
        TrapCode::HostError,
    ];

    /// The trap code with discriminant `byte`, if any (the inverse of `as u8`).
    pub fn from_u8(byte: u8) -> Option<TrapCode> {
        TrapCode::ALL.get(usize::from(byte)).copied()
    }

    /// The message the WebAssembly spec testsuite uses for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerDivideByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::NullReference => "null reference",
            TrapCode::HostError => "host function error",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_u8_inverts_discriminant() {
        for code in TrapCode::ALL {
            assert_eq!(TrapCode::from_u8(code as u8), Some(code));
        }
        assert_eq!(TrapCode::from_u8(TrapCode::ALL.len() as u8), None);
    }
}
