//! [`Func`]: a callable function (wasm or host), and calls from the host into wasm.

use std::rc::Rc;
use std::sync::Arc;

use kiln_abi::{TrapCode, VMFuncRef};
use kiln_code_manager::ExecutionScope;
use kiln_decoder::FuncType;

use crate::runtime::Trampolines;
use crate::store::StoreInner;
use crate::traphandler::{self, Activation};
use crate::{Trap, Value};

/// A function of a store: an export of an instance or a host function. It is a
/// [`VMFuncRef`] (code, `VMContext`, canonical type id) plus its type.
#[derive(Clone)]
pub struct Func {
    pub(crate) store: Rc<StoreInner>,
    pub(crate) funcref: *const VMFuncRef,
    pub(crate) ty: Arc<FuncType>,
    /// The signature's trampolines, looked up on the first call.
    pub(crate) trampolines: std::cell::OnceCell<Trampolines>,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Func")
            .field("ty", &*self.ty)
            .field("funcref", &self.funcref)
            .finish()
    }
}

impl Func {
    pub(crate) fn from_funcref(store: &Rc<StoreInner>, funcref: *const VMFuncRef) -> Func {
        // SAFETY: funcrefs handed out by this runtime live as long as their store.
        let id = unsafe { (*funcref).type_id };
        let ty = store
            .runtime
            .signatures()
            .lookup(id)
            .expect("funcrefs carry registered type ids");
        Func {
            store: store.clone(),
            funcref,
            ty,
            trampolines: std::cell::OnceCell::new(),
        }
    }

    /// The function's type.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }

    /// The address of the function's [`VMFuncRef`] (what tables and `ref.func` hold).
    pub fn as_raw(&self) -> *const VMFuncRef {
        self.funcref
    }

    /// Calls the function with `args`, returning its results or the trap that stopped it.
    ///
    /// Enters wasm through the entry trampoline of the function's signature; the calling
    /// thread gets an alternate signal stack on first use. Arguments of the wrong number or
    /// type are reported as a [`TrapCode::HostError`] trap without calling anything.
    pub fn call(&self, args: &[Value]) -> Result<Vec<Value>, Trap> {
        let ty = self.ty.clone();
        if args.len() != ty.params().len()
            || args
                .iter()
                .zip(ty.params())
                .any(|(a, &t)| !a.matches(t) || !a.belongs_to(&self.store))
        {
            return Err(Trap::host(format!(
                "argument mismatch: expected {:?}, got {:?}",
                ty.params(),
                args.iter().map(Value::ty).collect::<Vec<_>>()
            )));
        }
        let trampolines = *self
            .trampolines
            .get_or_init(|| self.store.runtime.trampolines(&ty).1);
        let mut values = vec![0u128; ty.params().len().max(ty.results().len()).max(1)];
        for (slot, a) in values.iter_mut().zip(args) {
            *slot = a.to_raw();
        }
        // SAFETY: the funcref lives as long as the store.
        let (code, vmctx) = unsafe { ((*self.funcref).code, (*self.funcref).vmctx) };
        // SAFETY: `values` has a slot per parameter and result of `ty`, and `code`/`vmctx`
        // form a function of type `ty`, whose trampolines these are.
        unsafe {
            invoke(
                &self.store,
                trampolines,
                code as usize,
                vmctx,
                values.as_mut_ptr(),
            )?
        };
        Ok(ty
            .results()
            .iter()
            .zip(&values)
            .map(|(&t, &raw)| Value::from_raw(&self.store, t, raw))
            .collect())
    }
}

/// The stack pointer of the caller, approximately (the address of a local).
#[inline(never)]
fn approximate_sp() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Calls `code` with `vmctx` through an entry trampoline, in a new activation.
///
/// # Safety
/// `values` must hold a slot per parameter and result of the signature of `trampolines`, and
/// `code`/`vmctx` must be a function of that signature whose code stays alive.
pub(crate) unsafe fn invoke(
    store: &Rc<StoreInner>,
    trampolines: Trampolines,
    code: usize,
    vmctx: *mut u8,
    values: *mut u128,
) -> Result<(), Trap> {
    traphandler::ensure_alt_stack();
    let prev = traphandler::current();
    let limit = if prev.is_null() {
        traphandler::stack_limit_for(approximate_sp(), store.runtime.config().max_wasm_stack)
    } else {
        // SAFETY: the enclosing activation is live: we are running inside it.
        unsafe { (*prev).stack_limit }
    };
    store.set_stack_limit(limit);
    let activation = Activation::new(trampolines.landing, prev, limit);
    traphandler::set_current(&activation);
    let scope = ExecutionScope::enter();
    // SAFETY: entry trampolines have exactly this signature (see `trampoline`).
    let entry: unsafe extern "sysv64" fn(*mut u8, usize, *mut u128, *mut usize) -> u64 =
        unsafe { std::mem::transmute(trampolines.entry) };
    // SAFETY: guaranteed by the caller; the activation outlives the call.
    let status = unsafe { entry(vmctx, code, values, activation.entry_sp.get()) };
    traphandler::set_current(prev);
    if status == 0 {
        return Ok(());
    }
    let code = TrapCode::from_u8((status - 1) as u8).unwrap_or(TrapCode::HostError);
    let backtrace = store.resolve_backtrace(&activation.frames());
    drop(scope);
    let mut trap = match activation.host_trap.take() {
        Some(trap) => *trap,
        None => Trap::from_code(code),
    };
    trap.backtrace = backtrace;
    Err(trap)
}
