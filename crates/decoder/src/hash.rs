//! A fast, stable 64-bit hash of wire bytes, for script URLs and the module cache.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;

fn mix(h: u64, word: u64) -> u64 {
    (h ^ word.wrapping_mul(P2).rotate_left(31).wrapping_mul(P1))
        .rotate_left(27)
        .wrapping_mul(P1)
        .wrapping_add(P3)
}

fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8-byte chunk"))
}

/// The four lanes of [`hash_bytes`] over the whole 32-byte stripes seen so far.
struct Lanes([u64; 4]);

impl Lanes {
    fn new(len: usize) -> Lanes {
        let seed = P3 ^ (len as u64).wrapping_mul(P2);
        Lanes([seed, seed ^ P1, seed.rotate_left(17), seed ^ P2])
    }

    /// Mixes in `bytes`' whole stripes; returns the bytes after the last whole stripe.
    fn stripes<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let mut stripes = bytes.chunks_exact(32);
        for stripe in &mut stripes {
            for (i, lane) in self.0.iter_mut().enumerate() {
                *lane = mix(*lane, word(&stripe[i * 8..i * 8 + 8]));
            }
        }
        stripes.remainder()
    }

    /// The hash, given the bytes after the last whole stripe.
    fn finish(self, rest: &[u8]) -> u64 {
        let [a, b, c, d] = self.0;
        let mut h = a
            .rotate_left(1)
            .wrapping_add(b.rotate_left(7))
            .wrapping_add(c.rotate_left(12))
            .wrapping_add(d.rotate_left(18));
        let mut words = rest.chunks_exact(8);
        for w in &mut words {
            h = mix(h, word(w));
        }
        let mut tail = [0u8; 8];
        let rest = words.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 56));
        avalanche(h)
    }
}

/// Final avalanche so every input bit affects every output bit.
fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// The leaves of an input hashed as a tree (see [`hash_bytes`]) are this long, the last one
/// up to twice as long. Each is the unit of work of one thread in [`copy_and_hash`]: ~0.7 ms
/// of copying into fresh memory, long enough that handing it out costs nothing, short enough
/// that a thread that starts late leaves little to wait for.
const LEAF: usize = 1 << 20;

/// Inputs at least this long (four leaves) are hashed as a tree. Shorter ones are one part:
/// on a loaded machine, where the helper thread waits for a core or is preempted while it
/// holds a leaf, a second thread cost more than it saved below ~4 MiB (measured in fresh
/// processes: 2.5 MB 0.4 ms slower, 4.2 MB even, 8.4 MB 2.7 ms faster, in medians).
const TREE_MIN: usize = 4 * LEAF;

/// The number of leaves of an input of `len` bytes: one below [`TREE_MIN`], else one per
/// whole [`LEAF`] (the last takes the rest). Depends only on `len`.
fn leaf_count(len: usize) -> usize {
    if len < TREE_MIN { 1 } else { len / LEAF }
}

/// The bytes of leaf `i` of `count` in an input of `len` bytes.
fn leaf_range(len: usize, count: usize, i: usize) -> Range<usize> {
    let start = i * LEAF;
    start..if i + 1 == count { len } else { start + LEAF }
}

/// The hash of one part: four lanes over its 32-byte stripes, then its tail on one lane.
fn hash_part(bytes: &[u8]) -> u64 {
    let mut lanes = Lanes::new(bytes.len());
    let rest = lanes.stripes(bytes);
    lanes.finish(rest)
}

/// The hash of an input of `len` bytes from the hashes of its leaves, in order.
fn combine(len: usize, leaves: impl IntoIterator<Item = u64>) -> u64 {
    // A seed of its own, so a tree's hash is not that of some one-part input.
    let seed = P1 ^ (len as u64).wrapping_mul(P3).rotate_left(23);
    avalanche(leaves.into_iter().fold(seed, mix))
}

/// Hashes `bytes` to 64 bits. Inputs shorter than 4 MiB are hashed in one part: four
/// independent lanes over 32-byte stripes (so the multiply chains overlap), then the remaining
/// words and the tail on one lane. Longer inputs are a tree of depth one: cut into leaves of
/// 1 MiB (the last one takes the rest, less than 1 MiB more), each leaf hashed as one part,
/// and the leaves' hashes mixed in order; so [`copy_and_hash`] can hash leaves on two
/// threads and still agree with this function.
///
/// The result depends only on the bytes (not on the process, platform or Rust version), so it
/// can name a module in URLs and logs; it is not persisted, and the tree changed the values
/// of inputs of 4 MiB and more. Not cryptographic: equal hashes must still be confirmed by
/// comparing the bytes. Cost: about a multiply per 8 bytes, four in flight (~0.1 ms/MB), on
/// the calling thread.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    match leaf_count(len) {
        1 => hash_part(bytes),
        count => combine(
            len,
            (0..count).map(|i| hash_part(&bytes[leaf_range(len, count, i)])),
        ),
    }
}

