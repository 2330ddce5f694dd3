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
        self.pos -= 1;
        self.u32_long()
    }

    #[cold]
    fn u32_long(&mut self) -> Option<u32> {
        let mut result = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            if shift == 28 && b > 0x0f {
                return None; // continuation or bits beyond 32
            }
            result |= u32::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(result);
            }
        }
        None
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
        self.pos -= 1;
        self.signed_long(bits)
    }

    fn signed_long(&mut self, bits: u32) -> Option<i64> {
        let mut result = 0i64;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
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
                return Some(result);
            }
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
