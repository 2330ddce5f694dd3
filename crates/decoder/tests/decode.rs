//! What `decode` records, and how it reports errors.

use kiln_decoder::*;

fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid text")
}

/// A custom section with `name` and `payload` appended to `module`.
fn with_custom(mut module: Vec<u8>, name: &str, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    module.push(0);
    module.push(body.len() as u8);
    module.extend(body);
    module
}

#[test]
fn records_every_section() {
    let bytes = wasm(
        r#"(module $m
            (type $a (func (param i32) (result i32)))
            (type $b (func (param i64)))
            (type $c (func (param i32) (result i32)))
            (import "env" "f" (func $imp (type $b)))
            (import "env" "g" (global i32))
            (import "env" "mem" (memory 1 2))
            (table $t 4 funcref)
            (global $g (mut i64) (i64.const 7))
            (global i32 (global.get 0))
            (func $add (export "add") (type $a) (local $tmp i32) local.get 0)
            (func (type $c) i32.const 1)
            (export "t" (table $t))
            (func $init)
            (start $init)
            (elem (i32.const 1) $add 2)
            (elem declare func $add)
            (data (i32.const 16) "hello")
            (data "passive"))"#,
    );
    let m = decode(&bytes, &Features::default()).unwrap();
    // The three declared types and `$init`'s implicit `(func)`.
    assert_eq!(m.types.len(), 4);
    assert_eq!(m.signature_ids, vec![0, 1, 0, 3]);
    assert_eq!(m.imports.len(), 3);
    assert_eq!(
        (m.imports[0].module.as_str(), m.imports[0].name.as_str()),
        ("env", "f")
    );
    assert_eq!(m.imports[0].ty, ImportType::Func(1));
    assert_eq!(m.num_imported_functions, 1);
    assert_eq!(m.functions.len(), 4);
    assert_eq!(m.num_defined_functions(), 3);
    assert!(m.function_body(0).is_none());
    assert_eq!(m.function_type(1).params(), &[ValType::I32]);
    // `local $tmp i32` then `local.get 0; end`.
    assert_eq!(
        m.function_body(1).unwrap(),
        &[0x01, 0x01, 0x7f, 0x20, 0x00, 0x0b]
    );
    assert_eq!((m.num_imported_globals, m.globals.len()), (1, 3));
    assert_eq!(m.globals[1].init.as_ref().unwrap().as_int_const(), Some(7));
    assert_eq!(
        m.globals[2].init.as_ref().unwrap().ops.as_slice(),
        &[ConstOp::GlobalGet(0)]
    );
    assert_eq!((m.num_imported_memories, m.memories.len()), (1, 1));
    assert_eq!(m.memories[0].maximum, Some(2));
    assert_eq!(m.tables.len(), 1);
    assert_eq!(
        m.export("add").map(|e| (e.kind, e.index)),
        Some((ExternKind::Func, 1))
    );
    assert_eq!(m.export("t").map(|e| e.kind), Some(ExternKind::Table));
    assert_eq!(m.start, Some(3));
    assert_eq!(m.elements.len(), 2);
    match &m.elements[0].kind {
        ElementKind::Active { table: 0, offset } => assert_eq!(offset.as_int_const(), Some(1)),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(m.elements[0].items, ElementItems::Functions(vec![1, 2]));
    assert_eq!(m.elements[1].kind, ElementKind::Declared);
    assert_eq!(&m.wire_bytes[m.data[0].range.clone()], b"hello");
    assert_eq!(m.data[1].kind, DataKind::Passive);
    assert_eq!(&m.wire_bytes[m.data[1].range.clone()], b"passive");
    assert_eq!(m.module_name(), Some("m"));
    assert_eq!(m.function_name(1), Some("add"));
    assert_eq!(m.local_names(1), [(1, "tmp".to_string())]);
    assert!(m.local_names(0).is_empty());
    assert_eq!(&*m.wire_bytes, &bytes[..]);
    assert_eq!(m.hash, hash_bytes(&bytes));
}

#[test]
fn records_custom_sections_and_urls() {
    let base = wasm("(module)");
    let bytes = with_custom(base, "sourceMappingURL", b"\x0ehttp://x/a.map");
    let bytes = with_custom(bytes, "external_debug_info", b"\x05a.dwo");
    let bytes = with_custom(bytes, "producers", b"\x00");
    let m = decode(&bytes, &Features::default()).unwrap();
    assert_eq!(m.source_mapping_url.as_deref(), Some("http://x/a.map"));
    assert_eq!(m.external_debug_info_url.as_deref(), Some("a.dwo"));
    let names: Vec<_> = m.custom_sections.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["sourceMappingURL", "external_debug_info", "producers"]
    );
    assert_eq!(&m.wire_bytes[m.custom_sections[2].range.clone()], b"\x00");
}

