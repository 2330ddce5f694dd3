//! Assembled functions executed on the host CPU and compared with Rust.

use kiln_assembler_x64::patch::{self, JUMP_SLOT_SIZE};
use kiln_assembler_x64::*;
use region::Protection;

/// Executable code: written while read-write, then switched to read-execute.
struct Code {
    alloc: region::Allocation,
    len: usize,
}

impl Code {
    fn new(bytes: &[u8]) -> Code {
        let mut alloc = region::alloc(bytes.len().max(1), Protection::READ_WRITE).unwrap();
        let ptr = alloc.as_mut_ptr::<u8>();
        // SAFETY: the allocation is writable and at least `bytes.len()` long; it is made
        // read-execute (never writable and executable at once) before any call.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
            region::protect(ptr, bytes.len().max(1), Protection::READ_EXECUTE).unwrap();
        }
        Code {
            alloc,
            len: bytes.len(),
        }
    }

    fn addr(&self) -> usize {
        self.alloc.as_ptr::<u8>() as usize
    }

    /// Makes the code writable (not executable), runs `f` on its bytes, then executable again.
    fn rewrite(&mut self, f: impl FnOnce(*mut u8)) {
        let ptr = self.alloc.as_mut_ptr::<u8>();
        // SAFETY: the mapping is ours; nothing executes it while it is writable.
        unsafe { region::protect(ptr, self.len, Protection::READ_WRITE).unwrap() };
        f(ptr);
        // SAFETY: as above.
        unsafe { region::protect(ptr, self.len, Protection::READ_EXECUTE).unwrap() };
    }
}

/// Turns the code at `addr` into a function pointer of type `F`.
///
/// # Safety
/// The code must implement `F` under the System V ABI and outlive every call.
unsafe fn func<F: Copy>(addr: usize) -> F {
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<usize>());
    // SAFETY: F is a function pointer type of the same size, per the caller.
    unsafe { std::mem::transmute_copy(&addr) }
}

macro_rules! jit {
    ($code:expr, $ty:ty) => {{
        let code = Code::new(&$code);
        // SAFETY: each test assembles a function of exactly this signature.
        let f: $ty = unsafe { func(code.addr()) };
        (code, f)
    }};
}

fn finish(a: Assembler) -> Vec<u8> {
    a.finish().expect("assembles")
}

#[test]
fn loop_summing_an_i64_array() {
    // fn(ptr: *const i64, len: u64) -> i64
    let mut a = Assembler::new();
    let (top, done) = (a.new_label(), a.new_label());
    a.xor_rr(Size::S32, RAX, RAX);
    a.xor_rr(Size::S32, RCX, RCX);
    a.test_rr(Size::S64, RSI, RSI);
    a.jcc(Cond::E, done);
    a.align(16);
    a.bind(top);
    a.add_rm(Size::S64, RAX, Mem::base_index(RDI, RCX, Scale::Eight, 0));
    a.inc_r(Size::S64, RCX);
    a.cmp_rr(Size::S64, RCX, RSI);
    a.jcc(Cond::Ne, top);
    a.bind(done);
    a.ret();
    let (_c, f) = jit!(finish(a), extern "sysv64" fn(*const i64, u64) -> i64);
    for n in [0usize, 1, 2, 7, 100, 1000] {
        let v: Vec<i64> = (0..n as i64).map(|i| i * i - 37 * i + (i << 40)).collect();
        assert_eq!(f(v.as_ptr(), n as u64), v.iter().sum::<i64>());
    }
}

fn division(size: Size, signed: bool, remainder: bool) -> Vec<u8> {
    let mut a = Assembler::new();
    a.mov_rr(size, RAX, RDI);
    if signed {
        if size == Size::S64 {
            a.cqo()
        } else {
            a.cdq()
        }
        a.idiv_r(size, RSI);
    } else {
        a.xor_rr(Size::S32, RDX, RDX);
        a.div_r(size, RSI);
    }
    if remainder {
        a.mov_rr(size, RAX, RDX);
    }
    a.ret();
    finish(a)
}

