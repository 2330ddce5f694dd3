//! Runs the `assert_return` and `assert_trap` commands of the WebAssembly spec testsuite's core
//! scripts against baseline code, in three configurations (guard regions, explicit bounds
//! checks, baseline CPU with tier-up checks). Traps run in forked children (see
//! `common::in_child`). Modules with imports, and commands needing a host (exhaustion,
//! registered modules), are skipped; everything else must pass.
//!
//! The testsuite is found at `KILN_SPEC_TESTSUITE`, else `../shared/spec-testsuite` beside
//! the repository, like `kiln-spec-harness`. Arguments and results go through a trampoline
//! generated from `kiln_abi::call_layout`, so any signature can be invoked.

mod common;
use common::*;
use kiln_abi::{Location, call_layout};
use kiln_assembler_x64::{
    Assembler, FloatSize, Gpr, Mem, R12, R13, R14, R15, RAX, RBP, RBX, RSP, Size, Xmm,
};
use kiln_codegen_baseline::CompileOptions;
use std::path::PathBuf;
use wast::core::{WastArgCore, WastRetCore};
use wast::{WastArg, WastDirective, WastExecute, WastRet};

const SCRIPTS: &[&str] = &[
    "address",
    "align",
    "block",
    "br",
    "br_if",
    "br_table",
    "call",
    "call_indirect",
    "const",
    "conversions",
    "endianness",
    "f32",
    "f32_bitwise",
    "f32_cmp",
    "f64",
    "f64_bitwise",
    "f64_cmp",
    "fac",
    "float_exprs",
    "float_literals",
    "float_memory",
    "float_misc",
    "forward",
    "func",
    "global",
    "i32",
    "i64",
    "if",
    "int_exprs",
    "int_literals",
    "labels",
    "left-to-right",
    "load",
    "local_get",
    "local_set",
    "local_tee",
    "loop",
    "memory",
    "memory_grow",
    "memory_redundancy",
    "memory_size",
    "nop",
    "return",
    "select",
    "stack",
    "store",
    "switch",
    "unreachable",
    "unwind",
    "ref_null",
    "ref_is_null",
    "ref_func",
    "table_get",
    "table_set",
    "memory_trap",
    "traps",
    "local_tee",
    "comments",
    "store",
    "address",
    "address0",
    "address1",
    "align0",
    "data",
    "elem",
    "exports",
    "float_exprs0",
    "float_exprs1",
    "float_memory0",
    "func_ptrs",
    "load0",
    "load1",
    "load2",
    "local_init",
    "memory_trap0",
    "memory_trap1",
    "store0",
    "store1",
    "store2",
    "token",
    "traps0",
    "obsolete-keywords",
    "memory-multi",
    "unreached-valid",
];

/// Commands the test instance cannot run: they grow memory past the test's fixed buffer, or
/// rely on a real `table.init` builtin (`table_size` and `bulk` are left out entirely: they
/// need real `table.grow` and bulk builtins).
const HOST_LIMITED: &[(&str, &str)] = &[
    ("elem", "init"),
    ("call", "as-memory.grow-value"),
    ("call_indirect", "as-memory.grow-value"),
    ("local_tee", "as-memory.grow-size"),
];

/// `extern "sysv64" fn(vmctx, target, args: *const u64, results: *mut u64)` for one signature.
struct Trampoline {
    _mem: region::Allocation,
    entry: extern "sysv64" fn(*mut u8, usize, *const u64, *mut u64),
}

