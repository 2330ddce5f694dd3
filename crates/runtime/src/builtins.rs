//! The builtin functions generated code calls through the `VMContext` builtin table.
//!
//! Calling rules (see [`kiln_abi::BuiltinId`]): System V, `VMContext` first, then the
//! operands as 64-bit integers, one 64-bit result. The table entries are shims (see
//! [`crate::trampoline`]) that add their frame pointer as a seventh argument, so a builtin that
//! traps records the wasm frames above it and resumes at the entry trampoline's landing; it
//! never returns to its caller then. Bulk operations check bounds before writing anything, as
//! the spec requires.
//!
//! `TierUp`, `LazyCompile` and `DebugBreak` call the [`crate::EngineHooks`] installed on the
//! runtime: without hooks `TierUp` and `DebugBreak` return at once and `LazyCompile` traps
//! with a host error ("function N could not be compiled"). `LazyCompile` entered through this
//! table does not preserve argument registers; lazy stubs reach the engine through
//! [`crate::Runtime::lazy_compile_entry`], which does.
//!
//! `TierUp` refills the function's budget in the caller's `VMContext` to
//! [`crate::RuntimeConfig::tier_up_budget`] after the hook returns, so a hot function asks
//! again only after running another budget's worth, not on every entry; the engine must
//! therefore tolerate (ignore) repeated requests for a function it is already optimizing.
//!
//! Every builtin records its shim's frame pointer in the current activation first, so host
//! code it runs (an engine hook) is a safepoint for [`crate::wasm_pcs_on_stack`].

use kiln_abi::{BuiltinId, TrapCode, VMContextLayout};

use crate::instance::InstanceData;
use crate::traphandler;

type Builtin = unsafe extern "sysv64" fn(*mut u8, u64, u64, u64, u64, u64, usize) -> u64;

/// The address of the Rust implementation of `id` (called by its shim).
pub(crate) fn implementation(id: BuiltinId) -> usize {
    let f: Builtin = match id {
        BuiltinId::MemoryGrow => memory_grow,
        BuiltinId::MemorySize => memory_size,
        BuiltinId::MemoryCopy => memory_copy,
        BuiltinId::MemoryFill => memory_fill,
        BuiltinId::MemoryInit => memory_init,
        BuiltinId::DataDrop => data_drop,
        BuiltinId::TableGrow => table_grow,
        BuiltinId::TableGet => table_get,
        BuiltinId::TableSet => table_set,
        BuiltinId::TableFill => table_fill,
        BuiltinId::TableCopy => table_copy,
        BuiltinId::TableInit => table_init,
        BuiltinId::ElemDrop => elem_drop,
        BuiltinId::TierUp => tier_up,
        BuiltinId::LazyCompile => lazy_compile,
        BuiltinId::DebugBreak => debug_break,
    };
    f as usize
}

type Outcome = Result<u64, TrapCode>;

/// Defines the extern entry point `$name` running `$body` with the instance and operands, and
/// raising the trap it reports after everything it created is dropped.
macro_rules! builtin {
    ($name:ident, |$inst:ident, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident| $body:block) => {
        #[allow(unused_variables)]
        unsafe extern "sysv64" fn $name(
            vmctx: *mut u8,
            $a: u64,
            $b: u64,
            $c: u64,
            $d: u64,
            $e: u64,
            fp: usize,
        ) -> u64 {
            fn body($inst: &InstanceData, $a: u64, $b: u64, $c: u64, $d: u64, $e: u64) -> Outcome {
                $body
            }
            traphandler::note_exit(fp);
            // SAFETY: generated code passes its own VMContext, whose header points to the
            // instance record, alive as long as the store.
            let instance = unsafe {
                &*(*(vmctx.add(VMContextLayout::INSTANCE as usize) as *const *const InstanceData))
            };
            match body(instance, $a, $b, $c, $d, $e) {
                Ok(v) => v,
                // SAFETY: called from wasm through the shim whose frame pointer is `fp`;
                // `body` has dropped everything it owned.
                Err(code) => unsafe { traphandler::raise(code, fp, None) },
            }
        }
    };
}

#[allow(
    clippy::mut_from_ref,
    reason = "records are owned by the single-threaded store; each builtin holds one reference \
              to a record at a time"
)]
fn memory(inst: &InstanceData, index: u64) -> &mut crate::memory::MemoryData {
    // SAFETY: memory records live as long as the store; builtins run on the store's thread
    // and hold no other reference to the record.
    let p = inst.memories[index as usize];
    // SAFETY: see above.
    unsafe { &mut *p }
}

#[allow(
    clippy::mut_from_ref,
    reason = "records are owned by the single-threaded store; each builtin holds one reference \
              to a record at a time"
)]
fn table(inst: &InstanceData, index: u64) -> &mut crate::table::TableData {
    // SAFETY: as for memories.
    let p = inst.tables[index as usize];
    // SAFETY: see above.
    unsafe { &mut *p }
}

fn in_bounds(start: u64, len: u64, size: u64) -> bool {
    start.checked_add(len).is_some_and(|end| end <= size)
}

builtin!(memory_grow, |inst, mem, delta, c, d, e| {
    Ok(memory(inst, mem).grow(delta).unwrap_or(u64::MAX))
});

builtin!(memory_size, |inst, mem, b, c, d, e| {
    Ok(memory(inst, mem).pages())
});

builtin!(memory_copy, |inst, dst_mem, src_mem, dst, src, len| {
    let (d_len, d_base) = {
        let d = memory(inst, dst_mem);
        (d.byte_len() as u64, d.base())
    };
    let (s_len, s_base) = {
        let s = memory(inst, src_mem);
        (s.byte_len() as u64, s.base())
    };
    if !in_bounds(dst, len, d_len) || !in_bounds(src, len, s_len) {
        return Err(TrapCode::MemoryOutOfBounds);
    }
    // SAFETY: both ranges were just checked to be inside accessible memory; `copy` allows
    // overlap.
    unsafe {
        std::ptr::copy(
            s_base.add(src as usize),
            d_base.add(dst as usize),
            len as usize,
        )
    };
    Ok(0)
});

