//! Helpers of the engine tests: a deterministic generator, a binary rewrite that exports one
//! more global (the differential test), and generated modules.

#![allow(dead_code)]

/// xorshift64*: a tiny deterministic generator, so seeds mean the same thing everywhere.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed`; distinct seeds give unrelated streams.
    pub fn new(seed: u64) -> XorShift {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        if state == 0 {
            state = 1;
        }
        let mut rng = XorShift(state);
        for _ in 0..4 {
            rng.next_u64();
        }
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

fn read_leb_u32(bytes: &[u8], pos: &mut usize) -> u32 {
    let mut result = 0u32;
    let mut shift = 0;
    loop {
        let byte = bytes[*pos];
        *pos += 1;
        result |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return result;
        }
        shift += 7;
    }
}

fn write_leb_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Where a non-custom section with `id` must appear among the others.
fn section_rank(id: u8) -> u8 {
    match id {
        1..=9 => id,
        12 => 10,
        10 => 11,
        11 => 12,
        _ => 13,
    }
}

const EXPORT_SECTION: u8 = 7;
const GLOBAL_KIND: u8 = 3;

/// `wasm` with one more export: `name` for global `index`. The export section is extended, or
/// created in its place if the module has none. `wasm` must be a valid core module whose
/// exports do not already use `name`.
pub fn export_global(wasm: &[u8], name: &str, index: u32) -> Vec<u8> {
    let mut entry = Vec::new();
    write_leb_u32(&mut entry, name.len() as u32);
    entry.extend_from_slice(name.as_bytes());
    entry.push(GLOBAL_KIND);
    write_leb_u32(&mut entry, index);

    let mut out = wasm[..8].to_vec();
    let mut pos = 8;
    let mut done = false;
    while pos < wasm.len() {
        let start = pos;
        let id = wasm[pos];
        pos += 1;
        let size = read_leb_u32(wasm, &mut pos) as usize;
        let body = &wasm[pos..pos + size];
        pos += size;
        if !done && id == EXPORT_SECTION {
            let mut p = 0;
            let count = read_leb_u32(body, &mut p);
            let mut new_body = Vec::new();
            write_leb_u32(&mut new_body, count + 1);
            new_body.extend_from_slice(&body[p..]);
            new_body.extend_from_slice(&entry);
            out.push(EXPORT_SECTION);
            write_leb_u32(&mut out, new_body.len() as u32);
            out.extend_from_slice(&new_body);
            done = true;
            continue;
        }
        if !done && id != 0 && section_rank(id) > section_rank(EXPORT_SECTION) {
            push_export_section(&mut out, &entry);
            done = true;
        }
        out.extend_from_slice(&wasm[start..pos]);
    }
    if !done {
        push_export_section(&mut out, &entry);
    }
    out
}

fn push_export_section(out: &mut Vec<u8>, entry: &[u8]) {
    let mut body = Vec::new();
    write_leb_u32(&mut body, 1);
    body.extend_from_slice(entry);
    out.push(EXPORT_SECTION);
    write_leb_u32(out, body.len() as u32);
    out.extend_from_slice(&body);
}

/// How many `select`s in `wasm`'s function bodies take their condition straight from an `i32`
/// comparison with zero (`i32.eqz`, or `i32.eq`/`i32.ne` right after `i32.const 0`), with only
/// `nop`s between. wasmi 2.0.0 fuses such a comparison into the `select` and then selects by a
/// stale condition: `(select (i32.const 1) (local.get 0) (i32.eqz (local.get 0)))` gives 1 for
/// 3. wasm-smith emits exactly this to guard every division when traps are disallowed.
pub fn eqz_select_sites(wasm: &[u8]) -> usize {
    use wasmparser::{Operator, Parser, Payload};
    let mut sites = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(reader) = body.get_operators_reader() else {
            continue;
        };
        // The last two operators other than `nop`.
        let mut last: [Option<Operator<'_>>; 2] = [None, None];
        for op in reader.into_iter().flatten() {
            match op {
                Operator::Nop => continue,
                Operator::Select | Operator::TypedSelect { .. } => {
                    let zero_before = |o: &Option<Operator<'_>>| {
                        matches!(o, Some(Operator::I32Const { value: 0 }))
                    };
                    let fused = match &last[1] {
                        Some(Operator::I32Eqz) => true,
                        Some(Operator::I32Eq | Operator::I32Ne) => zero_before(&last[0]),
                        _ => false,
                    };
                    if fused {
                        sites += 1;
                    }
                }
                _ => {}
            }
            last = [last[1].take(), Some(op)];
        }
    }
    sites
}

/// `functions` functions `f<i>(x) = x + i`, with a name section naming the module `name`.
pub fn module(functions: usize, name: Option<&str>) -> Vec<u8> {
    let mut text = match name {
        Some(n) => format!("(module ${n}\n"),
        None => "(module\n".to_string(),
    };
    for f in 0..functions {
        text.push_str(&format!(
            "(func $fn{f} (export \"f{f}\") (param i32) (result i32) \
             (i32.add (local.get 0) (i32.const {f})))\n"
        ));
    }
    text.push(')');
    wat::parse_str(text).unwrap()
}
