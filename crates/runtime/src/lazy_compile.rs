//! Lazy compilation: what happens when wasm code calls a function that has no code yet.
//!
//! A native module's jump-table slot starts at the function's lazy stub, which loads the
//! function index into `r11` and jumps, through the module's far-jump trampoline, to the
//! address registered as the code manager's lazy-compile builtin. The runtime provides that
//! address: [`crate::Runtime::lazy_compile_entry`], a routine emitted once per process
//! ([`crate::trampoline`]) that saves every argument register, calls the `lazy_compile`
//! function below and jumps to the code it returns with the registers restored, as if the
//! caller had called the code directly.
//!
//! That function finds the callee's instance from its `VMContext`, asks
//! [`crate::EngineHooks::lazy_compile`] for the code (the engine compiles, publishes and
//! patches the slot, so later calls do not come here) and returns its address. If there are no
//! hooks or the hook returns `None`, the call traps with [`TrapCode::HostError`] and the message
//! "function N could not be compiled", with the backtrace of the callers; a panic in the hook
//! becomes such a trap too, with the panic message appended.
//!
//! The hook runs on the wasm thread's stack, inside the caller's activation: at least
//! [`crate::traphandler::HOST_STACK_RESERVE`] bytes of stack are left for it. It may call
//! [`crate::wasm_pcs_on_stack`] (it is a safepoint) but must not call back into wasm on this
//! thread's store.

use kiln_abi::{TrapCode, VMContextLayout, call_layout};

use crate::instance::InstanceData;
use crate::{Trap, traphandler};

/// The address of [`lazy_compile`], which the lazy-compile entry calls.
pub(crate) fn implementation() -> usize {
    lazy_compile as *const () as usize
}

/// The callee's `VMContext` given the entry's `rdi` and `rsi`.
///
/// It is in `rdi`, unless the signature has a return area: then `rdi` is the return-area
/// pointer and the `VMContext` is in `rsi`. A return area lies in the caller's frame, above
/// the entry's frame pointer `fp` and below the activation's entry stack pointer, while a
/// `VMContext` is a heap block, never on the stack: the range decides without knowing the
/// signature (which needs the instance, which needs the `VMContext`).
fn callee_vmctx(rdi: usize, rsi: usize, fp: usize, entry_sp: usize) -> (usize, bool) {
    if rdi > fp && rdi < entry_sp {
        (rsi, true)
    } else {
        (rdi, false)
    }
}

/// Called by the lazy-compile entry (System V) with its saved `rdi` and `rsi`, the function
/// index from the lazy stub and its own frame pointer. Returns the code address to jump to,
/// or raises a trap.
///
/// # Safety
/// Called only by the lazy-compile entry, entered by a jump from a lazy stub of a native
/// module whose functions are called with an instance's `VMContext`, on a thread running wasm.
unsafe extern "sysv64" fn lazy_compile(
    rdi: usize,
    rsi: usize,
    func_index: u32,
    fp: usize,
) -> usize {
    let act = traphandler::current();
    if act.is_null() {
        // Wasm code only runs inside activations; without one nothing can be trapped to.
        eprintln!("kiln: lazy compilation of function {func_index} outside of a wasm activation");
        std::process::abort();
    }
    traphandler::note_exit(fp);
    // SAFETY: the innermost activation is live while wasm runs on this thread; its entry stack
    // pointer was written by the entry trampoline before it called into wasm.
    let entry_sp = unsafe { *(*act).entry_sp.get() };
    let (vmctx, has_ret_area) = callee_vmctx(rdi, rsi, fp, entry_sp);
    let outcome = {
        // SAFETY: generated code calls a defined function with its instance's VMContext, a
        // live heap block whose header holds the magic and the instance record, which lives as
        // long as the store.
        let instance = unsafe {
            let magic = *((vmctx + VMContextLayout::MAGIC as usize) as *const u32);
            debug_assert_eq!(magic, VMContextLayout::MAGIC_VALUE, "not a VMContext");
            &*(*((vmctx + VMContextLayout::INSTANCE as usize) as *const *const InstanceData))
        };
        compile(instance, func_index, has_ret_area)
    };
    match outcome {
        Ok(address) => address,
        Err(trap) => {
            let trap = Box::new(trap);
            // SAFETY: called from wasm through the lazy-compile entry whose frame pointer is
            // `fp` ([fp] is the caller's rbp, [fp + 8] its return address); everything this
            // function owned has been dropped or moves into the activation.
            unsafe { traphandler::raise(TrapCode::HostError, fp, Some(trap)) }
        }
    }
}

/// Asks the engine for the code of `func_index`; the error is the trap to raise.
fn compile(instance: &InstanceData, func_index: u32, has_ret_area: bool) -> Result<usize, Trap> {
    let module = &instance.module;
    let defined = func_index
        .checked_sub(module.num_imported_functions)
        .filter(|&d| d < module.num_defined_functions());
    let ty = defined
        .and_then(|_| module.functions.get(func_index as usize))
        .and_then(|f| module.func_type(f.type_index));
    let Some(ty) = ty else {
        return Err(Trap::host(format!(
            "lazy compilation of function {func_index}, which the module does not define"
        )));
    };
    if call_layout(ty.params(), ty.results())
        .ret_area_pointer
        .is_some()
        != has_ret_area
    {
        return Err(Trap::host(format!(
            "lazy compilation of function {func_index}: the call does not match its signature"
        )));
    }
    let Some(hooks) = crate::builtins::hooks(instance) else {
        return Err(Trap::host(not_compiled_message(instance, func_index)));
    };
    let module_id = instance.native.id();
    // A panic must not unwind into generated code: it becomes the trap.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        hooks.lazy_compile(module_id, func_index)
    }));
    match result {
        Ok(Some(address)) => Ok(address),
        Ok(None) => Err(Trap::host(not_compiled_message(instance, func_index))),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Trap::host(format!(
                "{}: the engine panicked: {what}",
                not_compiled_message(instance, func_index)
            )))
        }
    }
}

/// "function N (name) could not be compiled".
pub(crate) fn not_compiled_message(instance: &InstanceData, func_index: u32) -> String {
    match instance.module.function_name(func_index) {
        Some(name) => format!("function {func_index} ({name}) could not be compiled"),
        None => format!("function {func_index} could not be compiled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_area_pointers_are_told_from_vmctx_by_the_stack_range() {
        let (fp, entry_sp) = (0x7000_1000, 0x7000_9000);
        let heap = 0x5555_0000;
        assert_eq!(callee_vmctx(heap, 7, fp, entry_sp), (heap, false));
        assert_eq!(callee_vmctx(0x7000_2000, heap, fp, entry_sp), (heap, true));
        // The entry's own frame and anything at or above the entry stack pointer are not
        // return areas.
        assert_eq!(callee_vmctx(fp, heap, fp, entry_sp), (fp, false));
        assert_eq!(
            callee_vmctx(entry_sp, heap, fp, entry_sp),
            (entry_sp, false)
        );
    }
}
