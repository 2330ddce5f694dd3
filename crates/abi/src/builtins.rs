//! Builtins: runtime functions that generated code calls through the table at
//! [`crate::VMContextLayout::BUILTINS`].
//!
//! Every builtin is an `extern "sysv64"` function taking the caller's `VMContext` first and
//! then the operands listed in [`BuiltinId::params`], all as 64-bit integers (i32 operands
//! zero-extended), returning one 64-bit integer. A builtin that traps does not return: the
//! runtime unwinds to the entry trampoline with the trap. Code calling a builtin follows the
//! System V convention (all caller-saved registers clobbered, 16-byte aligned `rsp`).

/// Identifies a builtin; the discriminant is its index in the builtin table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum BuiltinId {
    /// `memory.grow`: (memory, delta pages) -> previous size in pages, or -1 as `u64`.
    MemoryGrow = 0,
    /// `memory.size` of a shared memory: (memory) -> pages.
    MemorySize,
    /// `memory.copy`: (dst memory, src memory, dst, src, len) -> 0; traps out of bounds.
    MemoryCopy,
    /// `memory.fill`: (memory, dst, value, len) -> 0; traps out of bounds.
    MemoryFill,
    /// `memory.init`: (memory, data segment, dst, src, len) -> 0; traps out of bounds.
    MemoryInit,
    /// `data.drop`: (data segment) -> 0.
    DataDrop,
    /// `table.grow`: (table, init value, delta) -> previous size, or -1 as `u64`.
    TableGrow,
    /// `table.get` for tables code cannot read inline: (table, index) -> element.
    TableGet,
    /// `table.set` for tables code cannot write inline: (table, index, value) -> 0.
    TableSet,
    /// `table.fill`: (table, dst, value, len) -> 0; traps out of bounds.
    TableFill,
    /// `table.copy`: (dst table, src table, dst, src, len) -> 0; traps out of bounds.
    TableCopy,
    /// `table.init`: (table, element segment, dst, src, len) -> 0; traps out of bounds.
    TableInit,
    /// `elem.drop`: (element segment) -> 0.
    ElemDrop,
    /// A function's tier-up budget ran out: (function index) -> 0. The engine decides.
    TierUp,
    /// The lazy-compile path of a jump-table stub: (function index) -> code address to jump
    /// to. Entered through a special trampoline that preserves argument registers.
    LazyCompile,
    /// A breakpoint or step check fired in debug code: (function index, wasm offset) -> 0.
    DebugBreak,
}

impl BuiltinId {
    /// Number of builtins: the length of the builtin table.
    pub const COUNT: usize = 16;

    /// Every builtin, in table order.
    pub const ALL: [BuiltinId; Self::COUNT] = [
        BuiltinId::MemoryGrow,
        BuiltinId::MemorySize,
        BuiltinId::MemoryCopy,
        BuiltinId::MemoryFill,
        BuiltinId::MemoryInit,
        BuiltinId::DataDrop,
        BuiltinId::TableGrow,
        BuiltinId::TableGet,
        BuiltinId::TableSet,
        BuiltinId::TableFill,
        BuiltinId::TableCopy,
        BuiltinId::TableInit,
        BuiltinId::ElemDrop,
        BuiltinId::TierUp,
        BuiltinId::LazyCompile,
        BuiltinId::DebugBreak,
    ];

    /// Byte offset of this builtin's entry in the builtin table.
    pub fn table_offset(self) -> u32 {
        8 * self as u32
    }

    /// The names of its operands after the `VMContext`, for documentation and checks.
    pub fn params(self) -> &'static [&'static str] {
        match self {
            BuiltinId::MemoryGrow => &["memory", "delta"],
            BuiltinId::MemorySize => &["memory"],
            BuiltinId::MemoryCopy => &["dst_memory", "src_memory", "dst", "src", "len"],
            BuiltinId::MemoryFill => &["memory", "dst", "value", "len"],
            BuiltinId::MemoryInit => &["memory", "segment", "dst", "src", "len"],
            BuiltinId::DataDrop => &["segment"],
            BuiltinId::TableGrow => &["table", "value", "delta"],
            BuiltinId::TableGet => &["table", "index"],
            BuiltinId::TableSet => &["table", "index", "value"],
            BuiltinId::TableFill => &["table", "dst", "value", "len"],
            BuiltinId::TableCopy => &["dst_table", "src_table", "dst", "src", "len"],
            BuiltinId::TableInit => &["table", "segment", "dst", "src", "len"],
            BuiltinId::ElemDrop => &["segment"],
            BuiltinId::TierUp => &["function"],
            BuiltinId::LazyCompile => &["function"],
            BuiltinId::DebugBreak => &["function", "wasm_offset"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_matches_discriminants() {
        for (i, b) in BuiltinId::ALL.iter().enumerate() {
            assert_eq!(*b as usize, i);
            assert_eq!(b.table_offset() as usize, 8 * i);
            assert!(
                b.params().len() <= 5,
                "at most 5 operands fit System V registers with vmctx"
            );
        }
    }
}
