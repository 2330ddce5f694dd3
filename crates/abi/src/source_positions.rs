//! A function's source position table: pc offset -> wasm byte offset, delta-encoded.
//!
//! The baseline tier records a position for every wasm instruction, so a large module has
//! millions of them; at 8 bytes each the tables were half the size of the machine code and
//! their copies a large share of a compile's page faults. Here each entry is two LEB128
//! numbers: the pc delta from the previous entry and the zigzag-encoded wasm offset delta
//! (signed: the optimizing tier's code is not in wasm order). A baseline entry takes about
//! two bytes. Lookups scan from the start, O(n): they serve traps, backtraces and disassembly listings,
//! never the compile path. V8 encodes its source position tables the same way.

use std::fmt;

use crate::SourcePosition;

/// An immutable, delta-encoded list of [`SourcePosition`]s sorted by `pc_offset`, with
/// strictly increasing pc offsets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourcePositions {
    bytes: Box<[u8]>,
    last_pc: Option<u32>,
}

impl SourcePositions {
    /// Encodes `positions`, which must be sorted by `pc_offset` with no two at the same
    /// offset. Cost: one pass and one allocation of the encoded size (about 2 bytes an entry).
    pub fn new(positions: &[SourcePosition]) -> SourcePositions {
        // Entries go through a small buffer, flushed when it might not hold the next one:
        // the common two-byte entry costs two stores instead of two growing pushes.
        const CHUNK: usize = 256;
        // A pc delta (u32) and a zigzag wasm-offset delta (33 bits) take at most 5 bytes each.
        const MAX_ENTRY: usize = 10;
        let mut bytes = Vec::with_capacity(positions.len() * 2);
        let mut chunk = [0u8; CHUNK];
        let mut n = 0;
        let mut last = SourcePosition {
            pc_offset: 0,
            wasm_offset: 0,
        };
        for p in positions {
            debug_assert!(p.pc_offset >= last.pc_offset, "positions sorted by pc");
            if n > CHUNK - MAX_ENTRY {
                bytes.extend_from_slice(&chunk[..n]);
                n = 0;
            }
            let pc_delta = u64::from(p.pc_offset.wrapping_sub(last.pc_offset));
            let wasm_delta = zigzag(i64::from(p.wasm_offset) - i64::from(last.wasm_offset));
            if pc_delta | wasm_delta < 0x80 {
                chunk[n] = pc_delta as u8;
                chunk[n + 1] = wasm_delta as u8;
                n += 2;
            } else {
                n = write_uleb(&mut chunk, n, pc_delta);
                n = write_uleb(&mut chunk, n, wasm_delta);
            }
            last = *p;
        }
        bytes.extend_from_slice(&chunk[..n]);
        SourcePositions {
            bytes: bytes.into_boxed_slice(),
            last_pc: positions.last().map(|p| p.pc_offset),
        }
    }

    /// The positions in pc order. Cost: O(1) per entry, no allocation.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            bytes: &self.bytes,
            at: 0,
            last: SourcePosition {
                pc_offset: 0,
                wasm_offset: 0,
            },
        }
    }

    /// Whether the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.last_pc.is_none()
    }

    /// The pc offset of the last entry (the largest), if any. O(1).
    pub fn last_pc(&self) -> Option<u32> {
        self.last_pc
    }

    /// The wasm byte offset of the instruction covering `pc_offset`: the last position at or
    /// before it. Cost: O(n) (a scan that stops at `pc_offset`); allocation free, so usable in
    /// a signal handler.
    pub fn wasm_offset_at(&self, pc_offset: u32) -> Option<u32> {
        self.iter()
            .take_while(|p| p.pc_offset <= pc_offset)
            .last()
            .map(|p| p.wasm_offset)
    }

    /// Bytes of the encoded table.
    pub fn encoded_len(&self) -> usize {
        self.bytes.len()
    }
}

impl fmt::Debug for SourcePositions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl FromIterator<SourcePosition> for SourcePositions {
    /// Collects sorted positions; see [`SourcePositions::new`].
    fn from_iter<I: IntoIterator<Item = SourcePosition>>(iter: I) -> Self {
        SourcePositions::new(&iter.into_iter().collect::<Vec<_>>())
    }
}

/// Iterator over a [`SourcePositions`] table.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    bytes: &'a [u8],
    at: usize,
    last: SourcePosition,
}

impl Iterator for Iter<'_> {
    type Item = SourcePosition;

    fn next(&mut self) -> Option<SourcePosition> {
        if self.at == self.bytes.len() {
            return None;
        }
        let pc_delta = read_uleb(self.bytes, &mut self.at);
        let wasm_delta = unzigzag(read_uleb(self.bytes, &mut self.at));
        self.last = SourcePosition {
            pc_offset: self.last.pc_offset.wrapping_add(pc_delta as u32),
            wasm_offset: (i64::from(self.last.wasm_offset) + wasm_delta) as u32,
        };
        Some(self.last)
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Writes `v` at `out[at..]`; returns the index after it.
fn write_uleb(out: &mut [u8], mut at: usize, mut v: u64) -> usize {
    while v >= 0x80 {
        out[at] = v as u8 | 0x80;
        at += 1;
        v >>= 7;
    }
    out[at] = v as u8;
    at + 1
}

fn read_uleb(bytes: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(pc_offset: u32, wasm_offset: u32) -> SourcePosition {
        SourcePosition {
            pc_offset,
            wasm_offset,
        }
    }

    #[test]
    fn round_trips_any_offsets() {
        // Deltas of every LEB length, wasm offsets going backwards (optimized code) and the
        // extremes of both fields.
        let mut input = vec![pos(0, 0), pos(1, u32::MAX), pos(2, 0), pos(130, 5)];
        let mut pc = 130u32;
        let mut wasm = 5u32;
        for i in 0..2000u32 {
            pc += 1 + (i * 7919) % 20000;
            wasm = wasm
                .wrapping_add((i * 104_729) % 300_000)
                .wrapping_sub(100_000);
            input.push(pos(pc, wasm));
        }
        input.push(pos(u32::MAX, 1 << 31));
        let table: SourcePositions = input.iter().copied().collect();
        assert_eq!(table.iter().collect::<Vec<_>>(), input);
        assert_eq!(table.last_pc(), Some(u32::MAX));
    }

    #[test]
    fn lookup_covers_ranges() {
        let t = SourcePositions::new(&[pos(0, 101), pos(8, 104)]);
        assert_eq!(t.iter().collect::<Vec<_>>(), [pos(0, 101), pos(8, 104)]);
        assert_eq!(t.wasm_offset_at(7), Some(101));
        assert_eq!(t.wasm_offset_at(8), Some(104));
        assert_eq!(t.wasm_offset_at(u32::MAX), Some(104));
        // 0 and 101 (zigzag 202: two bytes), then 8 and 3.
        assert_eq!(t.encoded_len(), 5);
        assert_eq!(t.last_pc(), Some(8));
        let t = SourcePositions::new(&[pos(5, 7)]);
        assert_eq!(t.wasm_offset_at(4), None);
        let empty = SourcePositions::new(&[]);
        assert!(empty.is_empty());
        assert_eq!(empty.last_pc(), None);
        assert_eq!(empty.wasm_offset_at(0), None);
        assert_eq!(format!("{empty:?}"), "[]");
    }

    #[test]
    fn debug_lists_the_positions() {
        let t: SourcePositions = [pos(1, 2)].into_iter().collect();
        assert_eq!(
            format!("{t:?}"),
            format!("{:?}", [pos(1, 2)]),
            "same text as a list of positions"
        );
    }
}
