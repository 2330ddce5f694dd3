//! The data section's fast path: one pass that frames and validates every segment when each
//! is passive or has a single-constant offset, the form toolchains emit. Go and Emscripten
//! modules carry tens of thousands of segments; validating each offset with wasmparser's
//! general constant-expression validator, then reading it again, costs more than decoding the
//! rest of the module.
//!
//! The fast path accepts a subset of what the general path accepts and nothing else: when any
//! segment falls outside it (another offset form, a malformed or invalid segment), it gives up
//! and the general path decodes the whole section and reports the exact error.

use crate::const_expr::{ConstExpr, ConstOp};
use crate::module::{DataKind, DataSegment};
use crate::reader::Reader;
use wasmparser::MemoryType;

/// wasmparser's limit on the number of data segments; more is an error the general path
/// reports.
const MAX_DATA_SEGMENTS: u32 = 100_000;

/// Decodes the data section's `count` segments from `items` (the section's bytes after the
/// count, starting at absolute offset `base`), or returns `None` when one needs the general
/// path. `memories` are the module's memories (imported ones first); `bulk_memory` says
/// passive segments are allowed. Cost: one pass over the bytes, one small allocation per
/// active segment.
pub(crate) fn decode(
    items: &[u8],
    base: usize,
    count: u32,
    memories: &[MemoryType],
    bulk_memory: bool,
) -> Option<Vec<DataSegment>> {
    if count > MAX_DATA_SEGMENTS {
        return None;
    }
    let mut reader = Reader::new(items);
    // Every segment takes at least three bytes, so a count the bytes cannot hold does not
    // allocate.
    let mut segments: Vec<DataSegment> = Vec::with_capacity((count as usize).min(items.len() / 3));
    let spare = segments.spare_capacity_mut();
    crate::prefault::prefault(spare.as_mut_ptr().cast(), std::mem::size_of_val(spare));
    for _ in 0..count {
        let kind = match reader.u32()? {
            0 => active(&mut reader, 0, memories, base)?,
            1 if bulk_memory => DataKind::Passive,
            2 => {
                let memory = reader.u32()?;
                active(&mut reader, memory, memories, base)?
            }
            _ => return None,
        };
        let len = reader.u32()? as usize;
        let start = reader.pos;
        reader.skip(len)?;
        segments.push(DataSegment {
            kind,
            range: base + start..base + reader.pos,
        });
    }
    reader.at_end().then_some(segments)
}

/// An active segment's offset: `i32.const` (or `i64.const` for a 64-bit memory) then `end`.
fn active(
    reader: &mut Reader<'_>,
    memory: u32,
    memories: &[MemoryType],
    base: usize,
) -> Option<DataKind> {
    let memory64 = memories.get(memory as usize)?.memory64;
    let start = reader.pos;
    let op = match (reader.byte()?, memory64) {
        (0x41, false) => ConstOp::I32Const(reader.signed(32)? as i32),
        (0x42, true) => ConstOp::I64Const(reader.signed(64)?),
        _ => return None,
    };
    if reader.byte()? != 0x0b {
        return None;
    }
    let offset = ConstExpr {
        ops: smallvec::smallvec![op],
        range: base + start..base + reader.pos,
    };
    Some(DataKind::Active { memory, offset })
}

#[cfg(test)]
mod tests {
    use crate::test_rng::Rng;
    use crate::{DataKind, Features, Proposal};

