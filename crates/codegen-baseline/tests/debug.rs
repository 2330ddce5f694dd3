//! Debug code run through the runtime: the `DebugBreak` hook reads (and writes) locals and
//! operands from the frame through the debug side table, and sees the values the program
//! computes; checks fire exactly where requested; debug code computes what normal code does;
//! the side table round-trips.

use kiln_abi::CompiledFunction;
use kiln_code_manager::{CodeKind, CodeManager, CodeManagerConfig, NativeModule};
use kiln_codegen_baseline::value_stack::Kind;
use kiln_codegen_baseline::{
    CompileEnv, CompileOptions, DebugEntry, DebugLocation, DebugOptions, DebugSideTable,
    DebugSideTableBuilder, DebugValue, EntryKind,
};
use kiln_decoder::Module;
use kiln_runtime::{EngineHooks, Imports, Instance, Runtime, Store, Value};
use std::sync::{Arc, Mutex};

/// What the hook saw at one check.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stop {
    func: u32,
    wasm_offset: u32,
    kind: EntryKind,
    /// Locals then operands, as 64-bit patterns (i32/f32 zero-extended).
    locals: Vec<u64>,
    operands: Vec<u64>,
    /// The caller's locals, when the caller is debug code of this module.
    caller_locals: Option<Vec<u64>>,
}