#[test]
fn signed_and_unsigned_division_by_a_variable() {
    let vals64: [i64; 10] = [
        0,
        1,
        -1,
        7,
        -7,
        100,
        i64::MAX,
        i64::MIN,
        0x1234_5678_9abc,
        -99991,
    ];
    let (_a, sdiv) = jit!(
        division(Size::S64, true, false),
        extern "sysv64" fn(i64, i64) -> i64
    );
    let (_b, srem) = jit!(
        division(Size::S64, true, true),
        extern "sysv64" fn(i64, i64) -> i64
    );
    let (_c, udiv) = jit!(
        division(Size::S64, false, false),
        extern "sysv64" fn(u64, u64) -> u64
    );
    let (_d, urem) = jit!(
        division(Size::S64, false, true),
        extern "sysv64" fn(u64, u64) -> u64
    );
    let (_e, sdiv32) = jit!(
        division(Size::S32, true, false),
        extern "sysv64" fn(i32, i32) -> i32
    );
    let (_f, urem32) = jit!(
        division(Size::S32, false, true),
        extern "sysv64" fn(u32, u32) -> u32
    );
    for &x in &vals64 {
        for &y in &vals64 {
            if y == 0 || (x == i64::MIN && y == -1) {
                continue;
            }
            assert_eq!(sdiv(x, y), x / y, "{x} / {y}");
            assert_eq!(srem(x, y), x % y, "{x} % {y}");
            assert_eq!(udiv(x as u64, y as u64), x as u64 / y as u64);
            assert_eq!(urem(x as u64, y as u64), x as u64 % y as u64);
            let (x32, y32) = (x as i32, y as i32);
            if y32 != 0 && !(x32 == i32::MIN && y32 == -1) {
                assert_eq!(sdiv32(x32, y32), x32 / y32);
                assert_eq!(urem32(x32 as u32, y32 as u32), x32 as u32 % y32 as u32);
            }
        }
    }
}

#[test]
fn float_functions_with_the_constant_pool() {
    let sign64: u128 = 0x8000_0000_0000_0000;
    let sign32: u128 = 0x8000_0000;
    // fabs(x) * 2.5
    let mut a = Assembler::new();
    let mask = a.const_u128(!sign64 & u128::from(u64::MAX) | (u128::MAX << 64));
    a.andpd_rm(XMM0, mask);
    let k = a.const_f64(2.5);
    a.mulsd_rm(XMM0, k);
    a.ret();
    let (_a, abs_mul) = jit!(finish(a), extern "sysv64" fn(f64) -> f64);
    // -x
    let mut a = Assembler::new();
    let m = a.const_u128(sign64);
    a.xorpd_rm(XMM0, m);
    a.ret();
    let (_b, neg) = jit!(finish(a), extern "sysv64" fn(f64) -> f64);
    // copysign(x, y) for f32: (x & !sign) | (y & sign)
    let mut a = Assembler::new();
    let m = a.const_u128(sign32);
    a.movap_rr(FloatSize::F32, XMM2, XMM1);
    a.andps_rm(XMM2, m); // sign of y
    a.movap_rm(FloatSize::F32, XMM3, m);
    a.andnps_rr(XMM3, XMM0); // x without sign
    a.orps_rr(XMM3, XMM2);
    a.movap_rr(FloatSize::F32, XMM0, XMM3);
    a.ret();
    let (_c, copysign) = jit!(finish(a), extern "sysv64" fn(f32, f32) -> f32);
    for x in [
        0.0,
        -0.0,
        1.5,
        -1.5,
        1e300,
        -3.25e-300,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        assert_eq!(abs_mul(x).to_bits(), (x.abs() * 2.5).to_bits());
        assert_eq!(neg(x).to_bits(), (-x).to_bits());
        let xf = x as f32;
        for y in [1.0f32, -1.0, 0.0, -0.0] {
            assert_eq!(copysign(xf, y).to_bits(), xf.copysign(y).to_bits());
        }
    }
    assert!(neg(f64::NAN).is_nan());
}

