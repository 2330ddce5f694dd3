//! A fast, stable 64-bit hash of wire bytes, for script URLs and the module cache.

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
        // Final avalanche so every input bit affects every output bit.
        h ^= h >> 33;
        h = h.wrapping_mul(P2);
        h ^= h >> 29;
        h = h.wrapping_mul(P3);
        h ^ (h >> 32)
    }
}

/// Hashes `bytes` to 64 bits: four independent lanes over 32-byte stripes (so the multiply
/// chains overlap), then the remaining words and the tail on one lane.
///
/// The result depends only on the bytes (not on the process, platform or Rust version), so it
/// can name a module in URLs and logs. Not cryptographic: equal hashes must still be confirmed
/// by comparing the bytes. Cost: about a multiply per 8 bytes, four in flight (~0.1 ms/MB).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut lanes = Lanes::new(bytes.len());
    let rest = lanes.stripes(bytes);
    lanes.finish(rest)
}

/// Copies `bytes` into shared storage (what [`crate::Module::wire_bytes`] holds) and returns
/// the copy with its [`hash_bytes`], in one pass over the input: each block is hashed while
/// it is still in cache from the copy.
pub fn copy_and_hash(bytes: &[u8]) -> (Arc<[u8]>, u64) {
    /// A multiple of the stripe size, small enough to stay in the L2 cache.
    const BLOCK: usize = 64 * 1024;
    let mut copy = Arc::<[u8]>::new_uninit_slice(bytes.len());
    let dst = Arc::get_mut(&mut copy).expect("a new Arc is unique");
    crate::prefault::prefault(dst.as_mut_ptr().cast(), dst.len());
    let mut lanes = Lanes::new(bytes.len());
    let mut rest: &[u8] = &[];
    for (src, dst) in bytes.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)) {
        let block = dst.write_copy_of_slice(src);
        // Only the last block can leave bytes after its whole stripes.
        rest = lanes.stripes(block);
    }
    let hash = lanes.finish(rest);
    // SAFETY: the blocks cover `dst`, so every byte was written above.
    let copy = unsafe { copy.assume_init() };
    (copy, hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_sensitive() {
        // Pinned: the hash names modules in URLs, so it must not change between releases.
        assert_eq!(hash_bytes(b"\0asm\x01\0\0\0"), 0xb11f_f30e_60cf_c4a6);
        let long: Vec<u8> = (0..100u8).collect();
        assert_eq!(hash_bytes(&long), 0x2885_3eb0_9caa_5b48);
    }

    #[test]
    fn copy_and_hash_copies_and_agrees_with_hash_bytes() {
        for len in [
            0,
            1,
            31,
            32,
            33,
            64 * 1024 - 1,
            64 * 1024,
            64 * 1024 + 40,
            200_003,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
            let (copy, hash) = copy_and_hash(&bytes);
            assert_eq!(&copy[..], &bytes[..], "length {len}");
            assert_eq!(hash, hash_bytes(&bytes), "length {len}");
        }
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