type Edit = Box<dyn Fn(&Stop, &DebugEntry<'_>, usize) + Send + Sync>;

struct Debugger {
    tables: Mutex<Vec<Option<DebugSideTable>>>,
    first_defined: u32,
    stops: Mutex<Vec<Stop>>,
    /// Called at each stop with the frame pointer, to write slots.
    edit: Option<Edit>,
}

/// Reads `v` from the frame at `fp`.
fn read(v: &DebugValue, fp: usize) -> u64 {
    match v.loc {
        DebugLocation::Const(c) => match v.kind {
            Kind::I32 | Kind::F32 => c as u32 as u64,
            _ => c as u64,
        },
        DebugLocation::Slot(off) => {
            // SAFETY: the side table says the slot is in the live frame at `fp`, which is
            // suspended in the debug-break call while the hook runs.
            let raw = unsafe { *((fp as isize + off as isize) as *const u64) };
            match v.kind {
                Kind::I32 | Kind::F32 => raw as u32 as u64,
                _ => raw,
            }
        }
    }
}

/// Writes `bits` into `v`'s slot in the frame at `fp`.
fn write(v: &DebugValue, fp: usize, bits: u64) {
    let DebugLocation::Slot(off) = v.loc else {
        panic!("constants cannot be written")
    };
    // SAFETY: as in `read`; the frame's code reloads the slot after the check.
    unsafe { *((fp as isize + off as isize) as *mut u64) = bits };
}

impl EngineHooks for Debugger {
    fn debug_break(&self, _module: u64, func: u32, wasm_offset: u32, fp: usize) {
        let tables = self.tables.lock().unwrap();
        let table = tables[(func - self.first_defined) as usize]
            .as_ref()
            .expect("debug code has a side table");
        let entry = table
            .entry_for_wasm_offset(wasm_offset)
            .unwrap_or_else(|| panic!("no side-table entry at {wasm_offset}"));
        // The caller's frame: its rbp is saved at [fp], its return pc at [fp + 8].
        // SAFETY: wasm frames chain through rbp; the entry trampoline's frame ends the chain.
        let (caller_fp, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        let caller_locals = kiln_code_manager::lookup(ret).and_then(|l| {
            let bytes = l.code().debug_side_table()?;
            let t = DebugSideTable::decode(bytes).unwrap();
            let e = t
                .entry_at_pc(l.pc_offset())
                .expect("call sites have entries");
            assert_eq!(e.kind, EntryKind::Call);
            Some(e.locals.iter().map(|v| read(v, caller_fp)).collect())
        });
        let stop = Stop {
            func,
            wasm_offset,
            kind: entry.kind,
            locals: entry.locals.iter().map(|v| read(v, fp)).collect(),
            operands: entry.operands.iter().map(|v| read(v, fp)).collect(),
            caller_locals,
        };
        if let Some(edit) = &self.edit {
            edit(&stop, &entry, fp);
        }
        self.stops.lock().unwrap().push(stop);
    }
}

struct Setup {
    module: Arc<Module>,
    debugger: Arc<Debugger>,
    _native: NativeModule,
    _manager: CodeManager,
    _store: Store,
    instance: Instance,
    compiled: Vec<CompiledFunction>,
}

fn module(wat: &str) -> Module {
    let wasm = wat::parse_str(wat).expect("valid wat");
    kiln_decoder::decode(&wasm, &Default::default()).expect("valid module")
}

fn options(debug: Option<DebugOptions>) -> CompileOptions {
    CompileOptions {
        tier_up: false,
        debug,
        ..CompileOptions::default()
    }
}

fn setup(wat: &str, debug: Option<DebugOptions>, edit: Option<Edit>) -> Setup {
    let module = Arc::new(module(wat));
    let env = CompileEnv::new(&module);
    let opts = options(debug);
    let imported = module.num_imported_functions;
    let compiled: Vec<CompiledFunction> = (imported..module.functions.len() as u32)
        .map(|i| env.compile(i, &opts).unwrap())
        .collect();
    let manager = CodeManager::new(CodeManagerConfig::default());
    let native = manager
        .new_native_module(imported, module.num_defined_functions())
        .unwrap();
    let kind = if opts.debug.is_some() {
        CodeKind::BaselineDebug
    } else {
        CodeKind::Baseline
    };
    for (k, f) in compiled.iter().enumerate() {
        native.publish(imported + k as u32, kind, f).unwrap();
    }
    let tables = compiled
        .iter()
        .map(|f| {
            f.debug_side_table
                .as_ref()
                .map(|b| DebugSideTable::decode(b).unwrap())
        })
        .collect();
    let debugger = Arc::new(Debugger {
        tables: Mutex::new(tables),
        first_defined: imported,
        stops: Mutex::new(Vec::new()),
        edit,
    });
    let runtime = Runtime::default();
    runtime.set_engine_hooks(debugger.clone());
    let store = Store::new(&runtime);
    let instance = Instance::new(&store, &module, &native, &Imports::new()).unwrap();
    Setup {
        module,
        debugger,
        _native: native,
        _manager: manager,
        _store: store,
        instance,
        compiled,
    }
}

impl Setup {
    fn call(&self, name: &str, args: &[Value]) -> Vec<Value> {
        let f = self.instance.get_func(name).unwrap();
        f.call(args).unwrap()
    }

    fn stops(&self) -> Vec<Stop> {
        std::mem::take(&mut *self.debugger.stops.lock().unwrap())
    }

    /// The wasm offsets and names of the instructions of defined function `func`.
    fn ops(&self, func: u32) -> Vec<(u32, String)> {
        let range = self.module.functions[func as usize].body.clone().unwrap();
        let wire = &self.module.wire_bytes;
        let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(
            &wire[range.clone()],
            range.start as u64,
        ));
        let mut reader = body.get_operators_reader().unwrap();
        let mut out = Vec::new();
        while !reader.eof() {
            let (op, off) = reader.read_with_offset().unwrap();
            let name = format!("{op:?}");
            let end = name
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(name.len());
            out.push((off as u32, name[..end].to_string()));
        }
        out
    }

    fn body_start(&self, func: u32) -> u32 {
        self.module.functions[func as usize]
            .body
            .clone()
            .unwrap()
            .start as u32
    }
}

const SUM: &str = r#"(module
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $sum (i32.add (local.get $sum) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $sum)))"#;