/// Leaves still to copy: index, source, destination.
type Leaves<'a> = Mutex<std::vec::IntoIter<(usize, &'a [u8], &'a mut [MaybeUninit<u8>])>>;

/// Copies `bytes` into shared storage (what [`crate::Module::wire_bytes`] holds) and returns
/// the copy with its [`hash_bytes`], in one pass over the input: each block is hashed while
/// it is still in cache from the copy. Inputs of 4 MiB and more are copied, populated and
/// hashed leaf by leaf by the calling thread and, when `helper` is set, a short-lived second
/// one, each taking the next leaf when done with its last: in a fresh process, populating
/// the new pages is most of the cost, and two threads on a quiet machine take about two
/// thirds of the time of one (an 18 MB module: 23 ms to 15 ms). A helper that starts late (or
/// not at all) only takes fewer leaves. The copy and the hash are the same either way.
pub fn copy_and_hash(bytes: &[u8], helper: bool) -> (Arc<[u8]>, u64) {
    let len = bytes.len();
    let mut copy = Arc::<[u8]>::new_uninit_slice(len);
    let dst = Arc::get_mut(&mut copy).expect("a new Arc is unique");
    let hash = match leaf_count(len) {
        1 => copy_and_hash_part(bytes, dst),
        count => {
            let mut leaves = Vec::with_capacity(count);
            let mut rest = dst;
            for i in 0..count {
                let range = leaf_range(len, count, i);
                let (leaf, after) = std::mem::take(&mut rest).split_at_mut(range.len());
                leaves.push((i, &bytes[range], leaf));
                rest = after;
            }
            let leaves: Leaves = Mutex::new(leaves.into_iter());
            let (mine, theirs) = if !helper {
                (copy_leaves(&leaves), Vec::new())
            } else {
                std::thread::scope(|scope| {
                    let helper = std::thread::Builder::new()
                        .name("kiln-copy".into())
                        .spawn_scoped(scope, || copy_leaves(&leaves));
                    // This thread takes leaves until none is left, so all are done once the
                    // helper (if it started) has finished the ones it took.
                    let mine = copy_leaves(&leaves);
                    let theirs = helper.map_or_else(
                        |_| Vec::new(),
                        |handle| {
                            handle
                                .join()
                                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                        },
                    );
                    (mine, theirs)
                })
            };
            let mut hashes = vec![None; count];
            for (i, hash) in mine.into_iter().chain(theirs) {
                hashes[i] = Some(hash);
            }
            combine(
                len,
                hashes.into_iter().map(|h| h.expect("every leaf copied")),
            )
        }
    };
    // SAFETY: `copy_and_hash_part` wrote every byte of `dst`: whole, or leaf by leaf, every
    // leaf (they cover `dst`) by this thread or the helper, joined above.
    let copy = unsafe { copy.assume_init() };
    (copy, hash)
}

/// Takes leaves from `leaves` until none is left, copying and hashing each; returns their
/// indices and hashes.
fn copy_leaves(leaves: &Leaves) -> Vec<(usize, u64)> {
    let mut done = Vec::new();
    let next = || leaves.lock().unwrap_or_else(PoisonError::into_inner).next();
    while let Some((i, src, dst)) = next() {
        done.push((i, copy_and_hash_part(src, dst)));
    }
    done
}