fn trampoline(
    params: &[wast::core::ValType],
    results: &[wast::core::ValType],
) -> Option<Trampoline> {
    let map = |t: &wast::core::ValType| -> Option<kiln_decoder::ValType> {
        Some(match t {
            wast::core::ValType::I32 => kiln_decoder::ValType::I32,
            wast::core::ValType::I64 => kiln_decoder::ValType::I64,
            wast::core::ValType::F32 => kiln_decoder::ValType::F32,
            wast::core::ValType::F64 => kiln_decoder::ValType::F64,
            wast::core::ValType::Ref(_) => kiln_decoder::ValType::FUNCREF,
            wast::core::ValType::V128 => return None,
        })
    };
    let params: Vec<_> = params.iter().map(map).collect::<Option<_>>()?;
    let results: Vec<_> = results.iter().map(map).collect::<Option<_>>()?;
    let l = call_layout(&params, &results);
    let mut a = Assembler::new();
    a.push_r(RBP);
    a.mov_rr(Size::S64, RBP, RSP);
    for r in [RBX, R12, R13, R14, R15] {
        a.push_r(r);
    }
    a.mov_rr(Size::S64, R12, kiln_assembler_x64::RDX);
    a.mov_rr(Size::S64, R13, kiln_assembler_x64::RCX);
    a.mov_rr(Size::S64, R14, kiln_assembler_x64::RSI);
    a.mov_rr(Size::S64, R15, kiln_assembler_x64::RDI);
    // Five pushes after rbp leave rsp 8 below a 16-byte boundary.
    let extra = (l.stack_args_size + l.ret_area_size + 8) as i32;
    a.alu_ri(kiln_assembler_x64::AluOp::Sub, Size::S64, RSP, extra);
    for (i, loc) in l.params.iter().enumerate() {
        let src = Mem::base(R12, 8 * i as i32);
        match *loc {
            Location::Gpr(g) => a.mov_rm(Size::S64, Gpr::new(g).unwrap(), src),
            Location::Xmm(x) => a.movs_rm(FloatSize::F64, Xmm::new(x).unwrap(), src),
            Location::Stack(off) => {
                a.mov_rm(Size::S64, RAX, src);
                a.mov_mr(Size::S64, Mem::base(RSP, off as i32), RAX);
            }
            Location::RetArea(_) => unreachable!(),
        }
    }
    if let Some(Location::Gpr(g)) = l.ret_area_pointer {
        a.lea(
            Size::S64,
            Gpr::new(g).unwrap(),
            Mem::base(RSP, l.stack_args_size as i32),
        );
    }
    let Location::Gpr(vm) = l.vmctx else {
        unreachable!()
    };
    a.mov_rr(Size::S64, Gpr::new(vm).unwrap(), R15);
    a.call_r(R14);
    for (j, loc) in l.results.iter().enumerate() {
        let dst = Mem::base(R13, 8 * j as i32);
        match *loc {
            Location::Gpr(g) => a.mov_mr(Size::S64, dst, Gpr::new(g).unwrap()),
            Location::Xmm(x) => a.movs_mr(FloatSize::F64, dst, Xmm::new(x).unwrap()),
            _ => {}
        }
    }
    for (j, loc) in l.results.iter().enumerate() {
        if let Location::RetArea(off) = *loc {
            a.mov_rm(
                Size::S64,
                kiln_assembler_x64::R11,
                Mem::base(RSP, off as i32),
            );
            a.mov_mr(
                Size::S64,
                Mem::base(R13, 8 * j as i32),
                kiln_assembler_x64::R11,
            );
        }
    }
    a.lea(Size::S64, RSP, Mem::base(RBP, -40));
    for r in [R15, R14, R13, R12, RBX] {
        a.pop_r(r);
    }
    a.pop_r(RBP);
    a.ret();
    let code = a.finish().unwrap();
    let mut mem = region::alloc(code.len(), region::Protection::READ_WRITE).unwrap();
    let ptr = mem.as_mut_ptr::<u8>();
    // SAFETY: a fresh writable mapping of at least `code.len()` bytes, made executable before
    // use; the code follows the signature above.
    unsafe {
        std::ptr::copy_nonoverlapping(code.as_ptr(), ptr, code.len());
        region::protect(ptr, code.len(), region::Protection::READ_EXECUTE).unwrap();
        Some(Trampoline {
            entry: std::mem::transmute::<
                *mut u8,
                extern "sysv64" fn(*mut u8, usize, *const u64, *mut u64),
            >(ptr),
            _mem: mem,
        })
    }
}