#[test]
fn a_breakpoint_in_a_loop_sees_the_partial_sums() {
    let probe = setup(SUM, None, None);
    let ops = probe.ops(0);
    // The `local.get $sum` that starts `sum += i`.
    let bp = ops
        .iter()
        .filter(|(_, n)| n == "LocalGet")
        .nth(2)
        .unwrap()
        .0;
    let s = setup(SUM, Some(DebugOptions::breakpoints([bp])), None);
    assert_eq!(s.call("sum", &[Value::I32(10)]), [Value::I32(45)]);
    let stops = s.stops();
    assert_eq!(stops.len(), 10, "one stop per iteration");
    for (k, stop) in stops.iter().enumerate() {
        let k = k as u64;
        assert_eq!(stop.wasm_offset, bp);
        assert_eq!(stop.kind, EntryKind::Break);
        // n, i, sum = 0 + 1 + ... + (k - 1).
        assert_eq!(stop.locals, [10, k, k * k.saturating_sub(1) / 2]);
        assert!(stop.operands.is_empty());
    }
}

#[test]
fn writing_a_local_at_a_breakpoint_changes_the_computation() {
    let probe = setup(SUM, None, None);
    let bp = probe
        .ops(0)
        .iter()
        .filter(|(_, n)| n == "LocalGet")
        .nth(2)
        .unwrap()
        .0;
    // At the first stop, set $i to 5: the loop then sums 5..10.
    let edit: Edit = Box::new(|stop: &Stop, entry: &DebugEntry<'_>, fp| {
        if stop.locals[1] == 0 {
            write(&entry.locals[1], fp, 5);
        }
    });
    let s = setup(SUM, Some(DebugOptions::breakpoints([bp])), Some(edit));
    assert_eq!(s.call("sum", &[Value::I32(10)]), [Value::I32(35)]);
    assert_eq!(s.stops().len(), 5);
}

#[test]
fn stepping_stops_before_every_instruction_with_the_operand_stack() {
    let wat = r#"(module
      (func (export "f") (param i64 f64) (result f64) (local i32)
        (local.set 2 (i32.wrap_i64 (local.get 0)))
        (f64.add
          (f64.mul (local.get 1) (f64.const 2.5))
          (f64.convert_i32_s (i32.mul (local.get 2) (i32.const -3))))))"#;
    let s = setup(wat, Some(DebugOptions::stepping()), None);
    let out = s.call("f", &[Value::I64(7), Value::F64(4.0f64.to_bits())]);
    assert_eq!(out, [Value::F64((4.0 * 2.5 - 21.0f64).to_bits())]);
    let stops = s.stops();
    let ops = s.ops(0);
    // Entry, then every instruction once, in order (straight-line code).
    assert_eq!(stops[0].kind, EntryKind::FunctionEntry);
    assert_eq!(stops[0].wasm_offset, s.body_start(0));
    let offsets: Vec<u32> = stops[1..].iter().map(|s| s.wasm_offset).collect();
    let expected: Vec<u32> = ops.iter().map(|o| o.0).collect();
    assert_eq!(offsets, expected);
    let f = |x: f64| x.to_bits();
    let (p0, p1) = (7u64, f(4.0));
    // Operand stacks before each instruction, as the wasm semantics define them.
    let operands: Vec<Vec<u64>> = vec![
        vec![],                                // local.get 0
        vec![7],                               // i32.wrap_i64
        vec![7],                               // local.set 2
        vec![],                                // local.get 1
        vec![p1],                              // f64.const 2.5
        vec![p1, f(2.5)],                      // f64.mul
        vec![f(10.0)],                         // local.get 2
        vec![f(10.0), 7],                      // i32.const -3
        vec![f(10.0), 7, -3i32 as u32 as u64], // i32.mul
        vec![f(10.0), -21i32 as u32 as u64],   // f64.convert_i32_s
        vec![f(10.0), f(-21.0)],               // f64.add
        vec![f(-11.0)],                        // end
    ];
    for (k, stop) in stops[1..].iter().enumerate() {
        assert_eq!(stop.operands, operands[k], "before {:?}", ops[k]);
        let local2 = if k >= 3 { 7 } else { 0 };
        assert_eq!(stop.locals, [p0, p1, local2], "before {:?}", ops[k]);
    }
    // The locals at entry: parameters and a zeroed local.
    assert_eq!(stops[0].locals, [p0, p1, 0]);
}