builtin!(memory_fill, |inst, mem, dst, value, len, e| {
    let m = memory(inst, mem);
    let bytes = m.slice_mut(dst, len).ok_or(TrapCode::MemoryOutOfBounds)?;
    bytes.fill(value as u8);
    Ok(0)
});

builtin!(memory_init, |inst, mem, segment, dst, src, len| {
    let data = inst.data_segment(segment as u32);
    if !in_bounds(src, len, data.len() as u64) {
        return Err(TrapCode::MemoryOutOfBounds);
    }
    let bytes = memory(inst, mem)
        .slice_mut(dst, len)
        .ok_or(TrapCode::MemoryOutOfBounds)?;
    bytes.copy_from_slice(&data[src as usize..(src + len) as usize]);
    Ok(0)
});

builtin!(data_drop, |inst, segment, b, c, d, e| {
    inst.dropped_data.borrow_mut()[segment as usize] = true;
    Ok(0)
});

builtin!(table_grow, |inst, t, value, delta, d, e| {
    Ok(table(inst, t)
        .grow(delta, value as usize)
        .unwrap_or(u64::MAX))
});

builtin!(table_get, |inst, t, index, c, d, e| {
    let elements = &table(inst, t).elements;
    elements
        .get(index as usize)
        .map(|&v| v as u64)
        .ok_or(TrapCode::TableOutOfBounds)
});

builtin!(table_set, |inst, t, index, value, d, e| {
    let slot = table(inst, t)
        .elements
        .get_mut(index as usize)
        .ok_or(TrapCode::TableOutOfBounds)?;
    *slot = value as usize;
    Ok(0)
});

builtin!(table_fill, |inst, t, dst, value, len, e| {
    table(inst, t)
        .range(dst, len)
        .ok_or(TrapCode::TableOutOfBounds)?
        .fill(value as usize);
    Ok(0)
});

builtin!(table_copy, |inst, dst_t, src_t, dst, src, len| {
    let (dl, sl) = (
        table(inst, dst_t).elements.len() as u64,
        table(inst, src_t).elements.len() as u64,
    );
    if !in_bounds(dst, len, dl) || !in_bounds(src, len, sl) {
        return Err(TrapCode::TableOutOfBounds);
    }
    if dst_t == src_t {
        let elements = &mut table(inst, dst_t).elements;
        elements.copy_within(src as usize..(src + len) as usize, dst as usize);
    } else {
        let from: Vec<usize> =
            table(inst, src_t).elements[src as usize..(src + len) as usize].to_vec();
        table(inst, dst_t).elements[dst as usize..(dst + len) as usize].copy_from_slice(&from);
    }
    Ok(0)
});

builtin!(table_init, |inst, t, segment, dst, src, len| {
    let elements = inst.elements.borrow();
    let items = elements[segment as usize].as_deref().unwrap_or(&[]);
    if !in_bounds(src, len, items.len() as u64) {
        return Err(TrapCode::TableOutOfBounds);
    }
    table(inst, t)
        .range(dst, len)
        .ok_or(TrapCode::TableOutOfBounds)?
        .copy_from_slice(&items[src as usize..(src + len) as usize]);
    Ok(0)
});

builtin!(elem_drop, |inst, segment, b, c, d, e| {
    inst.elements.borrow_mut()[segment as usize] = None;
    Ok(0)
});

pub(crate) fn hooks(inst: &InstanceData) -> Option<std::sync::Arc<dyn crate::EngineHooks>> {
    inst.runtime
        .inner
        .hooks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

builtin!(tier_up, |inst, func, b, c, d, e| {
    if let Some(h) = hooks(inst) {
        h.tier_up(inst.native.id(), func as u32);
    }
    // The budget went negative; refill it so the function runs another budget's worth before
    // asking again, instead of calling the hook on every entry and back edge.
    inst.set_tier_up_budget(func as u32, inst.runtime.config().tier_up_budget);
    Ok(0)
});

/// The `LazyCompile` builtin called as a plain builtin (it does not preserve argument
/// registers; lazy stubs use [`crate::Runtime::lazy_compile_entry`] instead).
unsafe extern "sysv64" fn lazy_compile(
    vmctx: *mut u8,
    func: u64,
    _: u64,
    _: u64,
    _: u64,
    _: u64,
    fp: usize,
) -> u64 {
    traphandler::note_exit(fp);
    let result = {
        // SAFETY: generated code passes its own VMContext, whose header points to the
        // instance record, alive as long as the store.
        let inst = unsafe {
            &*(*(vmctx.add(VMContextLayout::INSTANCE as usize) as *const *const InstanceData))
        };
        let func = func as u32;
        match hooks(inst).and_then(|h| h.lazy_compile(inst.native.id(), func)) {
            Some(address) => Ok(address as u64),
            None => Err(Box::new(crate::Trap::host(
                crate::lazy_compile::not_compiled_message(inst, func),
            ))),
        }
    };
    match result {
        Ok(address) => address,
        // SAFETY: called from wasm through the shim whose frame pointer is `fp`; everything
        // created above was dropped or moves into the activation.
        Err(trap) => unsafe { traphandler::raise(TrapCode::HostError, fp, Some(trap)) },
    }
}

builtin!(debug_break, |inst, func, offset, c, d, e| {
    if let Some(h) = hooks(inst) {
        h.debug_break(inst.native.id(), func as u32, offset as u32);
    }
    Ok(0)
});
