//! Metadata invariants: trap sites and source positions, relocations, unsupported operators.

mod common;
use common::*;
use iced_x86::{Decoder, DecoderOptions, Mnemonic};
use kiln_abi::{CompiledFunction, TrapCode};
use kiln_codegen_baseline::{CompileError, compile_function};

const MIXED: &str = r#"(module
  (memory 1)
  (global (mut i32) (i32.const 0))
  (table 2 funcref)
  (type $t (func (param i32) (result i32)))
  (func $f (export "f") (param i32 i64 f64) (result i32)
    (local i32)
    (block $b
      (loop $l
        (local.set 3 (i32.div_s (local.get 0) (i32.add (local.get 3) (i32.const 1))))
        (i64.store (local.get 3) (i64.rem_u (local.get 1) (local.get 1)))
        (br_if $b (i32.trunc_f64_u (local.get 2)))
        (global.set 0 (call_indirect (type $t) (local.get 0) (i32.const 1)))
        (br_table $b $l (local.get 0))))
    (if (i32.eqz (local.get 0)) (then unreachable))
    (i32.load8_u offset=3 (local.get 0))))"#;

/// The instruction at each trap site: `ud2` for out-of-line traps, a memory access for
/// memory traps.
fn check_trap_instructions(f: &CompiledFunction) {
    for site in &f.trap_sites {
        let mut d = Decoder::with_ip(
            64,
            &f.code[site.pc_offset as usize..],
            0,
            DecoderOptions::NONE,
        );
        let inst = d.decode();
        match site.trap {
            TrapCode::MemoryOutOfBounds if inst.mnemonic() != Mnemonic::Ud2 => {
                assert!(
                    (0..inst.op_count()).any(|i| inst.op_kind(i) == iced_x86::OpKind::Memory),
                    "memory trap site is {inst}"
                );
            }
            _ => assert_eq!(
                inst.mnemonic(),
                Mnemonic::Ud2,
                "{:?} site is {inst}",
                site.trap
            ),
        }
    }
}

#[test]
fn trap_sites_and_positions_are_sorted_inside_the_code_and_point_at_traps() {
    for opts in [options(), explicit()] {
        let module = decode(MIXED);
        let f = compile_function(&module, 0, &opts).unwrap();
        check_invariants(&f);
        check_trap_instructions(&f);
        let traps: Vec<TrapCode> = f.trap_sites.iter().map(|t| t.trap).collect();
        for t in [
            TrapCode::StackOverflow,
            TrapCode::IntegerDivideByZero,
            TrapCode::IntegerOverflow,
            TrapCode::MemoryOutOfBounds,
            TrapCode::BadConversionToInteger,
            TrapCode::UndefinedElement,
            TrapCode::IndirectCallToNull,
            TrapCode::BadSignature,
            TrapCode::Unreachable,
        ] {
            assert!(traps.contains(&t), "{t:?} missing");
        }
        // Every source position names an operator inside the body.
        let body = module.functions[0].body.clone().unwrap();
        for p in f.source_positions.iter() {
            assert!(
                body.contains(&(p.wasm_offset as usize)),
                "{p:?} outside {body:?}"
            );
        }
        // Trap stubs map back to their instruction: the unreachable is the last one.
        let unreachable_site = f
            .trap_sites
            .iter()
            .find(|t| t.trap == TrapCode::Unreachable)
            .unwrap();
        let off = f.wasm_offset_at(unreachable_site.pc_offset).unwrap() as usize;
        assert_eq!(module.wire_bytes[off], 0x00, "the unreachable opcode");
    }
}

#[test]
fn division_traps_are_checked_before_the_divide() {
    let module = decode(
        r#"(module (func (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1))))"#,
    );
    let f = compile_function(&module, 0, &options()).unwrap();
    let mut d = Decoder::with_ip(64, &f.code, 0, DecoderOptions::NONE);
    let insts: Vec<_> = d
        .iter()
        .take_while(|i| i.mnemonic() != Mnemonic::Ud2)
        .collect();
    let idiv = insts
        .iter()
        .position(|i| i.mnemonic() == Mnemonic::Idiv)
        .expect("an idiv");
    let test = insts
        .iter()
        .position(|i| i.mnemonic() == Mnemonic::Test)
        .expect("a zero test");
    assert!(test < idiv);
    let traps: Vec<TrapCode> = f.trap_sites.iter().map(|t| t.trap).collect();
    assert_eq!(
        traps,
        [
            TrapCode::StackOverflow,
            TrapCode::IntegerDivideByZero,
            TrapCode::IntegerOverflow
        ]
    );
}

#[test]
fn constant_divisors_skip_impossible_checks() {
    let module = decode(
        r#"(module (func (param i32) (result i32) (i32.div_s (local.get 0) (i32.const 7))))"#,
    );
    let f = compile_function(&module, 0, &options()).unwrap();
    assert_eq!(
        f.trap_sites.len(),
        1,
        "only the stack check: {:?}",
        f.trap_sites
    );
}

#[test]
fn unsupported_operators_are_reported_with_their_offset() {
    let cases = [
        (
            "(func (result i32) (v128.const i64x2 1 2) (i32x4.extract_lane 0))",
            "V128Const",
        ),
        ("(func (param v128))", "v128 value"),
        ("(func (local v128))", "v128 local"),
        (
            "(memory 1 1 shared) (func (param i32) (result i32) (i32.atomic.load (local.get 0)))",
            "I32AtomicLoad",
        ),
        ("(func (return_call 0))", "ReturnCall"),
    ];
    for (body, name) in cases {
        let wasm = wat::parse_str(format!("(module {body})")).unwrap();
        let module = kiln_decoder::decode(&wasm, &kiln_decoder::Features::all()).unwrap();
        match compile_function(&module, 0, &options()) {
            Err(CompileError::Unsupported { operator, offset }) => {
                assert_eq!(operator, name);
                let range = module.functions[0].body.clone().unwrap();
                assert!(
                    range.contains(&(offset as usize)) || offset as usize == range.start,
                    "{offset}"
                );
            }
            other => panic!("{body}: expected Unsupported, got {other:?}"),
        }
    }
}

#[test]
fn imported_functions_have_no_body() {
    let module = decode(r#"(module (import "m" "f" (func)) (func))"#);
    assert_eq!(
        compile_function(&module, 0, &options()),
        Err(CompileError::NoBody { func_index: 0 })
    );
    assert!(compile_function(&module, 1, &options()).is_ok());
    assert_eq!(
        compile_function(&module, 7, &options()),
        Err(CompileError::NoBody { func_index: 7 })
    );
}

#[test]
fn stack_overflow_check_compares_against_the_vmctx_limit() {
    let module = decode("(module (func))");
    let f = compile_function(&module, 0, &options()).unwrap();
    let mut d = Decoder::with_ip(64, &f.code, 0, DecoderOptions::NONE);
    let text: Vec<String> = d.iter().take(6).map(|i| i.to_string()).collect();
    assert_eq!(text[0], "push rbp");
    assert!(
        text.iter().any(|t| t.starts_with("cmp r11,[rdi+8]")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.starts_with("jb ")), "{text:?}");
}
