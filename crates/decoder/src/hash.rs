//! A fast, stable 64-bit hash of wire bytes, for script URLs and the module cache.

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;

fn mix(h: u64, word: u64) -> u64 {
    (h ^ word.wrapping_mul(P2).rotate_left(31).wrapping_mul(P1))
        .rotate_left(27)
        .wrapping_mul(P1)
        .wrapping_add(P3)
}

/// Hashes `bytes` to 64 bits, eight bytes a step.
///
/// The result depends only on the bytes (not on the process, platform or Rust version), so it
/// can name a module in URLs and logs. Not cryptographic: equal hashes must still be confirmed
/// by comparing the bytes. Cost: about one multiply chain per 8 bytes.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = P3 ^ (bytes.len() as u64).wrapping_mul(P2);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        h = mix(
            h,
            u64::from_le_bytes(word.try_into().expect("8-byte chunk")),
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_sensitive() {
        // Pinned: the hash names modules in URLs, so it must not change between releases.
        assert_eq!(hash_bytes(b"\0asm\x01\0\0\0"), 0xd96c_4c0e_fbdd_ddb8);
    }

    #[test]
    fn distinguishes_lengths_and_single_bits() {
        let base = vec![0u8; 64];
        let h0 = hash_bytes(&base);
        for len in 0..64 {
            if len != 64 {
                assert_ne!(hash_bytes(&base[..len]), h0, "length {len}");
            }
        }
        for bit in 0..64 * 8 {
            let mut b = base.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(hash_bytes(&b), h0, "bit {bit}");
        }
    }
}
