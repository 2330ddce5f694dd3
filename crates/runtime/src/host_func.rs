//! Host functions: Rust closures callable from wasm, typed ([`Func::wrap`]) or untyped
//! ([`Func::new`]).
//!
//! A host function's [`VMFuncRef`] points at the exit trampoline of its signature, with a
//! host call context as its `VMContext`. The trampoline spills the arguments to a slot buffer
//! and calls the dispatcher, which runs the closure under `catch_unwind`. An error or a panic
//! becomes a trap in the caller: the dispatcher drops everything it owns, then raises the trap
//! non-locally to the entry trampoline (no Rust unwinding crosses generated code).
//!
//! When an instance imports a host function it gets its own context naming the instance, so
//! the closure's [`Caller`] can reach the caller's memory and exports.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;

use kiln_abi::VMFuncRef;
use kiln_decoder::{FuncType, ValType};

use crate::instance::InstanceData;
use crate::store::StoreInner;
use crate::{Extern, Func, Memory, Store, Trap, Value, traphandler};

/// The signature of untyped host closures: the caller, the arguments, the results to fill
/// (pre-set to zero values of the right types).
pub type HostCallback = dyn Fn(&Caller<'_>, &[Value], &mut [Value]) -> Result<(), Trap>;

/// The first word of a [`HostCallCtx`]: tells host contexts from `VMContext`s (which start
/// with `"KILN"`).
pub(crate) const HOST_CTX_MAGIC: u64 = u64::from_le_bytes(*b"KILNHOST");

/// The `VMContext` argument of a host function's exit trampoline.
#[repr(C)]
pub(crate) struct HostCallCtx {
    pub magic: u64,
    pub func: *const HostFuncData,
    pub instance: *const InstanceData,
    pub store: *const StoreInner,
}

/// A host function owned by a store.
pub(crate) struct HostFuncData {
    pub ty: Arc<FuncType>,
    callback: Box<HostCallback>,
    pub funcref: VMFuncRef,
    own_ctx: HostCallCtx,
}

/// What a host function knows about its caller.
pub struct Caller<'a> {
    store: &'a Rc<StoreInner>,
    instance: *const InstanceData,
}

impl std::fmt::Debug for Caller<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("has_instance", &!self.instance.is_null())
            .finish()
    }
}

impl Caller<'_> {
    /// The store the call runs in.
    pub fn store(&self) -> Store {
        Store::from_inner(self.store)
    }

    fn instance(&self) -> Option<&InstanceData> {
        // SAFETY: instances live as long as their store.
        unsafe { self.instance.as_ref() }
    }

    /// Memory `index` of the calling instance (imported or defined), if the function was
    /// called by an instance that imported it and has that memory.
    pub fn memory(&self, index: u32) -> Option<Memory> {
        let data = *self.instance()?.memories.get(index as usize)?;
        Some(Memory {
            store: self.store.clone(),
            data,
        })
    }

    /// The calling instance's export `name`.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        self.instance()?.get_export(self.store, name)
    }
}

impl HostFuncData {
    fn create(store: &Store, ty: FuncType, callback: Box<HostCallback>) -> Func {
        let (type_id, trampolines) = store.inner.runtime.trampolines(&ty);
        let ty = store
            .inner
            .runtime
            .signatures()
            .lookup(type_id)
            .expect("just registered");
        let mut data = Box::new(HostFuncData {
            ty: ty.clone(),
            callback,
            funcref: VMFuncRef {
                code: trampolines.exit as *const u8,
                type_id,
                _pad: 0,
                vmctx: std::ptr::null_mut(),
            },
            own_ctx: HostCallCtx {
                magic: HOST_CTX_MAGIC,
                func: std::ptr::null(),
                instance: std::ptr::null(),
                store: Rc::as_ptr(&store.inner),
            },
        });
        data.own_ctx.func = &*data;
        data.funcref.vmctx = (&mut data.own_ctx as *mut HostCallCtx).cast();
        let funcref: *const VMFuncRef = &data.funcref;
        store.inner.host_funcs.borrow_mut().push(data);
        Func {
            store: store.inner.clone(),
            funcref,
            ty,
            trampolines: trampolines.into(),
        }
    }
}

