//! Every builtin called from generated code through the `VMContext` builtin table, with the
//! spec's bounds semantics.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use kiln_abi::{BuiltinId, TrapCode, VMContextLayout};
use kiln_assembler_x64::{Mem, RAX, RDI, Size};
use kiln_runtime::*;

/// A wasm function `(i64 x5) -> i64` that passes its operands to builtin `id`: the wasm
/// registers after the vmctx are exactly System V's.
fn caller_of(id: BuiltinId) -> kiln_abi::CompiledFunction {
    let mut c = Code::new();
    c.prologue();
    c.asm.mov_rm(
        Size::S64,
        RAX,
        Mem::base(RDI, VMContextLayout::BUILTINS as i32),
    );
    c.asm.call_m(Mem::base(RAX, id.table_offset() as i32));
    c.epilogue();
    c.finish()
}

fn wat() -> String {
    let mut s = String::from(
        r#"(module (memory 1 3) (memory 1) (table $t 4 10 funcref) (table 2 externref)
            (func $f) (elem $passive func $f $f $f) (elem declare func $f)
            (data $d "abcdef")"#,
    );
    for id in BuiltinId::ALL {
        s.push_str(&format!(
            "(func (export \"{id:?}\") (param i64 i64 i64 i64 i64) (result i64) unreachable)"
        ));
    }
    s.push(')');
    s
}

struct Hooks(Mutex<Vec<String>>);

impl EngineHooks for Hooks {
    fn tier_up(&self, _module: u64, func: u32) {
        self.0.lock().unwrap().push(format!("tier_up {func}"));
    }
    fn debug_break(&self, _module: u64, func: u32, offset: u32) {
        self.0
            .lock()
            .unwrap()
            .push(format!("break {func} {offset}"));
    }
}