/// Copies `src` into `dst` (of the same length), populating `dst`'s pages first, and returns
/// [`hash_part`] of the bytes.
fn copy_and_hash_part(src: &[u8], dst: &mut [MaybeUninit<u8>]) -> u64 {
    /// A multiple of the stripe size, small enough to stay in the L2 cache.
    const BLOCK: usize = 64 * 1024;
    debug_assert_eq!(src.len(), dst.len());
    crate::prefault::prefault(dst.as_mut_ptr().cast(), dst.len());
    let mut lanes = Lanes::new(src.len());
    let mut rest: &[u8] = &[];
    for (src, dst) in src.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)) {
        let block = dst.write_copy_of_slice(src);
        // Only the last block can leave bytes after its whole stripes.
        rest = lanes.stripes(block);
    }
    lanes.finish(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = Rng(seed | 1);
        let mut bytes: Vec<u8> = (0..len.div_ceil(8))
            .flat_map(|_| rng.next().to_le_bytes())
            .collect();
        bytes.truncate(len);
        bytes
    }

    #[test]
    fn stable_and_sensitive() {
        // Pinned: the hash names modules in URLs and logs, so it must be the same in every
        // process and on every platform (one-part inputs and trees).
        assert_eq!(hash_bytes(b"\0asm\x01\0\0\0"), 0xb11f_f30e_60cf_c4a6);
        let long: Vec<u8> = (0..100u8).collect();
        assert_eq!(hash_bytes(&long), 0x2885_3eb0_9caa_5b48);
        let large: Vec<u8> = (0..TREE_MIN + 77).map(|i| (i % 251) as u8).collect();
        assert_eq!(hash_bytes(&large), 0x3e6e_139a_fcf0_526c);
    }

    #[test]
    fn copy_and_hash_copies_and_agrees_with_hash_bytes() {
        let lengths = [
            0,
            1,
            7,
            8,
            31,
            32,
            33,
            64 * 1024 - 1,
            64 * 1024,
            64 * 1024 + 40,
            200_003,
            LEAF,
            TREE_MIN - 33,
            TREE_MIN - 1,
            TREE_MIN,
            TREE_MIN + 1,
            TREE_MIN + 31,
            TREE_MIN + 32,
            TREE_MIN + 33,
            5 * LEAF - 1,
            5 * LEAF,
            5 * LEAF + 1,
            6 * LEAF + 13,
        ];
        for (seed, len) in lengths.into_iter().enumerate() {
            let bytes = random_bytes(len, seed as u64);
            for helper in [true, false] {
                let (copy, hash) = copy_and_hash(&bytes, helper);
                assert_eq!(&copy[..], &bytes[..], "length {len}, helper {helper}");
                assert_eq!(hash, hash_bytes(&bytes), "length {len}, helper {helper}");
            }
        }
    }

    #[test]
    fn leaves_cover_the_input_in_order() {
        assert_eq!(leaf_count(TREE_MIN - 1), 1);
        assert_eq!(leaf_range(TREE_MIN - 1, 1, 0), 0..TREE_MIN - 1);
        for len in [TREE_MIN, TREE_MIN + 1, 5 * LEAF - 1, 5 * LEAF, 9 * LEAF + 5] {
            let count = leaf_count(len);
            assert!(count >= 2, "length {len}");
            let mut end = 0;
            for i in 0..count {
                let leaf = leaf_range(len, count, i);
                assert_eq!(leaf.start, end, "length {len}, leaf {i}");
                assert!(
                    (LEAF..2 * LEAF).contains(&leaf.len()),
                    "length {len}: {leaf:?}"
                );
                end = leaf.end;
            }
            assert_eq!(end, len);
        }
    }

    #[test]
    fn tree_hash_sees_every_byte_and_the_order_of_the_leaves() {
        let len = TREE_MIN + 45;
        let base = random_bytes(len, 42);
        let h0 = hash_bytes(&base);
        let mut rng = Rng(0xf11b);
        // Both ends of every leaf, and random places.
        let mut positions = vec![0, 1, 31, 32, len - 1];
        positions.extend((1..4).flat_map(|i| [i * LEAF - 1, i * LEAF]));
        positions.extend((0..8).map(|_| rng.below(len)));
        for &at in &positions {
            let mut bytes = base.clone();
            bytes[at] ^= 1 << (at % 8);
            let (copy, hash) = copy_and_hash(&bytes, true);
            assert_eq!(copy[at], bytes[at]);
            assert_ne!(hash, h0, "byte {at}");
            assert_eq!(hash, hash_bytes(&bytes), "byte {at}");
        }
        // The leaves are mixed in order: the same leaves swapped hash differently.
        let mut swapped = base[LEAF..2 * LEAF].to_vec();
        swapped.extend_from_slice(&base[..LEAF]);
        swapped.extend_from_slice(&base[2 * LEAF..]);
        assert_ne!(hash_bytes(&swapped), h0);
        // One byte more or less changes the last leaf and the length mixed in.
        assert_ne!(hash_bytes(&base[..len - 1]), h0);
        let mut longer = base.clone();
        longer.push(0);
        assert_ne!(hash_bytes(&longer), h0);
    }

    #[test]
    fn distinguishes_lengths_and_single_bits() {
        // Two stripes, two words and a tail: every part of the hash.
        let base = vec![0u8; 84];
        let h0 = hash_bytes(&base);
        for len in 0..84 {
            assert_ne!(hash_bytes(&base[..len]), h0, "length {len}");
        }
        for bit in 0..84 * 8 {
            let mut b = base.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(hash_bytes(&b), h0, "bit {bit}");
        }
    }
}
