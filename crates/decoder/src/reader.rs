//! A cursor over bytes with the LEB128 reads of the binary format, for the fast paths of the
//! decoder and the baseline compiler. Every read returns `None` on anything but a well-formed
//! encoding; callers then leave the input to wasmparser, which reports the exact error.

/// A cursor over bytes. LEB128 reads accept exactly the encodings the
/// specification allows (at most `ceil(bits / 7)` bytes, unused bits of the last byte equal
/// to the sign, or zero for unsigned).
#[derive(Debug)]
pub struct Reader<'a> {
    /// The bytes read.
    pub bytes: &'a [u8],
    /// The index of the next byte.
    pub pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    /// Whether every byte has been read.
    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len())?;
        self.pos = end;
        Some(())
    }

    /// The next byte.
    #[inline(always)]
    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// A little-endian `u32` of four bytes (the bits of an `f32.const`).
    #[inline(always)]
    pub fn fixed_u32(&mut self) -> Option<u32> {
        let bytes = self.bytes.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    }

    /// A little-endian `u64` of eight bytes (the bits of an `f64.const`).
    #[inline(always)]
    pub fn fixed_u64(&mut self) -> Option<u64> {
        let bytes = self.bytes.get(self.pos..self.pos + 8)?;
        self.pos += 8;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    /// An unsigned LEB128 `u32`.
    #[inline(always)]
    pub fn u32(&mut self) -> Option<u32> {
        let first = self.byte()?;
        if first < 0x80 {
            return Some(u32::from(first));
        }
        let (value, end) = u32_long(self.bytes, self.pos - 1)?;
        self.pos = end;
        Some(value)
    }

    /// A signed LEB128 of `bits` (32 or 64) bits, sign-extended to `i64`.
    #[inline(always)]
    pub fn signed(&mut self, bits: u32) -> Option<i64> {
        debug_assert!(bits > 7);
        let first = self.byte()?;
        if first < 0x80 {
            return Some(i64::from(((first << 1) as i8) >> 1));
        }
        // Two bytes (14 bits) are always within the `bits` allowed.
        if let Some(&second) = self.bytes.get(self.pos)
            && second < 0x80
        {
            self.pos += 1;
            let value = i64::from(first & 0x7f) | i64::from(second) << 7;
            return Some(value << 50 >> 50);
        }
        let (value, end) = signed_long(self.bytes, self.pos - 1, bits)?;
        self.pos = end;
        Some(value)
    }
}

// The long forms take and return the position by value: a `&mut Reader` argument would make
// every inlined caller keep its reader in memory instead of registers.

/// An unsigned LEB128 `u32` at `bytes[pos..]` and the position after it.
#[cold]
fn u32_long(bytes: &[u8], mut pos: usize) -> Option<(u32, usize)> {
    let mut result = 0u32;
    for shift in (0..35).step_by(7) {
        let b = *bytes.get(pos)?;
        pos += 1;
        if shift == 28 && b > 0x0f {
            return None; // continuation or bits beyond 32
        }
        result |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some((result, pos));
        }
    }
    None
}

/// A signed LEB128 of `bits` bits at `bytes[pos..]`, sign-extended, and the position after it.
/// Encodings of up to 8 bytes with 8 bytes to read are decoded as one word, without a loop
/// (constants such as addresses take 3 to 5 bytes); the rest by [`signed_loop`].
fn signed_long(bytes: &[u8], pos: usize, bits: u32) -> Option<(i64, usize)> {
    let Some(chunk) = bytes.get(pos..pos + 8) else {
        return signed_loop(bytes, pos, bits);
    };
    let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    // A byte without the continuation bit ends the number.
    let ends = !w & 0x8080_8080_8080_8080;
    if ends == 0 {
        return signed_loop(bytes, pos, bits);
    }
    let len = ends.trailing_zeros() / 8 + 1;
    if len > bits.div_ceil(7) {
        return None; // a continuation on the last byte the width allows
    }
    let v = w & (u64::MAX >> (64 - 8 * len));
    let mut x = 0;
    for i in 0..8 {
        x |= (v >> i) & (0x7f << (7 * i));
    }
    let sext = |n: u32| ((x << (64 - n)) as i64) >> (64 - n);
    let value = sext(7 * len);
    // The bits beyond the width must all equal its sign bit.
    if 7 * len > bits && sext(bits) != value {
        return None;
    }
    Some((value, pos + len as usize))
}

/// [`signed_long`] a byte at a time.
fn signed_loop(bytes: &[u8], mut pos: usize, bits: u32) -> Option<(i64, usize)> {
    let mut result = 0i64;
    let mut shift = 0;
    loop {
        let b = *bytes.get(pos)?;
        pos += 1;
        if shift + 7 >= bits {
            // The last byte allowed: no continuation, and its bits from the value's sign
            // bit up all equal.
            let used = bits - shift;
            let upper = 0x7f & !((1u8 << (used - 1)) - 1);
            if b & 0x80 != 0 || (b & upper != 0 && b & upper != upper) {
                return None;
            }
        }
        result |= i64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            if shift < 64 {
                result = result << (64 - shift) >> (64 - shift);
            }
            return Some((result, pos));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Reader;

    /// Every one- and two-byte signed LEB128 decodes to its value, whatever the width.
    #[test]
    fn short_signed_encodings_decode_for_both_widths() {
        for first in 0..=0xffu8 {
            for second in 0..0x80u8 {
                let bytes = [first, second];
                let (value, len) = if first < 0x80 {
                    (i64::from(((first << 1) as i8) >> 1), 1)
                } else {
                    let v = i64::from(first & 0x7f) | i64::from(second) << 7;
                    (if v & 0x2000 != 0 { v - 0x4000 } else { v }, 2)
                };
                for bits in [32, 64] {
                    let mut r = Reader::new(&bytes);
                    assert_eq!(r.signed(bits), Some(value), "{bytes:02x?} as s{bits}");
                    assert_eq!(r.pos, len);
                }
            }
        }
    }

    /// The word-at-a-time decoding agrees with the byte loop on every length, width and
    /// boundary: values, positions and rejections.
    #[test]
    fn word_decoding_agrees_with_the_loop() {
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for len in 1..=11 {
            for _ in 0..4000 {
                let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8 | 0x80).collect();
                b[len - 1] &= 0x7f;
                // Last bytes near the width limits: all ones, all zeros, single bits.
                if rng.below(2) == 0 {
                    b[len - 1] = [0x00, 0x7f, 0x78, 0x70, 0x08, 0x0f, 0x40, 0x3f][rng.below(8)];
                }
                b.extend((0..rng.below(10)).map(|_| rng.next() as u8));
                inputs.push(b);
            }
        }
        for b in &inputs {
            for bits in [32, 33, 64] {
                assert_eq!(
                    super::signed_long(b, 0, bits),
                    super::signed_loop(b, 0, bits),
                    "{b:02x?} as s{bits}"
                );
            }
        }
    }

    /// Longer encodings take the general path, which keeps the width's limits.
    #[test]
    fn long_signed_encodings_keep_the_width_limits() {
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x78]);
        assert_eq!(r.signed(32), Some(i64::from(i32::MIN)));
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x08]);
        assert_eq!(r.signed(32), None, "bits beyond 32 that are not the sign");
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x07]);
        assert_eq!(r.signed(32), Some(i64::from(i32::MAX)));
        let mut r = Reader::new(&[0x80, 0x80, 0x80]);
        assert_eq!(r.signed(64), None, "truncated");
        let mut r = Reader::new(&[0x80, 0x80, 0x01]);
        assert_eq!(r.signed(64), Some(1 << 14));
    }
}