#[test]
fn builtins_follow_the_spec() {
    let runtime = Runtime::default();
    let store = Store::new(&runtime);
    let module = module(&wat());
    let native = native(&module);
    publish(&native, 0, Code::new().finish_with_ret());
    for (i, id) in BuiltinId::ALL.iter().enumerate() {
        publish(&native, 1 + i as u32, caller_of(*id));
    }
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    let call = |id: BuiltinId, args: [i64; 5]| {
        let f = instance.get_func(&format!("{id:?}")).unwrap();
        let args: Vec<Value> = args.iter().map(|&a| Value::I64(a)).collect();
        f.call(&args)
            .map(|r| r[0].as_i64().unwrap())
            .map_err(|t| t.code)
    };
    let trap = |id, args| call(id, args).unwrap_err();
    let mem0 = instance.memory_by_index(0).unwrap();
    let mem1 = instance.memory_by_index(1).unwrap();
    use BuiltinId::*;

    // memory.size / memory.grow
    assert_eq!(call(MemorySize, [0, 0, 0, 0, 0]), Ok(1));
    assert_eq!(call(MemoryGrow, [0, 2, 0, 0, 0]), Ok(1));
    assert_eq!(call(MemoryGrow, [0, 1, 0, 0, 0]), Ok(-1));
    assert_eq!(call(MemorySize, [0, 0, 0, 0, 0]), Ok(3));
    assert_eq!(call(MemorySize, [1, 0, 0, 0, 0]), Ok(1));

    // memory.init / data.drop
    assert_eq!(call(MemoryInit, [0, 0, 100, 1, 4]), Ok(0));
    let mut buf = [0u8; 4];
    mem0.read(100, &mut buf).unwrap();
    assert_eq!(&buf, b"bcde");
    assert_eq!(
        trap(MemoryInit, [0, 0, 100, 3, 4]),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap(MemoryInit, [1, 0, 65535, 0, 2]),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(call(MemoryInit, [1, 0, 65536, 6, 0]), Ok(0));
    assert_eq!(call(DataDrop, [0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(
        trap(MemoryInit, [0, 0, 0, 0, 1]),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(call(MemoryInit, [0, 0, 0, 0, 0]), Ok(0));

    // memory.fill / memory.copy (overlapping, and across memories)
    assert_eq!(call(MemoryFill, [1, 10, 0x41, 5, 0]), Ok(0));
    assert_eq!(
        trap(MemoryFill, [1, 65530, 0x41, 7, 0]),
        TrapCode::MemoryOutOfBounds
    );
    let mut tail = [0u8; 6];
    mem1.read(65530, &mut tail).unwrap();
    assert_eq!(tail, [0; 6], "a failing fill writes nothing");
    assert_eq!(call(MemoryCopy, [1, 1, 12, 10, 5]), Ok(0));
    let mut b = [0u8; 8];
    mem1.read(10, &mut b).unwrap();
    assert_eq!(&b, b"AAAAAAA\0");
    assert_eq!(call(MemoryCopy, [0, 1, 0, 10, 3]), Ok(0));
    mem0.read(0, &mut buf).unwrap();
    assert_eq!(&buf, b"AAA\0");
    assert_eq!(
        trap(MemoryCopy, [1, 0, 65535, 0, 2]),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        trap(MemoryCopy, [0, 1, 0, 65535, 2]),
        TrapCode::MemoryOutOfBounds
    );

    // table.init / elem.drop / table.get / table.set / table.fill / table.copy / table.grow
    let t = instance.get_table("t").or_else(|| None);
    assert!(t.is_none(), "the table is not exported");
    assert_eq!(call(TableInit, [0, 0, 1, 0, 3]), Ok(0));
    let f_ref = call(TableGet, [0, 1, 0, 0, 0]).unwrap();
    assert_ne!(f_ref, 0);
    assert_eq!(call(TableGet, [0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(trap(TableGet, [0, 4, 0, 0, 0]), TrapCode::TableOutOfBounds);
    assert_eq!(trap(TableInit, [0, 0, 2, 0, 3]), TrapCode::TableOutOfBounds);
    assert_eq!(trap(TableInit, [0, 0, 0, 2, 2]), TrapCode::TableOutOfBounds);
    assert_eq!(call(ElemDrop, [0, 0, 0, 0, 0]), Ok(0));
    assert_eq!(trap(TableInit, [0, 0, 0, 0, 1]), TrapCode::TableOutOfBounds);
    assert_eq!(
        call(TableInit, [0, 1, 4, 0, 0]),
        Ok(0),
        "declared segments are dropped and empty"
    );
    assert_eq!(call(TableSet, [0, 0, f_ref, 0, 0]), Ok(0));
    assert_eq!(
        trap(TableSet, [0, 4, f_ref, 0, 0]),
        TrapCode::TableOutOfBounds
    );
    assert_eq!(call(TableFill, [1, 0, 77, 2, 0]), Ok(0));
    assert_eq!(call(TableGet, [1, 1, 0, 0, 0]), Ok(77));
    assert_eq!(trap(TableFill, [1, 1, 5, 2, 0]), TrapCode::TableOutOfBounds);
    assert_eq!(
        call(TableGet, [1, 1, 0, 0, 0]),
        Ok(77),
        "a failing fill writes nothing"
    );
    assert_eq!(call(TableCopy, [0, 0, 2, 0, 2]), Ok(0));
    assert_eq!(call(TableGet, [0, 3, 0, 0, 0]), Ok(f_ref));
    assert_eq!(trap(TableCopy, [0, 1, 3, 0, 2]), TrapCode::TableOutOfBounds);
    assert_eq!(call(TableGrow, [0, f_ref, 6, 0, 0]), Ok(4));
    assert_eq!(call(TableGrow, [0, 0, 1, 0, 0]), Ok(-1));
    assert_eq!(call(TableGet, [0, 9, 0, 0, 0]), Ok(f_ref));
    assert_eq!(call(TableGrow, [1, 0, 3, 0, 0]), Ok(2));
    assert_eq!(
        call(TableCopy, [0, 1, 0, 0, 2]),
        Ok(0),
        "copy across tables"
    );
    assert_eq!(call(TableGet, [0, 0, 0, 0, 0]), Ok(77));

    // Engine hooks.
    assert_eq!(call(TierUp, [3, 0, 0, 0, 0]), Ok(0));
    assert_eq!(trap(LazyCompile, [3, 0, 0, 0, 0]), TrapCode::HostError);
    let lazy = instance.get_func("LazyCompile").unwrap();
    let message = lazy.call(&[
        Value::I64(3),
        Value::I64(0),
        Value::I64(0),
        Value::I64(0),
        Value::I64(0),
    ]);
    assert_eq!(
        message.unwrap_err().message,
        "function 3 could not be compiled"
    );
    let hooks = Arc::new(Hooks(Mutex::new(Vec::new())));
    runtime.set_engine_hooks(hooks.clone());
    assert_eq!(call(TierUp, [3, 0, 0, 0, 0]), Ok(0));
    assert_eq!(call(DebugBreak, [2, 40, 0, 0, 0]), Ok(0));
    assert_eq!(*hooks.0.lock().unwrap(), ["tier_up 3", "break 2 40"]);
}
