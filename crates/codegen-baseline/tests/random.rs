//! Differential test: random functions (deep expressions, many locals, blocks, ifs, loops,
//! calls) compiled and run, compared with a direct evaluation of the same program in Rust.
//! This exercises register sharing, spilling, merges and calls together. Set
//! `KILN_RANDOM_SEEDS=n` to run n seeds of 120 programs each (default 1).

mod common;
use common::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Locals 0..3 are the i64 parameters, 3..LOCALS are i64 locals, I32_LOCAL is an i32 local,
/// COUNTER is reserved for loop counters.
const LOCALS: usize = 8;
const I32_LOCAL: usize = 8;
const COUNTER: usize = 9;

enum E64 {
    Get(usize),
    Const(i64),
    Bin(&'static str, Box<E64>, Box<E64>),
    DivU(Box<E64>, Box<E64>),
    Extend(Box<E32>),
    Select(Box<E64>, Box<E64>, Box<E32>),
    Call(Box<E64>, Box<E64>),
    Tee(usize, Box<E64>),
    /// Through floats: `trunc_sat(convert(a) * 0.5 + convert(b))`.
    ViaF64(Box<E64>, Box<E64>),
    /// `(block (result i64) a (br_if 0 c) drop b)`.
    BlockValue(Box<E64>, Box<E32>, Box<E64>),
}

enum E32 {
    Get,
    Wrap(Box<E64>),
    Cmp(&'static str, Box<E64>, Box<E64>),
    Eqz(Box<E32>),
    Clz(Box<E32>),
}

enum S {
    Set(usize, E64),
    Set32(E32),
    If(E32, Vec<S>, Vec<S>),
    BlockBrIf(Vec<S>, E32, Vec<S>),
    Loop(u32, Vec<S>),
}

fn gen64(r: &mut Rng, depth: u32) -> E64 {
    if depth == 0 || r.below(4) == 0 {
        return if r.below(3) == 0 {
            E64::Const(r.next() as i64 >> r.below(64))
        } else {
            E64::Get(r.below(LOCALS as u64) as usize)
        };
    }
    let d = depth - 1;
    match r.below(12) {
        10 => E64::ViaF64(Box::new(gen64(r, d)), Box::new(gen64(r, d))),
        11 => E64::BlockValue(
            Box::new(gen64(r, d)),
            Box::new(gen32(r, d)),
            Box::new(gen64(r, d)),
        ),
        0..=4 => {
            let ops = [
                "add", "sub", "mul", "xor", "and", "or", "shl", "shr_u", "rotl", "shr_s",
            ];
            E64::Bin(
                ops[r.below(10) as usize],
                Box::new(gen64(r, d)),
                Box::new(gen64(r, d)),
            )
        }
        5 => E64::DivU(Box::new(gen64(r, d)), Box::new(gen64(r, d))),
        6 => E64::Extend(Box::new(gen32(r, d))),
        7 => E64::Select(
            Box::new(gen64(r, d)),
            Box::new(gen64(r, d)),
            Box::new(gen32(r, d)),
        ),
        8 => E64::Call(Box::new(gen64(r, d)), Box::new(gen64(r, d))),
        _ => E64::Tee(
            3 + r.below((LOCALS - 3) as u64) as usize,
            Box::new(gen64(r, d)),
        ),
    }
}

fn gen32(r: &mut Rng, depth: u32) -> E32 {
    if depth == 0 {
        return E32::Get;
    }
    let d = depth - 1;
    match r.below(5) {
        0 => E32::Get,
        1 => E32::Wrap(Box::new(gen64(r, d))),
        2 => {
            let ops = ["lt_s", "lt_u", "eq", "ne", "ge_u"];
            E32::Cmp(
                ops[r.below(5) as usize],
                Box::new(gen64(r, d)),
                Box::new(gen64(r, d)),
            )
        }
        3 => E32::Eqz(Box::new(gen32(r, d))),
        _ => E32::Clz(Box::new(gen32(r, d))),
    }
}

fn gen_stmts(r: &mut Rng, n: usize, depth: u32, in_loop: bool) -> Vec<S> {
    (0..n)
        .map(|_| match r.below(if depth == 0 { 2 } else { 6 }) {
            0 => S::Set(3 + r.below((LOCALS - 3) as u64) as usize, gen64(r, 4)),
            1 => S::Set32(gen32(r, 3)),
            2 => S::If(
                gen32(r, 2),
                gen_stmts(r, 2, depth - 1, in_loop),
                gen_stmts(r, 2, depth - 1, in_loop),
            ),
            3 => S::BlockBrIf(
                gen_stmts(r, 2, depth - 1, in_loop),
                gen32(r, 2),
                gen_stmts(r, 2, depth - 1, in_loop),
            ),
            4 if !in_loop => S::Loop(1 + r.below(4) as u32, gen_stmts(r, 3, depth - 1, true)),
            _ => S::Set(3 + r.below((LOCALS - 3) as u64) as usize, gen64(r, 5)),
        })
        .collect()
}

fn wat64(e: &E64, out: &mut String) {
    match e {
        E64::Get(i) => *out += &format!("(local.get {i})"),
        E64::Const(c) => *out += &format!("(i64.const {c})"),
        E64::Bin(op, a, b) => {
            *out += &format!("(i64.{op} ");
            wat64(a, out);
            wat64(b, out);
            *out += ")";
        }
        E64::DivU(a, b) => {
            *out += "(i64.div_u ";
            wat64(a, out);
            *out += "(i64.or (i64.const 1) ";
            wat64(b, out);
            *out += "))";
        }
        E64::Extend(a) => {
            *out += "(i64.extend_i32_u ";
            wat32(a, out);
            *out += ")";
        }
        E64::Select(a, b, c) => {
            *out += "(select ";
            wat64(a, out);
            wat64(b, out);
            wat32(c, out);
            *out += ")";
        }
        E64::Call(a, b) => {
            *out += "(call $mix ";
            wat64(a, out);
            wat64(b, out);
            *out += ")";
        }
        E64::Tee(i, a) => {
            *out += &format!("(local.tee {i} ");
            wat64(a, out);
            *out += ")";
        }
        E64::ViaF64(a, b) => {
            *out += "(i64.trunc_sat_f64_s (f64.add (f64.mul (f64.convert_i64_s ";
            wat64(a, out);
            *out += ") (f64.const 0.5)) (f64.convert_i64_s ";
            wat64(b, out);
            *out += ")))";
        }
        E64::BlockValue(a, c, b) => {
            *out += "(block (result i64) ";
            wat64(a, out);
            *out += "(br_if 0 ";
            wat32(c, out);
            *out += ") (drop) ";
            wat64(b, out);
            *out += ")";
        }
    }
}

fn wat32(e: &E32, out: &mut String) {
    match e {
        E32::Get => *out += &format!("(local.get {I32_LOCAL})"),
        E32::Wrap(a) => {
            *out += "(i32.wrap_i64 ";
            wat64(a, out);
            *out += ")";
        }
        E32::Cmp(op, a, b) => {
            *out += &format!("(i64.{op} ");
            wat64(a, out);
            wat64(b, out);
            *out += ")";
        }
        E32::Eqz(a) => {
            *out += "(i32.eqz ";
            wat32(a, out);
            *out += ")";
        }
        E32::Clz(a) => {
            *out += "(i32.clz ";
            wat32(a, out);
            *out += ")";
        }
    }
}

fn wat_stmts(ss: &[S], out: &mut String) {
    for s in ss {
        match s {
            S::Set(i, e) => {
                *out += &format!("(local.set {i} ");
                wat64(e, out);
                *out += ")\n";
            }
            S::Set32(e) => {
                *out += &format!("(local.set {I32_LOCAL} ");
                wat32(e, out);
                *out += ")\n";
            }
            S::If(c, t, f) => {
                *out += "(if ";
                wat32(c, out);
                *out += "(then ";
                wat_stmts(t, out);
                *out += ") (else ";
                wat_stmts(f, out);
                *out += "))\n";
            }
            S::BlockBrIf(a, c, b) => {
                *out += "(block ";
                wat_stmts(a, out);
                *out += "(br_if 0 ";
                wat32(c, out);
                *out += ")";
                wat_stmts(b, out);
                *out += ")\n";
            }
            S::Loop(n, body) => {
                *out += &format!("(local.set {COUNTER} (i32.const {n})) (loop ");
                wat_stmts(body, out);
                *out += &format!(
                    "(br_if 0 (local.tee {COUNTER} (i32.sub (local.get {COUNTER}) (i32.const 1))))) \n"
                );
            }
        }
    }
}

fn mix(a: i64, b: i64) -> i64 {
    a.wrapping_mul(31).wrapping_add(b) ^ (a >> 3)
}

struct Env {
    l: [i64; LOCALS],
    x: i32,
}

fn eval64(e: &E64, env: &mut Env) -> i64 {
    match e {
        E64::Get(i) => env.l[*i],
        E64::Const(c) => *c,
        E64::Bin(op, a, b) => {
            let (a, b) = (eval64(a, env), eval64(b, env));
            match *op {
                "add" => a.wrapping_add(b),
                "sub" => a.wrapping_sub(b),
                "mul" => a.wrapping_mul(b),
                "xor" => a ^ b,
                "and" => a & b,
                "or" => a | b,
                "shl" => a.wrapping_shl(b as u32),
                "shr_u" => (a as u64).wrapping_shr(b as u32) as i64,
                "shr_s" => a.wrapping_shr(b as u32),
                _ => a.rotate_left((b & 63) as u32),
            }
        }
        E64::DivU(a, b) => {
            let (a, b) = (eval64(a, env), eval64(b, env));
            ((a as u64) / ((b | 1) as u64)) as i64
        }
        E64::Extend(a) => eval32(a, env) as u32 as i64,
        E64::Select(a, b, c) => {
            let (a, b, c) = (eval64(a, env), eval64(b, env), eval32(c, env));
            if c != 0 { a } else { b }
        }
        E64::Call(a, b) => {
            let (a, b) = (eval64(a, env), eval64(b, env));
            mix(a, b)
        }
        E64::Tee(i, a) => {
            let v = eval64(a, env);
            env.l[*i] = v;
            v
        }
        E64::ViaF64(a, b) => {
            let (a, b) = (eval64(a, env), eval64(b, env));
            (a as f64 * 0.5 + b as f64) as i64
        }
        E64::BlockValue(a, c, b) => {
            let a = eval64(a, env);
            if eval32(c, env) != 0 {
                a
            } else {
                eval64(b, env)
            }
        }
    }
}

fn eval32(e: &E32, env: &mut Env) -> i32 {
    match e {
        E32::Get => env.x,
        E32::Wrap(a) => eval64(a, env) as i32,
        E32::Cmp(op, a, b) => {
            let (a, b) = (eval64(a, env), eval64(b, env));
            (match *op {
                "lt_s" => a < b,
                "lt_u" => (a as u64) < (b as u64),
                "eq" => a == b,
                "ne" => a != b,
                _ => (a as u64) >= (b as u64),
            }) as i32
        }
        E32::Eqz(a) => (eval32(a, env) == 0) as i32,
        E32::Clz(a) => eval32(a, env).leading_zeros() as i32,
    }
}

fn exec(ss: &[S], env: &mut Env) {
    for s in ss {
        match s {
            S::Set(i, e) => env.l[*i] = eval64(e, env),
            S::Set32(e) => env.x = eval32(e, env),
            S::If(c, t, f) => {
                if eval32(c, env) != 0 {
                    exec(t, env)
                } else {
                    exec(f, env)
                }
            }
            S::BlockBrIf(a, c, b) => {
                exec(a, env);
                if eval32(c, env) == 0 {
                    exec(b, env);
                }
            }
            S::Loop(n, body) => {
                for _ in 0..*n {
                    exec(body, env);
                }
            }
        }
    }
}

#[test]
fn random_programs_agree_with_the_reference() {
    let seeds: u64 = std::env::var("KILN_RANDOM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    for seed in 0..seeds {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        for round in 0..120 {
            let prog = gen_stmts(&mut rng, 6, 3, false);
            let mut body = String::new();
            wat_stmts(&prog, &mut body);
            let mut result = String::from("(local.get 0)");
            for i in 1..LOCALS {
                result = format!("(i64.add (i64.mul {result} (i64.const 3)) (local.get {i}))");
            }
            let wat = format!(
                r#"(module
            (func $mix (param i64 i64) (result i64)
              (i64.xor (i64.add (i64.mul (local.get 0) (i64.const 31)) (local.get 1))
                       (i64.shr_s (local.get 0) (i64.const 3))))
            (func (export "f") (param i64 i64 i64) (result i64)
              (local i64 i64 i64 i64 i64 i32 i32)
              {body}
              (i64.add {result} (i64.extend_i32_s (local.get {I32_LOCAL})))))"#
            );
            let inst = instantiate(&wat);
            let _s = scope();
            // SAFETY: (i64, i64, i64) -> i64.
            let f: extern "sysv64" fn(*mut u8, i64, i64, i64) -> i64 = unsafe { inst.get("f") };
            for args in [[1i64, 2, 3], [-7, i64::MAX, 0x1234_5678_9abc], [0, 0, -1]] {
                let mut env = Env {
                    l: [0; LOCALS],
                    x: 0,
                };
                env.l[..3].copy_from_slice(&args);
                exec(&prog, &mut env);
                let mut want = env.l[0];
                for i in 1..LOCALS {
                    want = want.wrapping_mul(3).wrapping_add(env.l[i]);
                }
                want = want.wrapping_add(env.x as i64);
                assert_eq!(
                    f(inst.vmctx_ptr(), args[0], args[1], args[2]),
                    want,
                    "round {round}:\n{wat}"
                );
            }
        }
    }
}