#[test]
fn avx_float_forms_execute() {
    if !CpuFeatures::detect().avx {
        return;
    }
    // (a + b) * c - min(a, b), sqrt, via VEX three-operand forms.
    let mut a = Assembler::new();
    a.vaddsd_rrr(XMM3, XMM0, XMM1);
    a.vmulsd_rrr(XMM3, XMM3, XMM2);
    a.vminsd_rrr(XMM4, XMM0, XMM1);
    a.vsubsd_rrr(XMM0, XMM3, XMM4);
    let half = a.const_f64(0.5);
    a.vmulsd_rrm(XMM0, XMM0, half);
    a.vsqrtsd_rrr(XMM0, XMM0, XMM0);
    a.ret();
    let (_c, f) = jit!(finish(a), extern "sysv64" fn(f64, f64, f64) -> f64);
    for (x, y, z) in [(1.0, 2.0, 3.0), (4.5, -1.0, 10.0), (0.25, 0.5, 8.0)] {
        let expected = (((x + y) * z - f64::min(x, y)) * 0.5f64).sqrt();
        assert_eq!(f(x, y, z).to_bits(), expected.to_bits());
    }
    // vcvtsi2sd / vcvttsd2si round trip and vroundsd.
    let mut a = Assembler::new();
    a.vcvtsi2s_rrr(FloatSize::F64, Size::S64, XMM1, XMM1, RDI);
    let k = a.const_f64(0.75);
    a.vaddsd_rrm(XMM1, XMM1, k);
    a.vrounds_rrr(FloatSize::F64, RoundMode::Up, XMM1, XMM1, XMM1);
    a.vcvtts2si_rr(FloatSize::F64, Size::S64, RAX, XMM1);
    a.ret();
    let (_d, g) = jit!(finish(a), extern "sysv64" fn(i64) -> i64);
    for v in [-5i64, 0, 7, 1 << 40] {
        assert_eq!(g(v), (v as f64 + 0.75).ceil() as i64);
    }
}

#[test]
fn conversions_and_rounding() {
    let mut a = Assembler::new();
    a.cvtsi2s_rr(FloatSize::F64, Size::S64, XMM0, RDI);
    a.ret();
    let (_a, i2d) = jit!(finish(a), extern "sysv64" fn(i64) -> f64);
    let mut a = Assembler::new();
    a.cvtsi2s_rr(FloatSize::F32, Size::S32, XMM0, RDI);
    a.ret();
    let (_b, i2f) = jit!(finish(a), extern "sysv64" fn(i32) -> f32);
    let mut a = Assembler::new();
    a.cvtts2si_rr(FloatSize::F64, Size::S32, RAX, XMM0);
    a.ret();
    let (_c, d2i) = jit!(finish(a), extern "sysv64" fn(f64) -> i32);
    let mut a = Assembler::new();
    a.cvtss2sd_rr(XMM0, XMM0);
    a.ret();
    let (_d, f2d) = jit!(finish(a), extern "sysv64" fn(f32) -> f64);
    for v in [0i64, 1, -1, 1 << 53, i64::MIN, i64::MAX, 12345] {
        assert_eq!(i2d(v), v as f64);
        assert_eq!(i2f(v as i32), v as i32 as f32);
    }
    for x in [0.0, 1.9, -1.9, 2.5e9 / 2.0, -7.5] {
        assert_eq!(d2i(x), x as i32);
        assert_eq!(f2d(x as f32), (x as f32) as f64);
    }
    assert_eq!(d2i(f64::NAN), i32::MIN, "integer indefinite");
    if !CpuFeatures::detect().sse41 {
        return;
    }
    type Reference = fn(f64) -> f64;
    let modes: [(RoundMode, Reference); 4] = [
        (RoundMode::Down, f64::floor),
        (RoundMode::Up, f64::ceil),
        (RoundMode::Zero, f64::trunc),
        (RoundMode::Nearest, f64::round_ties_even),
    ];
    for (mode, reference) in modes {
        let mut a = Assembler::new();
        a.rounds_rr(FloatSize::F64, mode, XMM0, XMM0);
        a.ret();
        let (_e, round) = jit!(finish(a), extern "sysv64" fn(f64) -> f64);
        let mut a = Assembler::new();
        a.rounds_rr(FloatSize::F32, mode, XMM0, XMM0);
        a.ret();
        let (_f, roundf) = jit!(finish(a), extern "sysv64" fn(f32) -> f32);
        for x in [0.5, 1.5, 2.5, -0.5, -1.5, 2.7, -2.7, 1e20, -0.0, 3.0] {
            assert_eq!(round(x).to_bits(), reference(x).to_bits(), "{mode:?} {x}");
            let xf = x as f32;
            assert_eq!(
                roundf(xf).to_bits(),
                (reference(xf as f64) as f32).to_bits(),
                "{mode:?} {xf}"
            );
        }
    }
}

