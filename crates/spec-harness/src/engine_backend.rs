//! The back end that compiles and runs modules with the Kiln engine.

use crate::{Backend, ExecError, InstanceId, Value};
use kiln_decoder::{Features, GlobalType, MemoryType, RefType, TableType, ValType};
use kiln_engine::runtime::{
    self as rt, Func, Global, Imports, Instance, InstantiationError, Memory, Store, Table,
};
use kiln_engine::{Engine, EngineConfig, EngineError};

/// Runs modules on a Kiln [`Engine`]: `cargo xtask spec --mode baseline`. Imports resolve from
/// the spec's `spectest` module and from registered instances.
pub struct EngineBackend {
    name: String,
    engine: Engine,
    store: Store,
    imports: Imports,
    instances: Vec<Instance>,
}

impl std::fmt::Debug for EngineBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBackend")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl EngineBackend {
    /// A back end named `name` (the mode, for reports and the expected-failures list) on a new
    /// engine with `config`.
    pub fn new(name: &str, config: EngineConfig) -> EngineBackend {
        let engine = Engine::new(config);
        let store = Store::new(engine.runtime());
        let mut imports = Imports::new();
        define_spectest(&store, &mut imports);
        EngineBackend {
            name: name.to_string(),
            engine,
            store,
            imports,
            instances: Vec::new(),
        }
    }

    fn instance(&self, id: InstanceId) -> &Instance {
        &self.instances[id.0 as usize]
    }
}

/// The `spectest` module every spec script may import from.
fn define_spectest(store: &Store, imports: &mut Imports) {
    imports.define("spectest", "print", Func::wrap(store, || {}));
    imports.define("spectest", "print_i32", Func::wrap(store, |_: i32| {}));
    imports.define("spectest", "print_i64", Func::wrap(store, |_: i64| {}));
    imports.define("spectest", "print_f32", Func::wrap(store, |_: f32| {}));
    imports.define("spectest", "print_f64", Func::wrap(store, |_: f64| {}));
    imports.define(
        "spectest",
        "print_i32_f32",
        Func::wrap(store, |_: i32, _: f32| {}),
    );
    imports.define(
        "spectest",
        "print_f64_f64",
        Func::wrap(store, |_: f64, _: f64| {}),
    );
    let global = |ty, value| {
        let ty = GlobalType {
            content_type: ty,
            mutable: false,
            shared: false,
        };
        Global::new(store, ty, value).expect("spectest global")
    };
    imports.define(
        "spectest",
        "global_i32",
        global(ValType::I32, rt::Value::I32(666)),
    );
    imports.define(
        "spectest",
        "global_i64",
        global(ValType::I64, rt::Value::I64(666)),
    );
    imports.define(
        "spectest",
        "global_f32",
        global(ValType::F32, rt::Value::F32(666.6f32.to_bits())),
    );
    imports.define(
        "spectest",
        "global_f64",
        global(ValType::F64, rt::Value::F64(666.6f64.to_bits())),
    );
    let table = |table64| TableType {
        element_type: RefType::FUNCREF,
        table64,
        initial: 10,
        maximum: Some(20),
        shared: false,
    };
    let null = rt::Value::FuncRef(None);
    imports.define(
        "spectest",
        "table",
        Table::new(store, table(false), null.clone()).expect("spectest table"),
    );
    imports.define(
        "spectest",
        "table64",
        Table::new(store, table(true), null).expect("spectest table64"),
    );
    let memory = MemoryType {
        memory64: false,
        shared: false,
        initial: 1,
        maximum: Some(2),
        page_size_log2: None,
    };
    imports.define(
        "spectest",
        "memory",
        Memory::new(store, memory).expect("spectest memory"),
    );
}

fn to_runtime(value: &Value) -> Result<rt::Value, ExecError> {
    Ok(match *value {
        Value::I32(v) => rt::Value::I32(v),
        Value::I64(v) => rt::Value::I64(v),
        Value::F32(v) => rt::Value::F32(v),
        Value::F64(v) => rt::Value::F64(v),
        Value::V128(v) => rt::Value::V128(v),
        Value::FuncRef(None) => rt::Value::FuncRef(None),
        Value::FuncRef(Some(_)) => return Err(ExecError::Unsupported("funcref arguments".into())),
        // Host references are non-zero handles: `ref.extern N` is handle N + 1.
        Value::ExternRef(n) => rt::Value::ExternRef(n.map_or(0, |n| n as usize + 1)),
    })
}

fn from_runtime(value: &rt::Value) -> Value {
    match value {
        rt::Value::I32(v) => Value::I32(*v),
        rt::Value::I64(v) => Value::I64(*v),
        rt::Value::F32(v) => Value::F32(*v),
        rt::Value::F64(v) => Value::F64(*v),
        rt::Value::V128(v) => Value::V128(*v),
        rt::Value::FuncRef(f) => Value::FuncRef(f.as_ref().map(|f| f.as_raw() as u64)),
        rt::Value::ExternRef(h) => Value::ExternRef(h.checked_sub(1).map(|n| n as u32)),
    }
}

fn trap(trap: rt::Trap) -> ExecError {
    if trap.code == rt::TrapCode::StackOverflow {
        ExecError::Exhaustion(trap.message)
    } else {
        ExecError::Trap(trap.message)
    }
}

impl Backend for EngineBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn features(&self) -> Features {
        self.engine.config().features
    }

    fn executes(&self) -> bool {
        true
    }

    fn instantiate(&mut self, wasm: &[u8]) -> Result<InstanceId, ExecError> {
        let module = self.engine.compile(wasm).map_err(|e| match e {
            EngineError::Compile {
                error: kiln_engine::CompileError::Unsupported { operator, .. },
                ..
            } => ExecError::Unsupported(format!("{}: {operator}", self.name)),
            other => ExecError::Compile(other.to_string()),
        })?;
        let instance = module
            .instantiate(&self.store, &self.imports)
            .map_err(|e| match e {
                InstantiationError::Link(e) => ExecError::Link(e.to_string()),
                InstantiationError::Trap(t) => trap(t),
                InstantiationError::Resource(m) => ExecError::Compile(m),
            })?;
        self.instances.push(instance);
        Ok(InstanceId(self.instances.len() as u32 - 1))
    }

    fn register(&mut self, name: &str, instance: InstanceId) {
        let instance = self.instances[instance.0 as usize].clone();
        self.imports.define_instance(name, &instance);
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        name: &str,
        args: &[Value],
    ) -> Result<Vec<Value>, ExecError> {
        let func = self
            .instance(instance)
            .get_func(name)
            .ok_or_else(|| ExecError::Link(format!("no exported function {name:?}")))?;
        let args = args.iter().map(to_runtime).collect::<Result<Vec<_>, _>>()?;
        let results = func.call(&args).map_err(trap)?;
        Ok(results.iter().map(from_runtime).collect())
    }

    fn get_global(&mut self, instance: InstanceId, name: &str) -> Result<Value, ExecError> {
        let global = self
            .instance(instance)
            .get_global(name)
            .ok_or_else(|| ExecError::Link(format!("no exported global {name:?}")))?;
        Ok(from_runtime(&global.get()))
    }
}
