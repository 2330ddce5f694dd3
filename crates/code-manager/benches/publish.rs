//! Cost of publishing a new version of one function: placing its code, listing it for lookup
//! and patching its jump-table slot (what tier-up does), with the replaced code reclaimed.

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_abi::CompiledFunction;
use kiln_code_manager::{CodeKind, CodeManager, CodeManagerConfig, PublishMode};

fn publish(c: &mut Criterion) {
    let manager = CodeManager::new(CodeManagerConfig::default());
    let module = manager.new_native_module(0, 64).unwrap();
    // mov eax, imm32; ret
    let version = |v: u32| {
        let mut code = vec![0xB8];
        code.extend_from_slice(&v.to_le_bytes());
        code.push(0xC3);
        CompiledFunction {
            code,
            ..Default::default()
        }
    };
    let versions = [version(1), version(2)];
    let mut i = 0;
    c.bench_function("publish and patch a jump-table slot", |b| {
        b.iter(|| {
            i += 1;
            let f = &versions[i % 2];
            module
                .publish_with(7, CodeKind::Baseline, f, PublishMode::ForceReplace)
                .unwrap()
        })
    });
}

criterion_group!(benches, publish);
criterion_main!(benches);