fn bit_count_fn(kind: BitOp, size: Size, cpu: CpuFeatures) -> Vec<u8> {
    let mut a = Assembler::new();
    match kind {
        BitOp::Lzcnt => a.lzcnt_or_bsr(cpu, size, RAX, RDI),
        BitOp::Tzcnt => a.tzcnt_or_bsf(cpu, size, RAX, RDI),
        _ => a.popcnt_or_swar(cpu, size, RAX, RDI, RCX),
    }
    a.ret();
    finish(a)
}

fn test_inputs() -> Vec<u64> {
    let mut v = vec![
        0,
        1,
        2,
        3,
        u64::MAX,
        1 << 63,
        1 << 31,
        (1 << 32) - 1,
        0x8000_0001,
        0x00F0_0000_0000_0F00,
    ];
    for i in 0..64 {
        v.push(1 << i);
        v.push((1u64 << i) - 1);
        v.push(!(1u64 << i));
    }
    // A deterministic pseudo-random spread.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..500 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(x >> (x % 64));
    }
    v
}

#[test]
fn bit_counts_native_and_fallback_agree_with_rust() {
    let host = CpuFeatures::detect();
    let inputs = test_inputs();
    for kind in [BitOp::Lzcnt, BitOp::Tzcnt, BitOp::Popcnt] {
        for cpu in [CpuFeatures::BASELINE, host] {
            let native = match kind {
                BitOp::Lzcnt => cpu.lzcnt,
                BitOp::Tzcnt => cpu.bmi1,
                _ => cpu.popcnt,
            };
            let (_a, f64) = jit!(
                bit_count_fn(kind, Size::S64, cpu),
                extern "sysv64" fn(u64) -> u64
            );
            let (_b, f32) = jit!(
                bit_count_fn(kind, Size::S32, cpu),
                extern "sysv64" fn(u32) -> u32
            );
            for &x in &inputs {
                let (e64, e32) = match kind {
                    BitOp::Lzcnt => (x.leading_zeros(), (x as u32).leading_zeros()),
                    BitOp::Tzcnt => (x.trailing_zeros(), (x as u32).trailing_zeros()),
                    _ => (x.count_ones(), (x as u32).count_ones()),
                };
                assert_eq!(f64(x), u64::from(e64), "{kind:?} native={native} {x:#x}");
                assert_eq!(f32(x as u32), e32, "{kind:?}32 native={native} {x:#x}");
            }
        }
    }
}

