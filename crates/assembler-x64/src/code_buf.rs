//! The code buffer: a byte vector that always keeps [`SLACK`] bytes of spare capacity, so
//! that an instruction is appended with one unchecked 16-byte store and no capacity check
//! before it.

use std::ops::{Deref, DerefMut};

/// Spare capacity always present after the last byte: one 16-byte instruction copy.
pub(crate) const SLACK: usize = 16;

/// A `Vec<u8>` with the invariant `capacity - len >= SLACK`, kept by every method that
/// appends. Reads and in-place writes go through `Deref`/`DerefMut` to `[u8]`.
#[derive(Debug)]
pub(crate) struct CodeBuf {
    vec: Vec<u8>,
}

impl Default for CodeBuf {
    fn default() -> CodeBuf {
        CodeBuf::from_vec(Vec::new())
    }
}

impl CodeBuf {
    /// Takes over `vec` (its bytes kept) and makes room for the slack.
    pub fn from_vec(mut vec: Vec<u8>) -> CodeBuf {
        vec.reserve(SLACK);
        CodeBuf { vec }
    }

    /// The bytes, giving up the buffer.
    pub fn into_vec(self) -> Vec<u8> {
        self.vec
    }

    /// The allocated capacity, slack included.
    pub fn capacity(&self) -> usize {
        self.vec.capacity()
    }

    /// Empties the buffer, keeping its allocation (the slack stays).
    pub fn clear(&mut self) {
        self.vec.clear();
    }

    /// Makes room for `bytes` more bytes besides the slack.
    pub fn reserve(&mut self, bytes: usize) {
        self.vec.reserve(bytes.saturating_add(SLACK));
    }

    /// Appends one byte.
    pub fn push(&mut self, b: u8) {
        self.vec.push(b);
        self.keep_slack();
    }

    /// Appends `bytes`.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.vec.extend_from_slice(bytes);
        self.keep_slack();
    }

    /// Appends `n` copies of `b`.
    pub fn extend_repeat(&mut self, b: u8, n: usize) {
        self.vec.resize(self.vec.len() + n, b);
        self.keep_slack();
    }

    /// Appends the first `len` bytes of `bytes` (`len <= 16`) with one fixed 16-byte copy
    /// into the slack, then restores the slack if it ran short (rarely: growth doubles).
    #[inline(always)]
    pub fn put(&mut self, bytes: &[u8; 16], len: usize) {
        debug_assert!(len <= 16);
        let len = len.min(16);
        let base = self.vec.len();
        debug_assert!(self.vec.capacity() - base >= SLACK);
        // SAFETY: the invariant `capacity - len >= SLACK` (16) holds between calls, so the
        // 16-byte write after the `base` initialised bytes stays inside the allocation and does
        // not overlap `bytes` (a separate array). After it the first `base + len` bytes are
        // initialised.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.vec.as_mut_ptr().add(base), 16);
            self.vec.set_len(base + len);
        }
        self.keep_slack();
    }

    /// Restores the invariant after an append.
    #[inline(always)]
    fn keep_slack(&mut self) {
        if self.vec.capacity() - self.vec.len() < SLACK {
            self.grow();
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        self.vec.reserve(SLACK);
    }
}

impl Deref for CodeBuf {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.vec
    }
}

impl DerefMut for CodeBuf {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.vec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_append_keeps_the_slack() {
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8 + 1);
        let mut buf = CodeBuf::default();
        let mut want = Vec::new();
        let check = |buf: &CodeBuf, want: &Vec<u8>| {
            assert_eq!(&buf[..], &want[..]);
            assert!(buf.capacity() - buf.len() >= SLACK);
        };
        check(&buf, &want);
        for i in 0..300 {
            let len = i % 17;
            buf.put(&bytes, len);
            want.extend_from_slice(&bytes[..len]);
            check(&buf, &want);
            match i % 5 {
                0 => {
                    buf.push(0xEE);
                    want.push(0xEE);
                }
                1 => {
                    buf.extend_from_slice(&[1, 2, 3]);
                    want.extend_from_slice(&[1, 2, 3]);
                }
                2 => {
                    buf.extend_repeat(0xCC, i % 7);
                    want.extend(std::iter::repeat_n(0xCC, i % 7));
                }
                _ => {}
            }
            check(&buf, &want);
        }
        buf.clear();
        buf.reserve(1000);
        assert!(buf.capacity() >= 1000 + SLACK);
        let reused = CodeBuf::from_vec(buf.into_vec());
        assert!(reused.is_empty() && reused.capacity() - reused.len() >= SLACK);
    }
}
