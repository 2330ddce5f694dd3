//! The streaming decoder reports progress as bytes arrive and ends like `decode`.

use kiln_decoder::*;
use std::ops::Range;

#[derive(Default)]
struct Recorder {
    events: Vec<String>,
}

impl StreamingProcessor for Recorder {
    fn on_module_header(&mut self, version: u16) {
        self.events.push(format!("header {version}"));
    }
    fn on_section(&mut self, id: SectionId, _range: Range<usize>) {
        self.events.push(id.name().to_string());
    }
    fn on_code_section_start(&mut self, count: u32, module: &Module) {
        assert_eq!(
            module.functions.len(),
            3,
            "functions known before the code section"
        );
        self.events.push(format!("code start {count}"));
    }
    fn on_function_body(&mut self, index: u32, body: &[u8], offset: usize) {
        assert!(!body.is_empty() && offset > 0);
        self.events.push(format!("body {index}"));
    }
}

const TEXT: &str = r#"(module
    (import "env" "f" (func))
    (memory 1)
    (func (result i32) i32.const 1)
    (func (result i32) i32.const 2 i32.const 3 i32.add)
    (data (i32.const 0) "tail data that arrives after the code section"))"#;

#[test]
fn bodies_are_reported_as_soon_as_complete() {
    let bytes = wat::parse_str(TEXT).unwrap();
    let mut decoder = StreamingDecoder::with_processor(&Features::default(), Recorder::default());
    let mut body_seen_at = Vec::new();
    for (i, byte) in bytes.iter().enumerate() {
        let before = decoder.processor().events.len();
        decoder
            .on_bytes_received(std::slice::from_ref(byte))
            .unwrap();
        for event in &decoder.processor().events[before..] {
            if event.starts_with("body") {
                body_seen_at.push(i + 1);
            }
        }
    }
    let module = decode(&bytes, &Features::default()).unwrap();
    // Each body is reported on the very byte that completes it.
    let body_ends: Vec<usize> = (1..3)
        .map(|f| module.functions[f].body.clone().unwrap().end)
        .collect();
    assert_eq!(body_seen_at, body_ends);
    assert!(body_ends[1] < module.data[0].range.start);
    assert_eq!(
        decoder.processor().events,
        [
            "header 1",
            "type",
            "import",
            "function",
            "memory",
            "code",
            "code start 2",
            "body 1",
            "body 2",
            "data"
        ]
    );
    assert_eq!(decoder.finish().unwrap(), module);
}

#[test]
fn errors_stick_and_match_decode() {
    let mut bytes = wat::parse_str(TEXT).unwrap();
    let last = bytes.len() - 1;
    bytes[last - 50] = 0xff; // corrupt the code section
    let expected = decode(&bytes, &Features::default()).unwrap_err();
    let mut decoder = StreamingDecoder::new(&Features::default());
    let mut first_error = None;
    for chunk in bytes.chunks(7) {
        if let Err(e) = decoder.on_bytes_received(chunk) {
            first_error.get_or_insert(e.clone());
            assert_eq!(&e, first_error.as_ref().unwrap(), "errors stick");
        }
    }
    assert_eq!(first_error.as_ref(), Some(&expected));
    assert_eq!(decoder.finish().unwrap_err(), expected);
}

#[test]
fn truncated_stream_fails_at_finish() {
    let bytes = wat::parse_str(TEXT).unwrap();
    let cut = &bytes[..bytes.len() - 3];
    let mut decoder = StreamingDecoder::new(&Features::default());
    decoder.on_bytes_received(cut).unwrap();
    let err = decoder.finish().unwrap_err();
    assert_eq!(err, decode(cut, &Features::default()).unwrap_err());
    assert_eq!(err.section(), Some(SectionId::Data));
}