#[test]
fn setcc_and_cmov_for_every_condition() {
    let vals: [i64; 9] = [0, 1, -1, 2, i64::MAX, i64::MIN, 1000, -1000, i64::MAX - 1];
    for cond in Cond::ALL {
        // fn(a, b) -> (a cmp b) as u64 via setcc; and cmov picks 111 or 222.
        let mut a = Assembler::new();
        a.xor_rr(Size::S32, RAX, RAX);
        a.cmp_rr(Size::S64, RDI, RSI);
        a.setcc_r(cond, RAX);
        a.ret();
        let (_a, set) = jit!(finish(a), extern "sysv64" fn(i64, i64) -> u64);
        let mut a = Assembler::new();
        a.mov_ri(Size::S64, RAX, 111);
        a.mov_ri(Size::S64, R10, 222);
        a.cmp_rr(Size::S64, RDI, RSI);
        a.cmov_rr(cond, Size::S64, RAX, R10);
        a.ret();
        let (_b, cmov) = jit!(finish(a), extern "sysv64" fn(i64, i64) -> u64);
        for &x in &vals {
            for &y in &vals {
                let (d, of) = x.overflowing_sub(y);
                let (ux, uy) = (x as u64, y as u64);
                let pf = (d as u8).count_ones().is_multiple_of(2);
                let expected = match cond {
                    Cond::O => of,
                    Cond::No => !of,
                    Cond::B => ux < uy,
                    Cond::Ae => ux >= uy,
                    Cond::E => x == y,
                    Cond::Ne => x != y,
                    Cond::Be => ux <= uy,
                    Cond::A => ux > uy,
                    Cond::S => d < 0,
                    Cond::Ns => d >= 0,
                    Cond::P => pf,
                    Cond::Np => !pf,
                    Cond::L => x < y,
                    Cond::Ge => x >= y,
                    Cond::Le => x <= y,
                    Cond::G => x > y,
                };
                assert_eq!(set(x, y), u64::from(expected), "set{cond:?} {x} {y}");
                assert_eq!(
                    cmov(x, y),
                    if expected { 222 } else { 111 },
                    "cmov{cond:?} {x} {y}"
                );
            }
        }
    }
}

#[test]
fn shifts_rotates_and_extensions() {
    for op in ShiftOp::ALL {
        let mut a = Assembler::new();
        a.mov_rr(Size::S64, RAX, RDI);
        a.mov_rr(Size::S32, RCX, RSI);
        a.shift_r_cl(op, Size::S64, RAX);
        a.ret();
        let (_a, f) = jit!(finish(a), extern "sysv64" fn(u64, u32) -> u64);
        for x in [1u64, 0x8000_0000_0000_0001, 0xDEAD_BEEF_1234_5678] {
            for n in [0u32, 1, 7, 63, 64, 65] {
                let expected = match op {
                    ShiftOp::Rol => x.rotate_left(n & 63),
                    ShiftOp::Ror => x.rotate_right(n & 63),
                    ShiftOp::Shl => x << (n & 63),
                    ShiftOp::Shr => x >> (n & 63),
                    ShiftOp::Sar => ((x as i64) >> (n & 63)) as u64,
                };
                assert_eq!(f(x, n), expected, "{op:?} {x:#x} {n}");
            }
        }
    }
    // Sign/zero-extending loads of each width and byte stores through spl..dil-class regs.
    let mut a = Assembler::new();
    a.movsx_rm(Size::S64, Size::S8, RAX, Mem::base(RDI, 0));
    a.movzx_rm(Size::S64, Size::S16, RCX, Mem::base(RDI, 0));
    a.add_rr(Size::S64, RAX, RCX);
    a.movsx_rm(Size::S64, Size::S32, RCX, Mem::base(RDI, 0));
    a.add_rr(Size::S64, RAX, RCX);
    a.mov_rr(Size::S64, RSI, RAX);
    a.mov_mr(Size::S8, Mem::base(RDI, 8), RSI);
    a.bswap(Size::S64, RAX);
    a.ret();
    let (_b, g) = jit!(finish(a), extern "sysv64" fn(*mut u64) -> u64);
    let mut mem = [0xFFFF_FF80_8080_F0F0u64, 0];
    let v = mem[0];
    let expected = (v as u8 as i8 as i64)
        .wrapping_add(v as u16 as i64)
        .wrapping_add(v as u32 as i32 as i64);
    assert_eq!(g(mem.as_mut_ptr()), (expected as u64).swap_bytes());
    assert_eq!(mem[1], expected as u8 as u64);
}