fn arg_bits(arg: &WastArg) -> Option<u64> {
    match arg {
        WastArg::Core(WastArgCore::I32(v)) => Some(*v as u32 as u64),
        WastArg::Core(WastArgCore::I64(v)) => Some(*v as u64),
        WastArg::Core(WastArgCore::F32(v)) => Some(u64::from(v.bits)),
        WastArg::Core(WastArgCore::F64(v)) => Some(v.bits),
        WastArg::Core(WastArgCore::RefNull(_)) => Some(0),
        // Any non-null handle will do for an externref.
        WastArg::Core(WastArgCore::RefExtern(n)) => Some(0x1000 + u64::from(*n)),
        _ => None,
    }
}

/// Whether `bits` (a result slot) matches the expectation; `None` if it cannot be judged.
fn matches(ret: &WastRet, bits: u64) -> Option<bool> {
    use wast::core::NanPattern::*;
    Some(match ret {
        WastRet::Core(WastRetCore::I32(v)) => bits as u32 == *v as u32,
        WastRet::Core(WastRetCore::I64(v)) => bits == *v as u64,
        WastRet::Core(WastRetCore::F32(p)) => {
            let b = bits as u32;
            match p {
                CanonicalNan => b & 0x7fff_ffff == 0x7fc0_0000,
                ArithmeticNan => b & 0x7fc0_0000 == 0x7fc0_0000,
                Value(v) => b == v.bits,
            }
        }
        WastRet::Core(WastRetCore::F64(p)) => match p {
            CanonicalNan => bits & (u64::MAX >> 1) == 0x7ff8_0000_0000_0000,
            ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
            Value(v) => bits == v.bits,
        },
        WastRet::Core(WastRetCore::RefNull(_)) => bits == 0,
        WastRet::Core(WastRetCore::RefFunc(_)) => bits != 0,
        _ => return None,
    })
}

fn suite() -> PathBuf {
    match std::env::var_os("KILN_SPEC_TESTSUITE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec-testsuite"),
    }
}

/// The export's trampoline and arguments, or `None` if the runner cannot call it.
fn prepare(
    inst: &Instance,
    invoke: &wast::WastInvoke,
) -> Option<(Trampoline, Vec<u64>, u32, usize)> {
    let export = inst.module.export(invoke.name)?;
    let ty = inst.module.function_type(export.index).clone();
    let to_wast = |t: &kiln_decoder::ValType| match t {
        kiln_decoder::ValType::I32 => wast::core::ValType::I32,
        kiln_decoder::ValType::I64 => wast::core::ValType::I64,
        kiln_decoder::ValType::F32 => wast::core::ValType::F32,
        kiln_decoder::ValType::F64 => wast::core::ValType::F64,
        kiln_decoder::ValType::V128 => wast::core::ValType::V128,
        kiln_decoder::ValType::Ref(_) => wast::core::ValType::Ref(wast::core::RefType::func()),
    };
    let params: Vec<_> = ty.params().iter().map(to_wast).collect();
    let rets: Vec<_> = ty.results().iter().map(to_wast).collect();
    let args = invoke
        .args
        .iter()
        .map(arg_bits)
        .collect::<Option<Vec<u64>>>()?;
    let tramp = trampoline(&params, &rets)?;
    Some((tramp, args, export.index, rets.len()))
}

