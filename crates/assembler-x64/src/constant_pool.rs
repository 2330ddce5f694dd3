//! The constant pool: float constants and masks placed after the code and reached with
//! rip-relative operands.
//!
//! Each distinct constant (by bit pattern and width) is stored once. At
//! [`Assembler::finish`](crate::Assembler::finish) the pool is emitted after the code,
//! 16-byte entries first, then 8-byte, then 4-byte ones, starting at a 16-byte aligned offset,
//! so every entry is naturally aligned relative to the start of the code. The code must
//! therefore be placed at a 16-byte aligned address for 128-bit masks used by
//! `andps`/`xorps`-style memory operands (which fault on misaligned operands).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::label::Label;

/// A constant waiting to be placed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub label: Label,
    pub bits: u128,
    /// 4, 8 or 16.
    pub width: u8,
}

/// The constants of one assembler.
#[derive(Debug, Default)]
pub(crate) struct ConstantPool {
    entries: Vec<Entry>,
    index: HashMap<(u128, u8), usize, BuildHasherDefault<BitsHasher>>,
}

/// A multiply-rotate hasher for the pool's keys (bit patterns chosen by the compiler, not by
/// an adversary), much cheaper than the default SipHash.
#[derive(Default)]
pub(crate) struct BitsHasher(u64);

impl BitsHasher {
    const K: u64 = 0xF135_7AEA_2E62_A9C5;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for BitsHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }

    fn write_u128(&mut self, v: u128) {
        self.add(v as u64);
        self.add((v >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl ConstantPool {
    /// The entry for `bits` of `width` bytes, if one exists already.
    pub fn find(&self, bits: u128, width: u8) -> Option<Label> {
        self.index
            .get(&(bits, width))
            .map(|&i| self.entries[i].label)
    }

    /// Adds a new entry whose position will be `label`.
    pub fn insert(&mut self, bits: u128, width: u8, label: Label) {
        self.index.insert((bits, width), self.entries.len());
        self.entries.push(Entry { label, bits, width });
    }

    /// Forgets every entry, keeping the allocations.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in emission order (widest first, then in insertion order).
    pub fn layout(&self) -> Vec<Entry> {
        let mut entries = self.entries.clone();
        entries.sort_by_key(|e| std::cmp::Reverse(e.width));
        entries
    }
}