#[test]
fn bmi2_shifts_execute() {
    if !CpuFeatures::detect().bmi2 {
        return;
    }
    for op in [ShiftOp::Shl, ShiftOp::Shr, ShiftOp::Sar] {
        let mut a = Assembler::new();
        a.shiftx_rrr(op, Size::S64, RAX, RDI, RSI);
        a.ret();
        let (_a, f) = jit!(finish(a), extern "sysv64" fn(u64, u64) -> u64);
        for x in [1u64, 0x8000_0000_0000_0001, 0xDEAD_BEEF_1234_5678] {
            for n in [0u64, 1, 7, 63, 64, 65] {
                let expected = match op {
                    ShiftOp::Shl => x << (n & 63),
                    ShiftOp::Shr => x >> (n & 63),
                    _ => ((x as i64) >> (n & 63)) as u64,
                };
                assert_eq!(f(x, n), expected, "{op:?} {x:#x} {n}");
            }
        }
    }
    let mut a = Assembler::new();
    a.rorx_rri(Size::S32, RAX, RDI, 12);
    a.ret();
    let (_b, g) = jit!(finish(a), extern "sysv64" fn(u32) -> u32);
    assert_eq!(g(0x1234_5678), 0x1234_5678u32.rotate_right(12));
}

#[test]
fn lock_cmpxchg_and_xadd() {
    // fn(ptr, expected, new) -> old
    let mut a = Assembler::new();
    a.mov_rr(Size::S64, RAX, RSI);
    a.lock_cmpxchg_mr(Size::S64, Mem::base(RDI, 0), RDX);
    a.ret();
    let (_a, cas) = jit!(finish(a), extern "sysv64" fn(*mut u64, u64, u64) -> u64);
    let mut cell = 5u64;
    assert_eq!(cas(&mut cell, 5, 9), 5);
    assert_eq!(cell, 9);
    assert_eq!(cas(&mut cell, 5, 11), 9);
    assert_eq!(cell, 9);
    let mut a = Assembler::new();
    a.mov_rr(Size::S32, RAX, RSI);
    a.lock_xadd_mr(Size::S32, Mem::base(RDI, 0), RAX);
    a.ret();
    let (_b, fetch_add) = jit!(finish(a), extern "sysv64" fn(*mut u32, u32) -> u32);
    let mut c = 40u32;
    assert_eq!(fetch_add(&mut c, 2), 40);
    assert_eq!(c, 42);
}

#[test]
fn relative_jump_table_dispatch() {
    // fn(i: u64) -> u64 { [10, 20, 30, 40][i] } through a table of rel32 entries.
    let mut a = Assembler::new();
    let table = a.new_label();
    let cases: Vec<Label> = (0..4).map(|_| a.new_label()).collect();
    a.lea(Size::S64, RCX, Mem::label(table));
    a.movsx_rm(
        Size::S64,
        Size::S32,
        RAX,
        Mem::base_index(RCX, RDI, Scale::Four, 0),
    );
    a.add_rr(Size::S64, RAX, RCX);
    a.jmp_r(RAX);
    a.align(4);
    a.bind(table);
    let base = a.pc_offset();
    for &c in &cases {
        a.emit_label_rel32(c, base);
    }
    for (k, &c) in cases.iter().enumerate() {
        a.bind(c);
        a.mov_ri(Size::S32, RAX, 10 * (k as i64 + 1));
        a.ret();
    }
    let (_c, f) = jit!(finish(a), extern "sysv64" fn(u64) -> u64);
    for i in 0..4 {
        assert_eq!(f(i), 10 * (i + 1));
    }
}