#[test]
fn breakpoints_fire_only_where_requested() {
    let wat = r#"(module
      (func $g (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
      (func (export "f") (param i32) (result i32) (local i32)
        (loop $l
          (local.set 1 (i32.add (local.get 1) (call $g (local.get 0))))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get 1)))"#;
    let probe = setup(wat, None, None);
    let g_ops = probe.ops(0);
    let f_ops = probe.ops(1);
    let in_g = g_ops[1].0; // i32.const 3
    let at_call = f_ops.iter().find(|o| o.1 == "Call").unwrap().0;
    let s = setup(wat, Some(DebugOptions::breakpoints([at_call, in_g])), None);
    assert_eq!(
        s.call("f", &[Value::I32(4)]),
        [Value::I32(3 * (4 + 3 + 2 + 1))]
    );
    let stops = s.stops();
    let seen: Vec<(u32, u32)> = stops.iter().map(|s| (s.func, s.wasm_offset)).collect();
    let expected: Vec<(u32, u32)> = (0..4).flat_map(|_| [(1, at_call), (0, in_g)]).collect();
    assert_eq!(seen, expected);
    for (k, pair) in stops.chunks(2).enumerate() {
        let n = 4 - k as u64;
        let acc: u64 = (n + 1..=4).map(|m| 3 * m).sum();
        // Before the call in f: locals (n, acc), operands (acc, n) for `i32.add (.., call)`.
        assert_eq!(pair[0].locals, [n, acc]);
        assert_eq!(pair[0].operands, [acc, n]);
        // In g, before `i32.const 3`: its local and operand; f's locals through its call
        // site's entry, read from the caller's frame.
        assert_eq!(pair[1].locals, [n]);
        assert_eq!(pair[1].operands, [n]);
        assert_eq!(pair[1].caller_locals.as_deref(), Some(&[n, acc][..]));
    }
}

#[test]
fn writing_an_operand_slot_changes_the_result() {
    let wat = r#"(module (func (export "f") (param i32) (result i32)
        (i32.add (i32.mul (local.get 0) (local.get 0)) (i32.const 1))))"#;
    let probe = setup(wat, None, None);
    let at_const = probe.ops(0).iter().find(|o| o.1 == "I32Const").unwrap().0;
    let edit: Edit = Box::new(|_: &Stop, entry: &DebugEntry<'_>, fp| {
        write(&entry.operands[0], fp, 41);
    });
    let s = setup(wat, Some(DebugOptions::breakpoints([at_const])), Some(edit));
    assert_eq!(s.call("f", &[Value::I32(6)]), [Value::I32(42)]);
    assert_eq!(s.stops()[0].operands, [36]);
}

