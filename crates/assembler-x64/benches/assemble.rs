//! Assembly speed for a representative baseline-compiler mix: loads, stores, ALU operations
//! with registers and immediates, compares and forward/backward conditional branches, float
//! arithmetic with constant-pool operands. Reported as instructions per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln_assembler_x64::*;
use std::hint::black_box;

/// Instructions emitted by one block of [`block`].
const PER_BLOCK: u64 = 16;
const BLOCKS: u64 = 256;

fn block(a: &mut Assembler, k: u32, top: Label) {
    let skip = a.new_label();
    let slot = (k as i32 % 64) * 8;
    a.mov_rm(Size::S64, RAX, Mem::base(RBP, -slot - 8));
    a.mov_rm(Size::S32, RCX, Mem::base_index(RDI, RSI, Scale::Four, slot));
    a.add_rr(Size::S64, RAX, RCX);
    a.sub_ri(Size::S32, RCX, k as i32);
    a.cmp_ri(Size::S64, RAX, 1000);
    a.jcc(Cond::G, skip);
    a.lea(Size::S64, RDX, Mem::base_index(RAX, RCX, Scale::Two, 16));
    a.mov_mr(Size::S64, Mem::base(RBP, -slot - 16), RDX);
    a.movzx_rm(Size::S32, Size::S8, R8, Mem::base(R12, slot));
    a.movs_rm(FloatSize::F64, XMM1, Mem::base(RBP, -slot - 24));
    a.addsd_rr(XMM1, XMM2);
    let c = a.const_f64(f64::from(k % 8) + 0.5);
    a.mulsd_rm(XMM1, c);
    a.movs_mr(FloatSize::F64, Mem::base(RBP, -slot - 24), XMM1);
    a.bind(skip);
    a.test_rr(Size::S32, R8, R8);
    a.jcc(Cond::Ne, top);
    a.mov_ri(Size::S32, R9, i64::from(k));
}

fn assemble() -> Vec<u8> {
    let mut a = Assembler::with_capacity(16 * 1024);
    let top = a.new_label();
    a.bind(top);
    for k in 0..BLOCKS as u32 {
        block(&mut a, k, top);
    }
    a.finish().expect("assembles")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("assemble");
    group.throughput(Throughput::Elements(PER_BLOCK * BLOCKS));
    group.bench_function("mixed_4096_instructions", |b| {
        b.iter(|| black_box(assemble()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