/// A new host call context for `func` (a host function's funcref) called by `instance`, or
/// `None` if `func` is not a host function.
pub(crate) fn context_for_import(
    func: &Func,
    instance: *const InstanceData,
) -> Option<Box<HostCallCtx>> {
    // SAFETY: funcrefs live as long as their store; a host context starts with its magic and
    // a VMContext with "KILN" plus padding, so reading the first word is valid for both.
    let own = unsafe { (*func.funcref).vmctx as *const HostCallCtx };
    // SAFETY: as above.
    if unsafe { (*own).magic } != HOST_CTX_MAGIC {
        return None;
    }
    // SAFETY: it is a host context.
    let own = unsafe { &*own };
    Some(Box::new(HostCallCtx {
        magic: HOST_CTX_MAGIC,
        func: own.func,
        instance,
        store: own.store,
    }))
}

impl Func {
    /// A host function of type `ty` calling `callback` with the arguments and a result
    /// buffer. Returning `Err` (or panicking) traps in the wasm caller.
    pub fn new(
        store: &Store,
        ty: FuncType,
        callback: impl Fn(&Caller<'_>, &[Value], &mut [Value]) -> Result<(), Trap> + 'static,
    ) -> Func {
        HostFuncData::create(store, ty, Box::new(callback))
    }

    /// A host function from a typed closure: `Func::wrap(&store, |a: i32, b: i64| a as f64)`,
    /// or with the caller first: `|caller: &Caller<'_>, a: i32| ...`. Results may be `()`, a
    /// value, a tuple of values, or a `Result<_, Trap>` of those.
    pub fn wrap<Params, Results>(store: &Store, f: impl IntoFunc<Params, Results>) -> Func {
        let (ty, callback) = f.into_func();
        HostFuncData::create(store, ty, callback)
    }
}

/// The address of [`dispatch`], which exit trampolines call.
pub(crate) fn dispatch_address() -> usize {
    dispatch as *const () as usize
}

/// Runs the host function of `ctx` on the slot buffer `values`; on error, raises the trap.
///
/// # Safety
/// Called only by exit trampolines: `ctx` is a live host context, `values` holds a slot per
/// parameter and result, `fp` is the trampoline's frame pointer.
unsafe extern "sysv64" fn dispatch(ctx: *const HostCallCtx, values: *mut u128, fp: usize) {
    traphandler::note_exit(fp);
    // SAFETY: guaranteed by the caller.
    let error = unsafe { run(ctx, values) };
    if let Some(trap) = error {
        let code = trap.code;
        // SAFETY: we were called from wasm through an exit trampoline whose frame pointer is
        // `fp`, and nothing with a destructor is live here (`trap` moves into the activation).
        unsafe { traphandler::raise(code, fp, Some(trap)) }
    }
}

/// Calls the closure; every value it creates is dropped before this returns.
unsafe fn run(ctx: *const HostCallCtx, values: *mut u128) -> Option<Box<Trap>> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: guaranteed by `dispatch`'s caller; the store outlives the call (its handle
        // made the call) so taking another counted reference is sound.
        let (ctx, store) = unsafe {
            let ctx = &*ctx;
            Rc::increment_strong_count(ctx.store);
            (ctx, Rc::from_raw(ctx.store))
        };
        // SAFETY: host function data lives as long as the store.
        let func = unsafe { &*ctx.func };
        let ty = func.ty.clone();
        let params: Vec<Value> = ty
            .params()
            .iter()
            .enumerate()
            // SAFETY: one slot per parameter.
            .map(|(i, &t)| Value::from_raw(&store, t, unsafe { *values.add(i) }))
            .collect();
        let mut results: Vec<Value> = ty
            .results()
            .iter()
            .map(|&t| Value::default_for(t))
            .collect();
        let caller = Caller {
            store: &store,
            instance: ctx.instance,
        };
        (func.callback)(&caller, &params, &mut results)?;
        for (j, (r, &t)) in results.iter().zip(ty.results()).enumerate() {
            if !r.matches(t) {
                return Err(Trap::host(format!(
                    "host function result {j} has type {:?}, expected {t:?}",
                    r.ty()
                )));
            }
            // SAFETY: one slot per result.
            unsafe { *values.add(j) = r.to_raw() };
        }
        Ok(())
    }));
    match result {
        Ok(Ok(())) => None,
        Ok(Err(trap)) => Some(Box::new(trap)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Some(Box::new(Trap::host(format!(
                "host function panicked: {message}"
            ))))
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is a wasm value type: `i32`, `i64`, `f32`, `f64`, `u128` (`v128`).
pub trait WasmTy: sealed::Sealed + Sized + 'static {
    /// The wasm type.
    fn valtype() -> ValType;
    /// Converts from a value of [`WasmTy::valtype`].
    fn from_value(v: &Value) -> Self;
    /// Converts to a value.
    fn into_value(self) -> Value;
}

macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, $variant:ident, |$x:ident| $from:expr, $to:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl WasmTy for $t {
            fn valtype() -> ValType { ValType::$vt }
            fn from_value(v: &Value) -> Self {
                match v { Value::$variant($x) => $from, _ => unreachable!("checked by the caller") }
            }
            fn into_value(self) -> Value { let $x = self; Value::$variant($to) }
        }
    )*};
}