/// Runs an `assert_trap` in a child with a fresh instance of the module (state changes made
/// by earlier commands are not replayed) and compares the trap's message.
fn assert_trap(
    inst: &Instance,
    wasm: &[u8],
    opts: &CompileOptions,
    invoke: &wast::WastInvoke,
    message: &str,
) -> Option<Result<(), String>> {
    let (tramp, args, index, nrets) = prepare(inst, invoke)?;
    let guard = opts.bounds_checks == kiln_codegen_baseline::BoundsChecks::Guard;
    let status = in_child(|| {
        let module = kiln_decoder::decode(wasm, &Default::default()).unwrap();
        let has_memory = !module.memories.is_empty();
        let inst = instantiate_module(module, opts, &[]).unwrap();
        if guard && has_memory {
            inst.guard_memory();
        }
        let mut out = vec![0u64; nrets.max(1)];
        let target = inst.native.jump_table_slot(index).unwrap();
        let _s = scope();
        (tramp.entry)(inst.vmctx_ptr(), target, args.as_ptr(), out.as_mut_ptr());
    });
    let trap = u8::try_from(status)
        .ok()
        .and_then(kiln_abi::TrapCode::from_u8);
    Some(match trap {
        Some(t) if message.starts_with(t.message()) || t.message().starts_with(message) => Ok(()),
        _ => Err(format!(
            "{}({args:x?}) expected trap \"{message}\", child exited with {status} ({trap:?})",
            invoke.name
        )),
    })
}

#[derive(Default, Debug)]
struct Tally {
    passed: usize,
    skipped: usize,
    failed: Vec<String>,
}

