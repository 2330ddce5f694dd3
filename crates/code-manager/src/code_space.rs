//! One native module's code space: a reserved range of address space, mapped twice.
//!
//! The memory is an anonymous shared-memory file (`memfd_create`) of the reservation's size,
//! mapped once as the *executable view* (pages `r-x` once committed) and once as the *writable
//! view* (pages `rw-` once committed). Code runs at executable-view addresses; the code manager
//! writes through the writable view at the same offset. No page is ever mapped writable and
//! executable at once, and no protection ever changes under a running thread: committing turns
//! `---` pages into `r-x`/`rw-`, decommitting turns them back and releases their memory.
//!
//! Both views are `MADV_DONTFORK`: a `fork()`ed child does not inherit the code space (sharing
//! it would let the child rewrite the parent's code). A child that inherits the Rust objects
//! leaves the (absent) views alone when it frees code or drops a module: the addresses may by
//! then belong to its own mappings.
//!
//! Allocation is first fit over a free list of ranges, in units of [`CODE_ALIGNMENT`]. Pages are
//! committed when an allocation first touches them and decommitted when a freed range covers them
//! whole, so freed space is reused by later allocations and costs no memory while unused. A
//! commit also takes the uncommitted pages that follow, half as many as are committed already
//! (at most `MAX_COMMIT_AHEAD` bytes), so sequential publishing commits in O(log n) steps.
//! Pages are populated in the writable view as allocations reach them, a step at a time
//! (`MADV_POPULATE_WRITE`, far cheaper than one shared-memory page fault per page on first
//! write), not when committed: populating a page costs microseconds, and pages committed ahead
//! may never be used.

use std::collections::BTreeMap;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use region::Protection;

use crate::CodeError;

/// Alignment and size granule of every allocation in a code space (one cache line).
pub const CODE_ALIGNMENT: usize = 64;

/// The largest code space one native module may reserve: 1 GiB.
///
/// Every call within a module (code to a jump-table slot, a slot to code, a stub to the
/// trampoline) stays within one reservation, so any rel32 displacement (±2 GiB) reaches.
pub const MAX_CODE_SPACE: usize = 1 << 30;

/// The most bytes committed ahead of need in one step (see `CodeSpace::commit`).
const MAX_COMMIT_AHEAD: usize = 4 << 20;

/// Bytes populated past an allocation that reaches unpopulated pages (see
/// `CodeSpace::populate`): few system calls for many small functions, little memory touched
/// in vain.
const POPULATE_AHEAD: usize = 128 << 10;

static LIVE_RESERVED: AtomicUsize = AtomicUsize::new(0);

/// Bytes of code-space reservations currently mapped in the process (each counted once, though
/// mapped twice), including those of dropped modules still waiting for their grace period. For
/// leak checks: it returns to its starting value once every module is dropped and reclaimed.
pub fn live_code_reservations() -> usize {
    LIVE_RESERVED.load(Ordering::SeqCst)
}

/// A reservation with its two views, its free list and its committed pages.
///
/// Invariants: `free` holds disjoint, non-adjacent ranges inside `[0, size)`, aligned to
/// [`CODE_ALIGNMENT`]; every page overlapping an allocated range is committed (free pages may
/// be committed too, ahead of need); a committed page is
/// `r-x` in the executable view and `rw-` in the writable view, an uncommitted one `---` in both.
#[derive(Debug)]
pub(crate) struct CodeSpace {
    exec: *mut u8,
    write: *mut u8,
    size: usize,
    page_size: usize,
    /// start -> length of each free range.
    free: BTreeMap<usize, usize>,
    /// One bit per page: committed or not.
    committed: Vec<u64>,
    committed_bytes: usize,
    /// Pages below this offset have been populated in the writable view (or decommitted
    /// since): a high-water mark, only a hint for `populate`.
    populated: usize,
    /// The process that mapped the views; in a forked child they do not exist.
    owner: u32,
}

// SAFETY: the raw pointers are the bases of mappings this value owns; all mutation goes through
// `&mut self`, and shared access only computes addresses.
unsafe impl Send for CodeSpace {}
// SAFETY: as above; `&self` methods never write through the views.
unsafe impl Sync for CodeSpace {}