    /// `value` as LEB128 (signed or not) of `bits` bits, sometimes padded with redundant
    /// continuation bytes, sometimes with one byte too many or a corrupted last byte.
    fn leb(rng: &mut Rng, value: i64, signed: bool, bits: u32, out: &mut Vec<u8>) {
        let mut bytes = Vec::new();
        let mut v = value;
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            let done = if signed {
                (v == 0 && b & 0x40 == 0) || (v == -1 && b & 0x40 != 0)
            } else {
                v as u64 == 0
            };
            if done {
                bytes.push(b);
                break;
            }
            bytes.push(b | 0x80);
        }
        let max = bits.div_ceil(7) as usize;
        match rng.below(8) {
            // Pad to the longest allowed (or one byte more) with sign-extension bytes.
            0 | 1 => {
                let pad = if rng.below(4) == 0 { max + 1 } else { max };
                let fill = if signed && value < 0 { 0x7f } else { 0 };
                while bytes.len() < pad {
                    *bytes.last_mut().unwrap() |= 0x80;
                    bytes.push(fill);
                }
            }
            // Flip a bit of the last byte.
            2 => *bytes.last_mut().unwrap() ^= 1 << rng.below(8),
            _ => {}
        }
        out.extend(bytes);
    }

    fn interesting(rng: &mut Rng, bits: u32) -> i64 {
        let edges = [
            0,
            1,
            -1,
            63,
            64,
            -64,
            -65,
            8191,
            1 << 27,
            i32::MAX as i64,
            i32::MIN as i64,
        ];
        match rng.below(3) {
            0 => edges[rng.below(edges.len())],
            1 if bits == 64 => rng.next() as i64,
            _ => rng.next() as i32 as i64,
        }
    }

    /// A module with `memories` (`true`: 64-bit) and a data section of random segments, some
    /// malformed or invalid.
    fn module(rng: &mut Rng, memories: &[bool]) -> Vec<u8> {
        let mut m = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        let mut mem = vec![memories.len() as u8];
        for &m64 in memories {
            mem.extend([if m64 { 0x04 } else { 0x00 }, 0x01]);
        }
        m.push(0x05);
        m.push(mem.len() as u8);
        m.extend(mem);
        let count = rng.below(6) as u32;
        let mut items = Vec::new();
        let declared = if rng.below(10) == 0 { count + 1 } else { count };
        leb(rng, declared as i64, false, 32, &mut items);
        for _ in 0..count {
            let flag = [0, 0, 0, 1, 2, 3][rng.below(6)];
            leb(rng, flag, false, 32, &mut items);
            if flag != 1 {
                let memory = if flag == 2 {
                    let i = rng.below(memories.len() + 1);
                    leb(rng, i as i64, false, 32, &mut items);
                    i
                } else {
                    0
                };
                let m64 = memories.get(memory).copied().unwrap_or(false);
                match rng.below(8) {
                    0 => items.extend([0x23, 0x00]), // global.get 0: no such global
                    1 => items.push(if m64 { 0x41 } else { 0x42 }), // wrong type
                    _ => items.push(if m64 { 0x42 } else { 0x41 }),
                }
                let bits = if items.last() == Some(&0x42) { 64 } else { 32 };
                let value = interesting(rng, bits);
                leb(rng, value, true, bits, &mut items);
                if rng.below(12) != 0 {
                    items.push(0x0b);
                }
            }
            let len = rng.below(5);
            leb(rng, len as i64, false, 32, &mut items);
            items.extend((0..len).map(|i| i as u8));
        }
        if rng.below(12) == 0 {
            items.push(0x00); // trailing byte
        }
        m.push(0x0b);
        let mut size = Vec::new();
        leb(&mut Rng(1), items.len() as i64, false, 32, &mut size);
        m.extend(size);
        m.extend(items);
        m
    }

    /// Every data section the fast path accepts decodes exactly as wasmparser reads it, and
    /// every section wasmparser rejects fails with wasmparser's error.
    #[test]
    fn fast_path_agrees_with_the_general_path() {
        let features = Features::default()
            .with(Proposal::MultiMemory)
            .with(Proposal::Memory64);
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut fast = 0;
        for case in 0..20_000 {
            let memories: &[bool] = match case % 3 {
                0 => &[false],
                1 => &[true],
                _ => &[false, true],
            };
            let bytes = module(&mut rng, memories);
            let reference = wasmparser::Validator::new_with_features(features.wasm_features())
                .validate_all(&bytes)
                .map(drop);
            let decoded = crate::decode(&bytes, &features);
            match (&reference, &decoded) {
                (Ok(_), Ok(module)) => {
                    let mut expected = Vec::new();
                    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
                        if let wasmparser::Payload::DataSection(r) = payload.unwrap() {
                            for d in r {
                                let d = d.unwrap();
                                let end = d.range.end as usize;
                                let kind = match d.kind {
                                    wasmparser::DataKind::Passive => None,
                                    wasmparser::DataKind::Active {
                                        memory_index,
                                        offset_expr,
                                    } => Some((
                                        memory_index,
                                        crate::ConstExpr::read(&offset_expr).unwrap(),
                                    )),
                                };
                                expected.push((kind, end - d.data.len()..end));
                            }
                        }
                    }
                    let got: Vec<_> = module
                        .data
                        .iter()
                        .map(|d| {
                            let kind = match &d.kind {
                                DataKind::Passive => None,
                                DataKind::Active { memory, offset } => {
                                    Some((*memory, offset.clone()))
                                }
                            };
                            (kind, d.range.clone())
                        })
                        .collect();
                    assert_eq!(got, expected, "case {case}: {bytes:02x?}");
                    fast += 1;
                }
                (Err(e), Err(d)) => {
                    assert_eq!(
                        (d.message(), d.offset()),
                        (e.message(), e.offset() as usize),
                        "case {case}: {bytes:02x?}"
                    );
                }
                _ => panic!("case {case}: {reference:?} vs {decoded:?}: {bytes:02x?}"),
            }
        }
        // Both outcomes are well represented.
        assert!((2_000..18_000).contains(&fast), "{fast} valid of 20000");
    }

    /// The fast path itself takes the common forms (the test above would also pass if it
    /// never did).
    #[test]
    fn fast_path_takes_constant_offsets_and_passive_segments() {
        let items = [
            0x00, 0x41, 0xff, 0xff, 0xff, 0xff, 0x07, 0x0b, 0x01, 0xaa, // i32.const i32::MAX
            0x01, 0x02, 0xbb, 0xcc, // passive
            0x02, 0x01, 0x42, 0x7f, 0x0b, 0x00, // memory 1, i64.const -1, empty
        ];
        let memories = [
            wasmparser::MemoryType {
                memory64: false,
                shared: false,
                initial: 1,
                maximum: None,
                page_size_log2: None,
            },
            wasmparser::MemoryType {
                memory64: true,
                shared: false,
                initial: 1,
                maximum: None,
                page_size_log2: None,
            },
        ];
        let segments = super::decode(&items, 100, 3, &memories, true).expect("fast path");
        assert_eq!(segments.len(), 3);
        assert!(
            matches!(&segments[0].kind, DataKind::Active { memory: 0, offset }
            if offset.as_int_const() == Some(i32::MAX as i64) && offset.range == (101..108))
        );
        assert_eq!(segments[0].range, 109..110);
        assert!(matches!(segments[1].kind, DataKind::Passive));
        assert_eq!(segments[1].range, 112..114);
        assert!(
            matches!(&segments[2].kind, DataKind::Active { memory: 1, offset }
            if offset.as_int_const() == Some(-1))
        );
        assert_eq!(segments[2].range, 120..120);
        // Passive segments without bulk memory, and unknown memories, go the general way.
        assert!(super::decode(&items, 100, 3, &memories, false).is_none());
        assert!(super::decode(&items, 100, 3, &memories[..1], true).is_none());
    }
}