/// Functions exercising control flow, calls, memory, floats and multi-value, each called
/// with a few arguments: debug code (stepping, and breakpoints on every other instruction)
/// returns what normal code returns.
#[test]
fn debug_code_computes_what_normal_code_computes() {
    let wat = r#"(module
      (memory 1)
      (table 2 funcref)
      (elem (i32.const 0) $sq $neg)
      (type $un (func (param i32) (result i32)))
      (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
      (func $neg (param i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
      (func $pair (param i32) (result i32 i64)
        (local.get 0) (i64.extend_i32_s (i32.add (local.get 0) (i32.const 1))))
      (func (export "mix") (param i32) (result i32) (local i32 i64 f64)
        (local.set 2 (i64.const 0x1_0000_0001))
        (block $b (result i32)
          (br_if $b (i32.const 99) (i32.eqz (local.get 0)))
          (drop)
          (i32.store (i32.const 16) (local.get 0))
          (local.set 1 (call_indirect (type $un) (i32.load (i32.const 16))
                                                 (i32.and (local.get 0) (i32.const 1))))
          (local.set 3 (f64.sqrt (f64.convert_i32_s (i32.mul (local.get 1) (local.get 1)))))
          (call $pair (local.get 1))
          (local.set 2 (i64.add (local.get 2)))
          (i32.add (i32.trunc_f64_s (local.get 3)))
          (i64.gt_s (local.get 2) (i64.const 0x1_0000_0010))
          (if (param i32) (result i32)
            (then (i32.const 1000) (i32.add))
            (else (i32.const 2000) (i32.sub)))
          (select (i32.wrap_i64 (local.get 2)) (i32.const 7) (i32.lt_s (local.get 0) (i32.const 5)))
          (i32.add)))
      (func (export "fib") (param i32) (result i64) (local i64 i64)
        (local.set 2 (i64.const 1))
        (block $done
          (loop $l
            (br_if $done (i32.eqz (local.get 0)))
            (local.set 2 (i64.add (local.get 1) (local.tee 1 (local.get 2))))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br_table $l $done (i32.const 0))))
        (local.get 1)))"#;
    let normal = setup(wat, None, None);
    let every_other: Vec<u32> = (0..normal.module.functions.len() as u32)
        .flat_map(|f| normal.ops(f))
        .step_by(2)
        .map(|o| o.0)
        .collect();
    let stepping = setup(wat, Some(DebugOptions::stepping()), None);
    let some = setup(wat, Some(DebugOptions::breakpoints(every_other)), None);
    let quiet = setup(wat, Some(DebugOptions::default()), None);
    for n in [0, 1, 2, 3, 6, 7, 17, -5] {
        let args = [Value::I32(n)];
        let want = normal.call("mix", &args);
        for s in [&stepping, &some, &quiet] {
            assert_eq!(s.call("mix", &args), want, "mix({n})");
        }
        if n >= 0 {
            let want = normal.call("fib", &args);
            for s in [&stepping, &some, &quiet] {
                assert_eq!(s.call("fib", &args), want, "fib({n})");
            }
        }
    }
    assert!(normal.stops().is_empty() && quiet.stops().is_empty());
    let (all, half) = (stepping.stops().len(), some.stops().len());
    assert!(all > half && half > 0, "{all} {half}");
    // Debug code is larger; its side table is there, normal code has none.
    for (d, n) in stepping.compiled.iter().zip(&normal.compiled) {
        assert!(d.code.len() > n.code.len());
        assert!(d.debug_side_table.is_some() && n.debug_side_table.is_none());
    }
}

fn value(kind: Kind, loc: DebugLocation) -> DebugValue {
    DebugValue { kind, loc }
}

#[test]
fn side_table_round_trips_and_rejects_damage() {
    use DebugLocation::{Const, Slot};
    let locals = [Kind::I32, Kind::F64, Kind::Ref];
    let slot = |pos: usize| kiln_codegen_baseline::frame::slot_offset(pos);
    let mut b = DebugSideTableBuilder::new(&locals);
    let mut want = Vec::new();
    let kinds = [Kind::I32, Kind::I64, Kind::F32, Kind::F64, Kind::Ref];
    let mut operands: Vec<DebugValue> = Vec::new();
    let mut pc = 3;
    let mut wasm = 100;
    // A deterministic walk: push, pop, replace the top; constants of every size, explicit
    // slot offsets; more entries than the keyframe interval.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..200usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 5 {
            0 | 1 => {
                let kind = kinds[(x >> 8) as usize % 5];
                let pos = locals.len() + operands.len();
                let loc = match (x >> 16) % 3 {
                    0 => Slot(slot(pos)),
                    1 => Const((x as i64) >> ((x >> 24) % 64)),
                    _ => Slot(-8 * ((x >> 32) % 4096) as i32),
                };
                operands.push(value(kind, loc));
            }
            2 => {
                operands.pop();
            }
            3 => {
                if let Some(top) = operands.last_mut() {
                    top.loc = Const(-(i as i64));
                }
            }
            _ => {}
        }
        let kind = match i % 7 {
            0 => EntryKind::FunctionEntry,
            1 | 2 => EntryKind::Call,
            _ => EntryKind::Break,
        };
        b.add(pc, wasm, kind, &operands);
        want.push((pc, wasm, kind, operands.clone()));
        pc += 1 + (x % 300) as u32;
        wasm += (x % 3) as u32;
    }
    let bytes = b.finish();
    let t = DebugSideTable::decode(&bytes).unwrap();
    assert_eq!(t.len(), want.len());
    let want_locals: Vec<DebugValue> = locals
        .iter()
        .enumerate()
        .map(|(p, &k)| value(k, Slot(slot(p))))
        .collect();
    assert_eq!(t.locals(), &want_locals[..]);
    for (i, (pc, wasm, kind, ops)) in want.iter().enumerate() {
        let e = t.entry(i);
        assert_eq!((e.pc_offset, e.wasm_offset, e.kind), (*pc, *wasm, *kind));
        assert_eq!(&e.operands, ops, "entry {i}");
        assert_eq!(t.entry_at_pc(*pc).unwrap(), e);
        let by_offset = t.entry_for_wasm_offset(*wasm);
        if *kind == EntryKind::Call {
            assert!(by_offset.is_none_or(|b| b.kind != EntryKind::Call));
        } else {
            assert_eq!(by_offset.unwrap().wasm_offset, *wasm);
        }
    }
    // Only changes are stored: far less than every operand of every entry.
    let full: usize = want.iter().map(|w| w.3.len()).sum();
    assert!(bytes.len() < 4 * want.len() + full, "{} bytes", bytes.len());
    // Every strict prefix is rejected, as are wrong versions and stray bytes.
    for n in 0..bytes.len() {
        assert!(DebugSideTable::decode(&bytes[..n]).is_err(), "prefix {n}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(DebugSideTable::decode(&longer).is_err());
    let mut other = bytes.clone();
    other[0] = 9;
    assert!(DebugSideTable::decode(&other).is_err());
}

#[test]
fn side_table_of_compiled_code_matches_the_stops() {
    let s = setup(SUM, Some(DebugOptions::stepping()), None);
    let bytes = s.compiled[0].debug_side_table.as_ref().unwrap();
    let t = DebugSideTable::decode(bytes).unwrap();
    // One break entry per instruction reached by falling through (all but the `end`s of the
    // loop and the block, after `br`: the block's end is reached only by its branch) plus
    // the entry check; no call sites.
    assert_eq!(t.len(), s.ops(0).len() - 1);
    assert!(t.entries().all(|e| e.kind != EntryKind::Call));
    // Entries are in pc order and each pc is inside the code.
    let pcs: Vec<u32> = t.entries().map(|e| e.pc_offset).collect();
    assert!(pcs.windows(2).all(|w| w[0] < w[1]));
    assert!(*pcs.last().unwrap() as usize <= s.compiled[0].code.len());
    // Each entry's pc maps back to its instruction through the source positions.
    for e in t.entries().skip(1) {
        assert_eq!(
            s.compiled[0].wasm_offset_at(e.pc_offset - 1),
            Some(e.wasm_offset)
        );
    }
}

#[test]
fn side_table_rejects_long_delta_chains() {
    // Hand-made: no locals, 40 entries each keeping everything of the previous one.
    let mut bytes = vec![1, 0, 40];
    bytes.extend([1, 0, 0, 0, 1, 0]); // pc 1, one i32 operand in its slot
    for _ in 1..40 {
        bytes.extend([1, 0, 0, 1, 0]); // pc + 1, keep 1, nothing new
    }
    let err = DebugSideTable::decode(&bytes).unwrap_err();
    assert!(err.message.contains("full"), "{err}");
    // The builder starts a full entry every KEYFRAME_INTERVAL entries.
    let mut b = DebugSideTableBuilder::new(&[]);
    let v = [value(Kind::I32, DebugLocation::Slot(-40))];
    for pc in 1..=40 {
        b.add(pc, 7, EntryKind::Break, &v);
    }
    let t = DebugSideTable::decode(&b.finish()).unwrap();
    assert!(t.entries().all(|e| e.operands == v));
}

#[test]
fn function_entry_checks_see_the_arguments_and_the_callers() {
    let wat = r#"(module
      (func $fac (export "fac") (param i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0))
          (then (i64.const 1))
          (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1))))))))"#;
    let mut opts = DebugOptions::default();
    opts.function_entry = true;
    let s = setup(wat, Some(opts), None);
    assert_eq!(s.call("fac", &[Value::I64(5)]), [Value::I64(120)]);
    let stops = s.stops();
    assert_eq!(stops.len(), 6);
    for (k, stop) in stops.iter().enumerate() {
        let n = 5 - k as u64;
        assert_eq!(stop.kind, EntryKind::FunctionEntry);
        assert_eq!(stop.wasm_offset, s.body_start(0));
        assert_eq!(stop.locals, [n]);
        assert!(stop.operands.is_empty());
        // The caller is the same function one level up, stopped at its call with its own
        // argument; the outermost call comes from the host.
        let caller = (k > 0).then(|| vec![n + 1]);
        assert_eq!(stop.caller_locals, caller);
    }
}