impl CodeSpace {
    /// Reserves `size` bytes (rounded up to whole pages) of address space twice over one memfd.
    /// Cost: four system calls; no memory is committed.
    pub(crate) fn reserve(size: usize) -> Result<CodeSpace, CodeError> {
        if size == 0 || size > MAX_CODE_SPACE {
            return Err(CodeError::InvalidCodeSpaceSize {
                requested: size,
                max: MAX_CODE_SPACE,
            });
        }
        let page_size = region::page::size();
        let size = size.next_multiple_of(page_size);
        // SAFETY: the name is a NUL-terminated C string; the flags are valid.
        let fd = unsafe { libc::memfd_create(c"kiln-wasm-code".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(CodeError::last_os_error("memfd_create"));
        }
        let result = Self::map_views(fd, size);
        // SAFETY: `fd` is ours; the mappings keep the file alive after it is closed.
        unsafe { libc::close(fd) };
        let (exec, write) = result?;
        LIVE_RESERVED.fetch_add(size, Ordering::SeqCst);
        let mut free = BTreeMap::new();
        free.insert(0, size);
        Ok(CodeSpace {
            exec,
            write,
            size,
            page_size,
            free,
            committed: vec![0; (size / page_size).div_ceil(64)],
            committed_bytes: 0,
            populated: 0,
            owner: std::process::id(),
        })
    }

    fn map_views(fd: libc::c_int, size: usize) -> Result<(*mut u8, *mut u8), CodeError> {
        // SAFETY: `fd` is a valid memfd.
        if unsafe { libc::ftruncate(fd, size as libc::off_t) } != 0 {
            return Err(CodeError::last_os_error("ftruncate"));
        }
        let map = || {
            // SAFETY: a fresh PROT_NONE shared mapping of a file we own, at an address the
            // kernel picks; it overlaps nothing.
            let p = unsafe {
                libc::mmap(
                    ptr::null_mut(),
                    size,
                    libc::PROT_NONE,
                    libc::MAP_SHARED | libc::MAP_NORESERVE,
                    fd,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(CodeError::last_os_error("mmap"));
            }
            // A shared mapping would stay shared with a fork()ed child, which could then
            // rewrite the parent's code; the child gets no code space instead.
            // SAFETY: `p` is the mapping of `size` bytes created just above.
            if unsafe { libc::madvise(p, size, libc::MADV_DONTFORK) } != 0 {
                let error = CodeError::last_os_error("madvise");
                // SAFETY: as above; nothing else knows of the mapping.
                unsafe { libc::munmap(p, size) };
                return Err(error);
            }
            Ok(p)
        };
        let exec = map()?;
        match map() {
            Ok(write) => Ok((exec.cast(), write.cast())),
            Err(e) => {
                // SAFETY: `exec` is the mapping created just above, of `size` bytes.
                unsafe { libc::munmap(exec, size) };
                Err(e)
            }
        }
    }

    /// Address of the executable view's first byte.
    pub(crate) fn exec_base(&self) -> usize {
        self.exec as usize
    }

    /// Size of the reservation in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Bytes currently committed (counted once, though mapped twice).
    pub(crate) fn committed_bytes(&self) -> usize {
        self.committed_bytes
    }

    /// The writable-view pointer for `offset`. Writing through it is only sound for allocated
    /// ranges, which are committed.
    pub(crate) fn write_ptr(&self, offset: usize) -> *mut u8 {
        debug_assert!(offset < self.size);
        self.write.wrapping_add(offset)
    }

    /// Allocates `len` bytes (rounded up to [`CODE_ALIGNMENT`]), first fit, committing the pages
    /// it touches (and, to commit in few steps, some that follow). Returns the offset. Cost:
    /// O(free ranges) plus two `mprotect` per newly committed run of pages and one `madvise`
    /// per [`POPULATE_AHEAD`] bytes of new pages.
    pub(crate) fn allocate(&mut self, len: usize) -> Result<usize, CodeError> {
        let len = len.max(1).next_multiple_of(CODE_ALIGNMENT);
        let found = self
            .free
            .iter()
            .find(|&(_, &l)| l >= len)
            .map(|(&s, &l)| (s, l));
        let Some((start, free_len)) = found else {
            return Err(CodeError::OutOfCodeSpace {
                requested: len,
                largest_free: self.free.values().copied().max().unwrap_or(0),
                reserved: self.size,
            });
        };
        self.free.remove(&start);
        if free_len > len {
            self.free.insert(start + len, free_len - len);
        }
        if let Err(e) = self.commit(start, len) {
            self.release(start, len);
            return Err(e);
        }
        self.populate(start, start + len);
        Ok(start)
    }

    /// Populates the writable view's pages of the allocation `[start, end)` (committed) that
    /// lie above the high-water mark, and up to [`POPULATE_AHEAD`] bytes of committed pages
    /// after it. Only a speed-up: on kernels before 5.14 (EINVAL) or under memory pressure the
    /// writes fault as before; pages below the mark that were decommitted and reused fault in
    /// the same way.
    fn populate(&mut self, start: usize, end: usize) {
        if end <= self.populated || !self.mapped_here() {
            return;
        }
        let from = self.populated.max(start / self.page_size * self.page_size);
        let mut to = end.next_multiple_of(self.page_size);
        let limit = (to + POPULATE_AHEAD).min(self.size);
        while to < limit && self.is_committed(to / self.page_size) {
            to += self.page_size;
        }
        // SAFETY: `[from, to)` lies inside the writable view, on committed (`rw-`) pages:
        // those of the allocation ending at `end`, and the committed ones checked above.
        // Populating writes nothing visible (shared-memory pages read as zero either way).
        unsafe {
            libc::madvise(
                self.write.add(from).cast(),
                to - from,
                libc::MADV_POPULATE_WRITE,
            )
        };
        self.populated = to;
    }

    /// Returns `[offset, offset + len)` (as allocated) to the free list and decommits every page
    /// the merged free range now covers whole. Cost: O(log ranges) plus the decommit calls.
    pub(crate) fn free(&mut self, offset: usize, len: usize) {
        let len = len.max(1).next_multiple_of(CODE_ALIGNMENT);
        let (start, end) = self.release(offset, len);
        let first_page = start.div_ceil(self.page_size);
        let end_page = end / self.page_size;
        let mut page = first_page;
        while page < end_page {
            if !self.is_committed(page) {
                page += 1;
                continue;
            }
            let run_start = page;
            while page < end_page && self.is_committed(page) {
                page += 1;
            }
            self.decommit_pages(run_start, page - run_start);
        }
    }

    /// Inserts a range into the free list, merging with neighbours; returns the merged range.
    fn release(&mut self, offset: usize, len: usize) -> (usize, usize) {
        let mut start = offset;
        let mut end = offset + len;
        if let Some((&prev, &prev_len)) = self.free.range(..start).next_back() {
            debug_assert!(prev + prev_len <= start, "double free in code space");
            if prev + prev_len == start {
                self.free.remove(&prev);
                start = prev;
            }
        }
        if let Some(next_len) = self.free.remove(&end) {
            end += next_len;
        }
        self.free.insert(start, end - start);
        (start, end)
    }

    fn is_committed(&self, page: usize) -> bool {
        self.committed[page / 64] & (1 << (page % 64)) != 0
    }

    fn set_committed(&mut self, page: usize, on: bool) {
        if on {
            self.committed[page / 64] |= 1 << (page % 64);
        } else {
            self.committed[page / 64] &= !(1 << (page % 64));
        }
    }

    fn commit(&mut self, offset: usize, len: usize) -> Result<(), CodeError> {
        let end_page = (offset + len).div_ceil(self.page_size);
        let mut page = offset / self.page_size;
        while page < end_page {
            if self.is_committed(page) {
                page += 1;
                continue;
            }
            let run_start = page;
            while page < end_page && !self.is_committed(page) {
                page += 1;
            }
            // Commit ahead into the uncommitted pages that follow, so a module whose code
            // is published piece by piece commits in few, geometrically growing steps.
            let ahead = self.commit_ahead_pages();
            let total_pages = self.size / self.page_size;
            while page < total_pages && page - run_start < ahead && !self.is_committed(page) {
                page += 1;
            }
            self.commit_pages(run_start, page - run_start)?;
        }
        Ok(())
    }

    /// The fewest pages a newly committed run spans (if that many uncommitted pages follow):
    /// half the pages committed so far, at most [`MAX_COMMIT_AHEAD`] bytes. Committed memory
    /// thus exceeds what allocations touch by at most half (or that cap), while a module
    /// of `n` committed bytes takes O(log n) commits.
    fn commit_ahead_pages(&self) -> usize {
        (self.committed_bytes / 2).min(MAX_COMMIT_AHEAD) / self.page_size
    }

    fn commit_pages(&mut self, first: usize, count: usize) -> Result<(), CodeError> {
        let offset = first * self.page_size;
        let len = count * self.page_size;
        // SAFETY: the range lies inside both views, which this value owns; these pages are
        // uncommitted, so no code runs there and no reference into them exists.
        unsafe {
            region::protect(self.exec.add(offset), len, Protection::READ_EXECUTE)
                .map_err(|_| CodeError::last_os_error("mprotect"))?;
            region::protect(self.write.add(offset), len, Protection::READ_WRITE)
                .map_err(|_| CodeError::last_os_error("mprotect"))?;
        }
        for page in first..first + count {
            self.set_committed(page, true);
        }
        self.committed_bytes += len;
        Ok(())
    }

    /// Whether the views are mapped in this process (not in a `fork()`ed child).
    fn mapped_here(&self) -> bool {
        std::process::id() == self.owner
    }

    fn decommit_pages(&mut self, first: usize, count: usize) {
        let offset = first * self.page_size;
        let len = count * self.page_size;
        if !self.mapped_here() {
            return;
        }
        // SAFETY: the pages lie inside both views and are wholly free: no code on them can run
        // any more (the caller frees code only after its grace period) and nothing refers to
        // them. MADV_REMOVE needs the writable view still writable, so it comes first.
        let ok = unsafe {
            libc::madvise(self.write.add(offset).cast(), len, libc::MADV_REMOVE) == 0
                && region::protect(self.write.add(offset), len, Protection::NONE).is_ok()
                && region::protect(self.exec.add(offset), len, Protection::NONE).is_ok()
        };
        debug_assert!(ok, "decommit failed: {}", std::io::Error::last_os_error());
        for page in first..first + count {
            self.set_committed(page, false);
        }
        self.committed_bytes -= len;
    }
}

impl Drop for CodeSpace {
    fn drop(&mut self) {
        if !self.mapped_here() {
            return;
        }
        LIVE_RESERVED.fetch_sub(self.size, Ordering::SeqCst);
        // SAFETY: both views were mapped by `reserve` with `self.size` bytes and nothing runs in
        // or refers to them any more (a code space is dropped after its module's grace period).
        unsafe {
            libc::munmap(self.exec.cast(), self.size);
            libc::munmap(self.write.cast(), self.size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_first_fit_and_reuses_freed_ranges() {
        let mut space = CodeSpace::reserve(1 << 20).unwrap();
        let a = space.allocate(100).unwrap();
        let b = space.allocate(64).unwrap();
        assert_eq!((a, b), (0, 128));
        space.free(a, 100);
        assert_eq!(space.allocate(10).unwrap(), 0);
        assert_eq!(space.allocate(64).unwrap(), 64);
        assert_eq!(space.allocate(1).unwrap(), 192);
    }

    #[test]
    fn commits_and_decommits_whole_pages() {
        let page = region::page::size();
        let mut space = CodeSpace::reserve(1 << 20).unwrap();
        assert_eq!(space.committed_bytes(), 0);
        let a = space.allocate(3 * page).unwrap();
        let b = space.allocate(64).unwrap();
        assert_eq!(space.committed_bytes(), 4 * page);
        // SAFETY: `a` is allocated and committed; the writable view is rw.
        unsafe { space.write_ptr(a).write(0xC3) };
        // SAFETY: the executable view of the same offset is readable.
        assert_eq!(unsafe { *(space.exec_base() as *const u8) }, 0xC3);
        space.free(a, 3 * page);
        // The page shared with `b` stays committed.
        assert_eq!(space.committed_bytes(), page);
        space.free(b, 64);
        assert_eq!(space.committed_bytes(), 0);
        // Reused pages read as zero: the memory was released.
        let c = space.allocate(64).unwrap();
        // SAFETY: `c` is allocated and committed.
        assert_eq!(unsafe { *(space.exec_base() as *const u8).add(c) }, 0);
    }

    /// The protection of the page at `addr` in this process, as `/proc/self/maps` shows it
    /// (`"rw-s"`, `"r-xs"`, `"---s"`).
    fn protection_at(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|line| {
                let mut fields = line.split_whitespace();
                let (start, end) = fields.next()?.split_once('-')?;
                let start = usize::from_str_radix(start, 16).ok()?;
                let end = usize::from_str_radix(end, 16).ok()?;
                (start <= addr && addr < end).then(|| fields.next().unwrap().to_string())
            })
            .unwrap_or_else(|| panic!("{addr:#x} is not mapped"))
    }

    /// Code published piece by piece commits in few, geometrically growing steps, never more
    /// than half as much again as allocations touch (or the cap), and every committed page is
    /// `rw-` only in the writable view and `r-x` only in the executable view.
    #[test]
    fn commits_ahead_in_few_steps_and_keeps_w_xor_x() {
        let page = region::page::size();
        let mut space = CodeSpace::reserve(64 << 20).unwrap();
        let mut steps = 0;
        let mut end = 0;
        for _ in 0..2048 {
            let before = space.committed_bytes();
            let offset = space.allocate(page).unwrap();
            end = offset + page;
            steps += usize::from(space.committed_bytes() != before);
            let touched = end.next_multiple_of(page);
            assert!(space.committed_bytes() >= touched);
            assert!(space.committed_bytes() <= touched + (touched / 2).min(MAX_COMMIT_AHEAD));
        }
        assert!(steps < 40, "{steps} commit steps for 2048 pages");
        let committed = space.committed_bytes();
        for offset in [0, end - 1, committed - 1] {
            assert_eq!(protection_at(space.exec_base() + offset), "r-xs");
            assert_eq!(protection_at(space.write_ptr(offset) as usize), "rw-s");
        }
        // Past the committed pages both views stay inaccessible.
        assert_eq!(protection_at(space.exec_base() + committed), "---s");
        assert_eq!(protection_at(space.write_ptr(committed) as usize), "---s");
        // Pages committed ahead are zero and writable through the writable view only.
        // SAFETY: `committed - 1` lies in a committed page, `rw-` in the writable view.
        unsafe { space.write_ptr(committed - 1).write(0x90) };
        // SAFETY: the same page is readable in the executable view.
        let read_back = unsafe { *(space.exec_base() as *const u8).add(committed - 1) };
        assert_eq!(read_back, 0x90);
        // Freeing everything decommits everything, the pages committed ahead included.
        space.free(0, end);
        assert_eq!(space.committed_bytes(), 0);
        assert_eq!(protection_at(space.exec_base()), "---s");
    }

    /// Whether the page at `offset` of the writable view is backed by memory (`mincore`).
    fn resident(space: &CodeSpace, offset: usize) -> bool {
        let page = region::page::size();
        let addr = space.write_ptr(offset / page * page);
        let mut vec = 0u8;
        // SAFETY: `addr` is a page-aligned address inside the writable view's mapping; `vec`
        // receives one byte for the one page asked about.
        let rc = unsafe { libc::mincore(addr.cast(), page, &mut vec) };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        vec & 1 != 0
    }

    #[test]
    fn populates_allocated_pages_not_all_committed_ones() {
        let page = region::page::size();
        let mut space = CodeSpace::reserve(64 << 20).unwrap();
        // 8 MiB in 64 KiB functions: commits run up to 4 MiB ahead of the last allocation.
        let mut end = 0;
        for _ in 0..128 {
            end = space.allocate(64 << 10).unwrap() + (64 << 10);
        }
        let committed = space.committed_bytes();
        assert!(
            committed >= end + (1 << 20),
            "{committed} committed for {end}"
        );
        for offset in (0..end).step_by(page) {
            assert!(
                resident(&space, offset),
                "allocated page at {offset:#x} not populated"
            );
        }
        // Past the populating step, committed pages stay untouched until allocated.
        let beyond = end + POPULATE_AHEAD + page;
        assert!(beyond < committed);
        assert!(!resident(&space, beyond));
        assert!(!resident(&space, committed - page));
    }

    #[test]
    fn running_out_is_a_typed_error() {
        let mut space = CodeSpace::reserve(64 * 1024).unwrap();
        space.allocate(60 * 1024).unwrap();
        let err = space.allocate(8 * 1024).unwrap_err();
        assert_eq!(
            err,
            CodeError::OutOfCodeSpace {
                requested: 8192,
                largest_free: 4096,
                reserved: 65536
            }
        );
        assert!(err.to_string().contains("8192"));
        assert!(CodeSpace::reserve(MAX_CODE_SPACE + 1).is_err());
    }

    /// A `fork()`ed child inherits this object but not the views; dropping it there must not
    /// unmap whatever the child has since mapped at those addresses.
    #[test]
    fn a_forked_child_leaves_the_absent_views_alone() {
        let space = CodeSpace::reserve(1 << 20).unwrap();
        let start = space.exec as usize;
        // SAFETY: fork in a test; the child only maps, drops, reads and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: in the child the views are absent (MADV_DONTFORK), so the range is free.
            let p = unsafe {
                libc::mmap(
                    start as *mut libc::c_void,
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                    -1,
                    0,
                )
            };
            let code = if p as usize != start {
                2
            } else {
                // SAFETY: the page was just mapped read-write.
                unsafe { *(start as *mut u8) = 7 };
                drop(space);
                // SAFETY: still mapped, unless dropping the space unmapped it (then this faults).
                if unsafe { std::ptr::read_volatile(start as *const u8) } == 7 {
                    0
                } else {
                    3
                }
            };
            // SAFETY: leaving the child without running the test harness's destructors.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0);
    }
}
