//! A fast, stable 64-bit hash of wire bytes, for script URLs and the module cache.

use std::mem::MaybeUninit;
use std::sync::Arc;

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

/// Inputs at least this long are hashed as two halves (see [`hash_bytes`]), which
/// [`copy_and_hash`] copies on two threads. Below it, a second thread costs more than it
/// saves: starting one takes ~0.1 ms, copying 1 MiB into fresh memory ~0.8 ms.
const SPLIT_MIN: usize = 2 << 20;

/// Where an input of `len` bytes splits into the halves hashed apart, if it does: the middle,
/// rounded down to a whole stripe. Depends only on `len`.
fn split_point(len: usize) -> Option<usize> {
    (len >= SPLIT_MIN).then_some(len / 2 / 32 * 32)
}

/// The hash of one part: four lanes over its 32-byte stripes, then its tail on one lane.
fn hash_part(bytes: &[u8]) -> u64 {
    let mut lanes = Lanes::new(bytes.len());
    let rest = lanes.stripes(bytes);
    lanes.finish(rest)
}

/// The hash of an input of `len` bytes from the hashes of its two halves.
fn combine(len: usize, left: u64, right: u64) -> u64 {
    // A seed of its own, so a combined hash is not that of some one-part input.
    let seed = P1 ^ (len as u64).wrapping_mul(P3).rotate_left(23);
    avalanche(mix(mix(seed, left), right))
}

/// Hashes `bytes` to 64 bits. Inputs shorter than 2 MiB are hashed in one part: four
/// independent lanes over 32-byte stripes (so the multiply chains overlap), then the remaining
/// words and the tail on one lane. Longer inputs are split at the middle (rounded down to 32
/// bytes), each half is hashed so, and the two hashes are combined: a tree of depth one, so
/// [`copy_and_hash`] can hash the halves on two threads and still agree with this function.
///
/// The result depends only on the bytes (not on the process, platform or Rust version), so it
/// can name a module in URLs and logs; it is not persisted, and the split rule above changed
/// the values of inputs of 2 MiB and more. Not cryptographic: equal hashes must still be
/// confirmed by comparing the bytes. Cost: about a multiply per 8 bytes, four in flight
/// (~0.1 ms/MB), on the calling thread.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    match split_point(bytes.len()) {
        None => hash_part(bytes),
        Some(mid) => {
            let (left, right) = bytes.split_at(mid);
            combine(bytes.len(), hash_part(left), hash_part(right))
        }
    }
}

/// Copies `bytes` into shared storage (what [`crate::Module::wire_bytes`] holds) and returns
/// the copy with its [`hash_bytes`], in one pass over the input: each block is hashed while
/// it is still in cache from the copy. Inputs of 2 MiB and more are copied, populated and
/// hashed as two halves, one of them on a short-lived second thread (on the calling thread
/// too if that thread cannot be started): in a fresh process, populating the new pages is
/// most of the cost, and two threads do it in ~60% of the time of one.
pub fn copy_and_hash(bytes: &[u8]) -> (Arc<[u8]>, u64) {
    let mut copy = Arc::<[u8]>::new_uninit_slice(bytes.len());
    let dst = Arc::get_mut(&mut copy).expect("a new Arc is unique");
    let hash = match split_point(bytes.len()) {
        None => copy_and_hash_part(bytes, dst),
        Some(mid) => {
            let (src_left, src_right) = bytes.split_at(mid);
            let (dst_left, dst_right) = dst.split_at_mut(mid);
            let (left, right) = std::thread::scope(|scope| {
                let helper = std::thread::Builder::new()
                    .name("kiln-copy".into())
                    .spawn_scoped(scope, || copy_and_hash_part(src_right, dst_right));
                let left = copy_and_hash_part(src_left, dst_left);
                let right = helper.ok().map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                });
                (left, right)
            });
            // No thread could be started: the right half is still to do.
            let right = right.unwrap_or_else(|| copy_and_hash_part(src_right, dst_right));
            combine(bytes.len(), left, right)
        }
    };
    // SAFETY: `copy_and_hash_part` wrote every byte of `dst`, whole or as the two halves.
    let copy = unsafe { copy.assume_init() };
    (copy, hash)
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
        // process and on every platform (one-part and two-part inputs).
        assert_eq!(hash_bytes(b"\0asm\x01\0\0\0"), 0xb11f_f30e_60cf_c4a6);
        let long: Vec<u8> = (0..100u8).collect();
        assert_eq!(hash_bytes(&long), 0x2885_3eb0_9caa_5b48);
        let large: Vec<u8> = (0..SPLIT_MIN + 77).map(|i| (i % 251) as u8).collect();
        assert_eq!(hash_bytes(&large), 0xfbeb_893f_2776_daa1);
    }

    #[test]
    fn copy_and_hash_copies_and_agrees_with_hash_bytes() {
        let around_split = [0, 1, 31, 32, 33, 63, 64, 65].map(|d| SPLIT_MIN + d);
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
            SPLIT_MIN - 33,
            SPLIT_MIN - 1,
        ]
        .into_iter()
        .chain(around_split)
        .chain([3 << 20, (5 << 20) + 13]);
        for (seed, len) in lengths.enumerate() {
            let bytes = random_bytes(len, seed as u64);
            let (copy, hash) = copy_and_hash(&bytes);
            assert_eq!(&copy[..], &bytes[..], "length {len}");
            assert_eq!(hash, hash_bytes(&bytes), "length {len}");
        }
    }

    #[test]
    fn split_is_mid_stripe_aligned() {
        assert_eq!(split_point(SPLIT_MIN - 1), None);
        for len in [
            SPLIT_MIN,
            SPLIT_MIN + 33,
            SPLIT_MIN + 63,
            SPLIT_MIN + 64,
            5 << 20,
        ] {
            let mid = split_point(len).unwrap();
            assert_eq!(mid % 32, 0, "length {len}");
            assert!(
                mid <= len - mid && len - mid - mid < 64,
                "length {len}: {mid}"
            );
        }
    }

    #[test]
    fn two_part_hash_sees_every_byte_and_the_order_of_the_halves() {
        let len = SPLIT_MIN + 45;
        let mid = split_point(len).unwrap();
        let base = random_bytes(len, 42);
        let h0 = hash_bytes(&base);
        let mut rng = Rng(0xf11b);
        // Both ends of both halves, the middle stripe's words, and random places.
        let mut positions = vec![0, 1, 31, 32, mid - 1, mid, mid + 1, mid + 32, len - 1];
        positions.extend((0..24).map(|_| rng.below(len)));
        for &at in &positions {
            let mut bytes = base.clone();
            bytes[at] ^= 1 << (at % 8);
            let (copy, hash) = copy_and_hash(&bytes);
            assert_eq!(copy[at], bytes[at]);
            assert_ne!(hash, h0, "byte {at}");
            assert_eq!(hash, hash_bytes(&bytes), "byte {at}");
        }
        // The halves are combined in order: the same two halves swapped hash differently.
        let mut swapped = base[mid..mid + mid].to_vec();
        swapped.extend_from_slice(&base[..mid]);
        swapped.extend_from_slice(&base[mid + mid..]);
        assert_ne!(hash_bytes(&swapped), h0);
        // One byte more or less changes the split and the lengths mixed in.
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