/// Stack parameters, a return area and float and integer values mixed, across debug code.
#[test]
fn debug_code_passes_stack_arguments_and_return_areas() {
    let wat = r#"(module
      (func $many (param i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f64 f64 f64 f64 f64 f64 f64)
                  (result i64 f64 i32 f32 i64)
        (i64.add (i64.extend_i32_s (local.get 8)) (local.get 9))
        (f64.add (local.get 16) (f64.promote_f32 (local.get 6)))
        (i32.sub (local.get 0) (local.get 4))
        (f32.demote_f64 (f64.mul (local.get 3) (local.get 7)))
        (i64.mul (local.get 1) (local.get 5)))
      (func (export "run") (param i32) (result f64)
        (local i64 f64 i32 f32 i64)
        (call $many (local.get 0) (i64.const 2) (f32.const 3) (f64.const 4) (i32.const 5)
                    (i64.const 6) (f32.const 7.5) (f64.const 8) (i32.const 9) (i64.const 10)
                    (f64.const 11) (f64.const 12) (f64.const 13) (f64.const 14)
                    (f64.const 15) (f64.const 16) (f64.const 17.25))
        (local.set 5) (local.set 4) (local.set 3) (local.set 2) (local.set 1)
        (f64.add (f64.add (f64.convert_i64_s (local.get 1)) (local.get 2))
          (f64.add (f64.convert_i32_s (local.get 3))
            (f64.add (f64.promote_f32 (local.get 4)) (f64.convert_i64_s (local.get 5)))))))"#;
    let normal = setup(wat, None, None);
    let stepping = setup(wat, Some(DebugOptions::stepping()), None);
    for n in [1, -7, 1000] {
        let want = normal.call("run", &[Value::I32(n)]);
        let expected = 19.0 + 24.75 + f64::from(n - 5) + 32.0 + 12.0;
        assert_eq!(want, [Value::F64(expected.to_bits())]);
        assert_eq!(stepping.call("run", &[Value::I32(n)]), want);
    }
    // At the entry of $many, every parameter is readable, stack-passed ones included.
    let entry = stepping
        .stops()
        .into_iter()
        .find(|s| s.func == 0 && s.kind == EntryKind::FunctionEntry)
        .unwrap();
    assert_eq!(entry.locals[0], 1);
    assert_eq!(entry.locals[9], 10);
    assert_eq!(entry.locals[16], 17.25f64.to_bits());
    assert_eq!(entry.locals[6], u64::from(7.5f32.to_bits()));
}