fn run_script(name: &str, opts: &CompileOptions, tally: &mut Tally) {
    let path = suite().join(format!("{name}.wast"));
    if std::env::var_os("KILN_SPEC_VERBOSE").is_some() {
        eprintln!("script {name}");
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "spec testsuite not found at {} ({e}); set KILN_SPEC_TESTSUITE",
            path.display()
        )
    });
    let buf = wast::parser::ParseBuffer::new(&text).unwrap();
    let script: wast::Wast = wast::parser::parse(&buf).unwrap();
    let mut current: Option<(Instance, Vec<u8>)> = None;
    for directive in script.directives {
        let (invoke, results) = match directive {
            WastDirective::Module(mut quote) => {
                let id = quote.name().map(|n| n.name().to_string());
                let wasm = match quote.encode() {
                    Ok(w) => w,
                    Err(_) => {
                        current = None;
                        continue;
                    }
                };
                let module = match kiln_decoder::decode(&wasm, &Default::default()) {
                    Ok(m) if m.imports.is_empty() => m,
                    _ => {
                        current = None;
                        tally.skipped += 1;
                        continue;
                    }
                };
                match instantiate_module(module, opts, &[]) {
                    Ok(inst) => {
                        // Keep the code mapped for the rest of the process: freeing it would
                        // leave deferred unmaps that a forked child (see `assert_trap`) would
                        // run against address ranges it does not own.
                        std::mem::forget(inst.native.clone());
                        current = Some((inst, wasm))
                    }
                    Err(e) => {
                        tally
                            .failed
                            .push(format!("{name}: module does not compile: {e}"));
                        current = None;
                    }
                }
                // Commands naming a module are skipped below: only the latest one is kept.
                let _ = id;
                continue;
            }
            WastDirective::AssertTrap {
                exec: WastExecute::Invoke(invoke),
                message,
                ..
            } => {
                let (line, _) = invoke.span.linecol_in(&text);
                if HOST_LIMITED.contains(&(name, invoke.name)) {
                    tally.skipped += 1;
                    continue;
                }
                match &current {
                    Some((inst, wasm)) if invoke.module.is_none() => {
                        match assert_trap(inst, wasm, opts, &invoke, message) {
                            Some(Ok(())) => tally.passed += 1,
                            Some(Err(e)) => tally.failed.push(format!("{name}:{}: {e}", line + 1)),
                            None => tally.skipped += 1,
                        }
                    }
                    _ => tally.skipped += 1,
                }
                continue;
            }
            // A bare invoke changes state (e.g. initializes memory); its results are ignored.
            WastDirective::Invoke(invoke) => (invoke, Vec::new()),
            WastDirective::AssertReturn {
                exec: WastExecute::Invoke(invoke),
                results,
                ..
            } => (invoke, results),
            _ => {
                tally.skipped += 1;
                continue;
            }
        };
        let span = invoke.span;
        if HOST_LIMITED.contains(&(name, invoke.name)) {
            tally.skipped += 1;
            continue;
        }
        {
            {
                if invoke.module.is_some() {
                    tally.skipped += 1;
                    continue;
                }
                let Some((inst, _)) = &current else {
                    tally.skipped += 1;
                    continue;
                };
                let (line, col) = span.linecol_in(&text);
                let Some(export) = inst.module.export(invoke.name) else {
                    tally.failed.push(format!(
                        "{name}:{}:{col}: no export {}",
                        line + 1,
                        invoke.name
                    ));
                    continue;
                };
                let ty = inst.module.function_type(export.index).clone();
                let to_wast = |t: &kiln_decoder::ValType| match t {
                    kiln_decoder::ValType::I32 => wast::core::ValType::I32,
                    kiln_decoder::ValType::I64 => wast::core::ValType::I64,
                    kiln_decoder::ValType::F32 => wast::core::ValType::F32,
                    kiln_decoder::ValType::F64 => wast::core::ValType::F64,
                    kiln_decoder::ValType::V128 => wast::core::ValType::V128,
                    kiln_decoder::ValType::Ref(_) => {
                        wast::core::ValType::Ref(wast::core::RefType::func())
                    }
                };
                let params: Vec<_> = ty.params().iter().map(to_wast).collect();
                let rets: Vec<_> = ty.results().iter().map(to_wast).collect();
                let Some(args) = invoke
                    .args
                    .iter()
                    .map(arg_bits)
                    .collect::<Option<Vec<u64>>>()
                else {
                    tally.skipped += 1;
                    continue;
                };
                let Some(tramp) = trampoline(&params, &rets) else {
                    tally.skipped += 1;
                    continue;
                };
                if std::env::var_os("KILN_SPEC_VERBOSE").is_some() {
                    eprintln!("  {}:{} {}", name, line + 1, invoke.name);
                }
                let mut out = vec![0u64; rets.len().max(1)];
                let target = inst.native.jump_table_slot(export.index).unwrap();
                {
                    let _s = scope();
                    (tramp.entry)(inst.vmctx_ptr(), target, args.as_ptr(), out.as_mut_ptr());
                }
                let verdicts: Vec<Option<bool>> = results
                    .iter()
                    .zip(&out)
                    .map(|(r, &b)| matches(r, b))
                    .collect();
                if verdicts.iter().any(|v| v.is_none()) {
                    tally.skipped += 1;
                } else if verdicts.iter().all(|v| *v == Some(true)) {
                    tally.passed += 1;
                } else {
                    tally.failed.push(format!(
                        "{name}:{}:{col}: {}({:x?}) returned {:x?}",
                        line + 1,
                        invoke.name,
                        args,
                        out
                    ));
                }
            }
        }
    }
}

#[test]
fn spec_testsuite_assert_return_and_assert_trap() {
    let mut tally = Tally::default();
    let configs = [
        options(),
        explicit(),
        CompileOptions {
            cpu: kiln_codegen_baseline::CpuFeatures {
                sse41: true,
                ..kiln_codegen_baseline::CpuFeatures::BASELINE
            },
            tier_up: true,
            ..options()
        },
    ];
    for opts in &configs {
        let only = std::env::var("KILN_SPEC_ONLY").ok();
        for name in SCRIPTS
            .iter()
            .filter(|n| only.as_deref().is_none_or(|o| o == **n))
        {
            run_script(name, opts, &mut tally);
        }
    }
    eprintln!(
        "spec: {} passed, {} skipped, {} failed",
        tally.passed,
        tally.skipped,
        tally.failed.len()
    );
    assert!(
        tally.failed.is_empty(),
        "{} failures:\n{}",
        tally.failed.len(),
        tally.failed.join("\n")
    );
    assert!(tally.passed > 5000, "only {} assertions ran", tally.passed);
}