#[test]
fn calls_through_labels_registers_and_memory() {
    let mut a = Assembler::new();
    let callee = a.new_label();
    let slot = a.new_label();
    a.push_r(RBX);
    a.call(callee); // rax = rdi * 3
    a.mov_rr(Size::S64, RBX, RAX);
    a.lea(Size::S64, R11, Mem::label(callee));
    a.call_r(R11); // rax = rdi * 3 again
    a.add_rr(Size::S64, RBX, RAX);
    a.call_m(Mem::label(slot)); // through an absolute address stored in the code
    a.add_rr(Size::S64, RAX, RBX);
    a.pop_r(RBX);
    a.ret();
    a.bind(callee);
    a.lea(Size::S64, RAX, Mem::base_index(RDI, RDI, Scale::Two, 0));
    a.ret();
    a.align(8);
    a.bind(slot);
    let slot_at = a.pc_offset();
    let callee_at = a.label_offset(callee).unwrap();
    a.emit_u64(0);
    let mut code = finish(a);
    let mut mapped = Code::new(&code);
    let abs = (mapped.addr() + callee_at) as u64;
    code[slot_at..slot_at + 8].copy_from_slice(&abs.to_le_bytes());
    mapped.rewrite(|p| {
        // SAFETY: the mapping is writable inside `rewrite` and holds `code.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), p, code.len()) }
    });
    // SAFETY: the code implements this signature.
    let f: extern "sysv64" fn(i64) -> i64 = unsafe { func(mapped.addr()) };
    assert_eq!(f(7), 63);
}

#[test]
fn jump_slot_patched_between_calls_and_lazy_stub() {
    // Layout: [0] fn one, [16] fn two, [32] builtin (returns r11), [48] slot, [64] lazy stub.
    let mut a = Assembler::new();
    a.mov_ri(Size::S32, RAX, 1);
    a.ret();
    a.align(16);
    a.mov_ri(Size::S32, RAX, 2);
    a.ret();
    a.align(16);
    a.mov_rr(Size::S64, RAX, R11);
    a.ret();
    a.align(16);
    a.nops(16 + patch::LAZY_STUB_SIZE);
    let mut code = Code::new(&finish(a));
    let base = code.addr() as u64;
    let slot_ptr_offset = 48usize;
    code.rewrite(|p| {
        let slot = patch::jump_slot(base + 48, base).unwrap();
        let stub = patch::lazy_stub(base + 64, 4242, base + 32).unwrap();
        // SAFETY: both writes are inside the writable mapping; the slot offset is 8-aligned.
        unsafe {
            patch::write_jump_slot(p.add(slot_ptr_offset), slot);
            std::ptr::copy_nonoverlapping(stub.as_ptr(), p.add(64), stub.len());
        }
    });
    assert_eq!((base + 48) % JUMP_SLOT_SIZE as u64, 0);
    // SAFETY: the slot jumps to a function of this signature.
    let through_slot: extern "sysv64" fn() -> u64 = unsafe { func(code.addr() + 48) };
    // SAFETY: the stub jumps to the builtin, which has this signature.
    let stub: extern "sysv64" fn() -> u64 = unsafe { func(code.addr() + 64) };
    assert_eq!(through_slot(), 1);
    assert_eq!(stub(), 4242);
    for round in 0..4 {
        let target = if round % 2 == 0 { base + 16 } else { base };
        code.rewrite(|p| {
            // SAFETY: aligned slot inside the writable mapping.
            unsafe {
                patch::write_jump_slot(p.add(48), patch::jump_slot(base + 48, target).unwrap())
            }
        });
        assert_eq!(through_slot(), if round % 2 == 0 { 2 } else { 1 });
        // SAFETY: the slot lies inside the readable mapping.
        let slot_bytes: [u8; 8] = unsafe { std::ptr::read((base + 48) as *const [u8; 8]) };
        assert_eq!(patch::jump_slot_target(base + 48, slot_bytes), Some(target));
    }
}
