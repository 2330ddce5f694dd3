//! Allocation of `VMContext` blocks.
//!
//! The layout is [`kiln_abi::VMContextLayout`]'s; this module only owns the memory: one
//! zeroed, 16-byte-aligned block per instance, freed with the instance's store.

use std::alloc::Layout;

use kiln_abi::VMContextLayout;

/// One instance's `VMContext` memory.
pub(crate) struct VMContextBlock {
    base: *mut u8,
    layout: Layout,
}

impl VMContextBlock {
    /// A zeroed block of `layout.size()` bytes, 16-aligned.
    pub(crate) fn new(layout: &VMContextLayout) -> VMContextBlock {
        let layout = Layout::from_size_align(layout.size().max(16) as usize, 16)
            .expect("VMContext sizes are small");
        // SAFETY: the layout has a non-zero size.
        let base = unsafe { std::alloc::alloc_zeroed(layout) };
        if base.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        VMContextBlock { base, layout }
    }

    /// The `VMContext` pointer.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    /// A pointer to the field at `offset`.
    pub(crate) fn at<T>(&self, offset: u32) -> *mut T {
        debug_assert!(offset as usize + size_of::<T>() <= self.layout.size());
        // SAFETY: offsets come from the block's VMContextLayout, so they are inside it.
        unsafe { self.base.add(offset as usize).cast() }
    }

    /// Fills the fixed header: magic, stack limit, builtin table, instance pointer.
    pub(crate) fn write_header(
        &self,
        stack_limit: usize,
        builtins: *const usize,
        instance: *const u8,
    ) {
        // SAFETY: the header fields are inside every block and aligned for their types.
        unsafe {
            *self.at::<u32>(VMContextLayout::MAGIC) = VMContextLayout::MAGIC_VALUE;
            *self.at::<usize>(VMContextLayout::STACK_LIMIT) = stack_limit;
            *self.at::<*const usize>(VMContextLayout::BUILTINS) = builtins;
            *self.at::<*const u8>(VMContextLayout::INSTANCE) = instance;
        }
    }
}

impl Drop for VMContextBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.base, self.layout) };
    }
}
