//! Malformed counts must not make the decoder allocate what the bytes do not contain.
//! This test binary counts every allocation to check it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator and only records sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn claimed_counts_do_not_drive_allocation() {
    let features = kiln_decoder::Features::all();
    for id in 1..=13u8 {
        // A section claiming u32::MAX - 1 entries, followed by a few bytes of entries.
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        let payload = [0xfe, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00, 0x00];
        bytes.extend_from_slice(&[id, payload.len() as u8]);
        bytes.extend_from_slice(&payload);
        LARGEST.store(0, Ordering::Relaxed);
        let result = kiln_decoder::decode(&bytes, &features);
        let largest = LARGEST.load(Ordering::Relaxed);
        assert!(result.is_err(), "section {id} accepted");
        assert!(
            largest < 64 * 1024,
            "section {id}: allocated {largest} bytes"
        );
    }
}