#[test]
fn malformed_name_section_is_ignored() {
    let bytes = with_custom(wasm("(module)"), "name", b"\x01\x05\xff\xff");
    let m = decode(&bytes, &Features::default()).unwrap();
    assert!(m.names.section().is_some());
    assert_eq!(m.function_name(0), None);
    assert_eq!(m.module_name(), None);
}

#[test]
fn proposals_are_off_by_default_and_switchable() {
    let bytes = wasm("(module (func (return_call 0)))");
    let err = decode(&bytes, &Features::default()).unwrap_err();
    assert!(err.message().contains("tail call"), "{err}");
    assert_eq!(err.function_index(), Some(0));
    let features = Features::default().with(Proposal::TailCall);
    decode(&bytes, &features).unwrap();

    assert_eq!(
        proposals_needed(&bytes, &Features::default()),
        Some(vec![Proposal::TailCall])
    );
    assert_eq!(proposals_needed(&bytes, &features), Some(vec![]));
    assert_eq!(proposals_needed(b"\0asm", &Features::default()), None);

    let bytes = wasm("(module (memory 1) (memory 1))");
    assert!(decode(&bytes, &Features::default()).is_err());
    decode(&bytes, &Features::default().with(Proposal::MultiMemory)).unwrap();
}

#[test]
fn truncated_module_reports_end_offset() {
    let bytes = wasm("(module (func (result i32) i32.const 42))");
    let mut rejected = 0;
    for len in 0..bytes.len() {
        // A prefix that ends between sections is itself a valid module.
        let Err(err) = decode(&bytes[..len], &Features::default()) else {
            continue;
        };
        assert!(
            err.offset() <= len,
            "offset {} beyond input {len}: {err}",
            err.offset()
        );
        rejected += 1;
    }
    assert!(
        rejected >= bytes.len() - 4,
        "only {rejected} of {} prefixes rejected",
        bytes.len()
    );
}

#[test]
fn garbage_is_rejected_at_the_header() {
    let err = decode(b"this is not wasm", &Features::default()).unwrap_err();
    assert_eq!(err.offset(), 0);
    assert_eq!(err.section(), Some(SectionId::Header));
    assert!(err.message().contains("magic"), "{err}");
}

#[test]
fn invalid_body_names_function_and_offset() {
    let bytes = wasm("(module (func) (func (result i32) i64.const 1))");
    let err = decode(&bytes, &Features::default()).unwrap_err();
    assert_eq!(err.section(), Some(SectionId::Code));
    assert_eq!(err.function_index(), Some(1));
    assert!(err.message().contains("type mismatch"), "{err}");
    // The error points at the offending `end` inside the second body.
    let body = bytes.len() - 4;
    assert!(err.offset() >= body && err.offset() < bytes.len(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("code section") && text.contains("function #1"),
        "{text}"
    );
}

const HEADER: &[u8] = b"\0asm\x01\0\0\0";

fn module_with_section(id: u8, payload: &[u8]) -> Vec<u8> {
    let mut m = HEADER.to_vec();
    m.push(id);
    m.push(payload.len() as u8);
    m.extend_from_slice(payload);
    m
}

#[test]
fn overlong_leb128_is_malformed() {
    // Type section count encoded in six bytes.
    let bytes = module_with_section(1, &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    let err = decode(&bytes, &Features::default()).unwrap_err();
    assert_eq!(err.section(), Some(SectionId::Type));
    assert!(err.offset() >= 10, "{err}");
}

#[test]
fn huge_counts_are_rejected_without_allocating() {
    // u32::MAX types, and 2^32 (not representable) functions, in sections of a few bytes.
    for payload in [
        &[0xff, 0xff, 0xff, 0xff, 0x0f][..],
        &[0x80, 0x80, 0x80, 0x80, 0x10],
    ] {
        for id in [1, 2, 3, 5, 6, 7, 9, 10, 11] {
            let bytes = module_with_section(id, payload);
            let err = decode(&bytes, &Features::default()).unwrap_err();
            assert!(err.offset() >= 8, "section {id}: {err}");
        }
    }
}

#[test]
fn section_that_lies_about_its_size() {
    // Claims 100 bytes, holds 2.
    let mut bytes = HEADER.to_vec();
    bytes.extend_from_slice(&[1, 100, 0x01, 0x60]);
    let err = decode(&bytes, &Features::default()).unwrap_err();
    assert_eq!(err.section(), Some(SectionId::Type));
    // Claims 1 byte, the entry needs more.
    let bytes = module_with_section(1, &[0x01, 0x60, 0x00, 0x00]);
    let mut short = bytes.clone();
    short[9] = 1;
    assert!(decode(&short, &Features::default()).is_err());
    decode(&bytes, &Features::default()).unwrap();
}
