//! Pre-faulting of large fresh buffers (the wire-bytes copy, the data segments): one
//! `madvise(MADV_POPULATE_WRITE)` populates the range instead of one page fault per 4 KiB on
//! first write. In a fresh process a 14 MB module otherwise spends more time in page faults
//! than in copying. (Asking for huge pages as well made the first allocation of a process
//! slower here: the kernel compacts memory to find them.) Advice only: failure (kernels before
//! 5.14, other systems) changes nothing but speed.

/// Buffers smaller than this fault in cheaply enough.
const MIN_LEN: usize = 1 << 20;

/// Populates `[ptr, ptr + len)` for writing. The range must be memory this process owns and is
/// about to write.
pub(crate) fn prefault(ptr: *mut u8, len: usize) {
    if len < MIN_LEN {
        return;
    }
    const PAGE: usize = 4096;
    let start = (ptr as usize).next_multiple_of(PAGE);
    let end = (ptr as usize + len) & !(PAGE - 1);
    if end <= start {
        return;
    }
    // SAFETY: `[start, end)` lies inside an allocation the caller owns; populating only
    // backs its pages (zeroed, for anonymous memory), over memory still to be written.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::madvise(
            start as *mut libc::c_void,
            end - start,
            libc::MADV_POPULATE_WRITE,
        );
    }
}

#[cfg(test)]
mod tests {
    /// Populating never changes what memory holds, written or not.
    #[test]
    fn prefault_keeps_contents() {
        let mut buffer: Vec<u8> = (0..3 << 20).map(|i| (i % 251) as u8).collect();
        super::prefault(buffer.as_mut_ptr().wrapping_add(1), buffer.len() - 3);
        assert!(
            buffer
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8)
        );
        let mut fresh: Vec<u64> = Vec::with_capacity(1 << 18);
        let spare = fresh.spare_capacity_mut();
        super::prefault(spare.as_mut_ptr().cast(), std::mem::size_of_val(spare));
        fresh.extend(0..1 << 18);
        assert!(fresh.iter().enumerate().all(|(i, &v)| v == i as u64));
    }
}