wasm_ty! {
    i32 => I32, I32, |x| *x, x;
    i64 => I64, I64, |x| *x, x;
    f32 => F32, F32, |x| f32::from_bits(*x), x.to_bits();
    f64 => F64, F64, |x| f64::from_bits(*x), x.to_bits();
    u128 => V128, V128, |x| *x, x;
}

/// What a typed host closure may return.
pub trait WasmResults: 'static {
    /// The result types.
    fn types() -> Vec<ValType>;
    /// The results as values, or the closure's error.
    fn into_values(self) -> Result<Vec<Value>, Trap>;
}

impl WasmResults for () {
    fn types() -> Vec<ValType> {
        Vec::new()
    }
    fn into_values(self) -> Result<Vec<Value>, Trap> {
        Ok(Vec::new())
    }
}

impl<T: WasmTy> WasmResults for T {
    fn types() -> Vec<ValType> {
        vec![T::valtype()]
    }
    fn into_values(self) -> Result<Vec<Value>, Trap> {
        Ok(vec![self.into_value()])
    }
}

impl<T: WasmResults> WasmResults for Result<T, Trap> {
    fn types() -> Vec<ValType> {
        T::types()
    }
    fn into_values(self) -> Result<Vec<Value>, Trap> {
        self?.into_values()
    }
}

macro_rules! tuple_results {
    ($($n:ident)+) => {
        impl<$($n: WasmTy),+> WasmResults for ($($n,)+) {
            fn types() -> Vec<ValType> { vec![$($n::valtype()),+] }
            #[allow(non_snake_case)]
            fn into_values(self) -> Result<Vec<Value>, Trap> {
                let ($($n,)+) = self;
                Ok(vec![$($n.into_value()),+])
            }
        }
    };
}

tuple_results!(A);
tuple_results!(A B);
tuple_results!(A B C);
tuple_results!(A B C D);
tuple_results!(A B C D E);

/// Marks the closures of [`IntoFunc`] that take a [`Caller`] first.
#[derive(Debug)]
pub struct WithCaller;

/// A closure usable as a typed host function (see [`Func::wrap`]). `Params` is a tuple of
/// [`WasmTy`], optionally preceded by [`WithCaller`].
pub trait IntoFunc<Params, Results> {
    /// The function type and an untyped callback calling the closure.
    fn into_func(self) -> (FuncType, Box<HostCallback>);
}

fn store_results<R: WasmResults>(r: R, results: &mut [Value]) -> Result<(), Trap> {
    for (slot, v) in results.iter_mut().zip(r.into_values()?) {
        *slot = v;
    }
    Ok(())
}

macro_rules! into_func {
    ($($a:ident)*) => {
        impl<F, R, $($a: WasmTy),*> IntoFunc<($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + 'static,
            R: WasmResults,
        {
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn into_func(self) -> (FuncType, Box<HostCallback>) {
                let ty = FuncType::new([$($a::valtype()),*], R::types());
                (ty, Box::new(move |_caller: &Caller<'_>, params: &[Value], results: &mut [Value]| {
                    let mut it = params.iter();
                    $(let $a = $a::from_value(it.next().expect("arity checked"));)*
                    store_results((self)($($a),*), results)
                }))
            }
        }

        impl<F, R, $($a: WasmTy),*> IntoFunc<(WithCaller, $($a,)*), R> for F
        where
            F: Fn(&Caller<'_>, $($a),*) -> R + 'static,
            R: WasmResults,
        {
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn into_func(self) -> (FuncType, Box<HostCallback>) {
                let ty = FuncType::new([$($a::valtype()),*], R::types());
                (ty, Box::new(move |caller: &Caller<'_>, params: &[Value], results: &mut [Value]| {
                    let mut it = params.iter();
                    $(let $a = $a::from_value(it.next().expect("arity checked"));)*
                    store_results((self)(caller, $($a),*), results)
                }))
            }
        }
    };
}

into_func!();
into_func!(A1);
into_func!(A1 A2);
into_func!(A1 A2 A3);
into_func!(A1 A2 A3 A4);
into_func!(A1 A2 A3 A4 A5);
into_func!(A1 A2 A3 A4 A5 A6);
into_func!(A1 A2 A3 A4 A5 A6 A7);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8);
