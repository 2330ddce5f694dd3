//! Memory accounting: what the code of a native module (or of all of them) costs.

use crate::CodeKind;

/// A snapshot of the memory a native module's code uses. Add snapshots with `+=` for totals.
///
/// `code_bytes` and `metadata_bytes` count every code object not yet freed, including dead code
/// (replaced or removed, waiting for its last reference and grace period), which is also counted
/// separately in `dead_code_bytes`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Address space reserved for code (each reservation counted once, though mapped twice).
    pub reserved_bytes: usize,
    /// Memory committed for code, jump tables and stubs (whole pages).
    pub committed_bytes: usize,
    /// Instruction bytes per [`CodeKind`], indexed by [`CodeKind::index`].
    pub code_bytes: [usize; CodeKind::COUNT],
    /// Metadata held outside the code space: code objects, trap sites, source positions, debug
    /// side tables and lookup tables.
    pub metadata_bytes: usize,
    /// Instruction bytes of code that is no longer installed and waits to be freed.
    pub dead_code_bytes: usize,
    /// Live native modules counted.
    pub modules: usize,
}

impl MemoryUsage {
    /// Instruction bytes of `kind`.
    pub fn code_bytes_of(&self, kind: CodeKind) -> usize {
        self.code_bytes[kind.index()]
    }

    /// Instruction bytes of every kind.
    pub fn total_code_bytes(&self) -> usize {
        self.code_bytes.iter().sum()
    }

    /// Estimated memory consumption: committed pages plus metadata.
    pub fn estimate(&self) -> usize {
        self.committed_bytes + self.metadata_bytes
    }
}

impl std::ops::AddAssign for MemoryUsage {
    fn add_assign(&mut self, other: MemoryUsage) {
        self.reserved_bytes += other.reserved_bytes;
        self.committed_bytes += other.committed_bytes;
        for (a, b) in self.code_bytes.iter_mut().zip(other.code_bytes) {
            *a += b;
        }
        self.metadata_bytes += other.metadata_bytes;
        self.dead_code_bytes += other.dead_code_bytes;
        self.modules += other.modules;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_estimates() {
        let mut total = MemoryUsage::default();
        let mut one = MemoryUsage {
            committed_bytes: 4096,
            metadata_bytes: 100,
            modules: 1,
            ..Default::default()
        };
        one.code_bytes[CodeKind::Optimized.index()] = 64;
        total += one;
        total += one;
        assert_eq!(total.code_bytes_of(CodeKind::Optimized), 128);
        assert_eq!(total.total_code_bytes(), 128);
        assert_eq!(total.estimate(), 8192 + 200);
        assert_eq!(total.modules, 2);
    }
}
