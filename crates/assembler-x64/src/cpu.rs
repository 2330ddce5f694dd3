//! CPU feature detection, done once per process.

use std::sync::OnceLock;

/// The optional x86-64 instruction-set extensions the assembler can emit.
///
/// The compiler asks [`CpuFeatures::detect`] once and picks encodings from it (for example
/// `lzcnt` or the `bsr` fallback, SSE or AVX forms). A value can also be built by hand, e.g.
/// [`CpuFeatures::BASELINE`] to exercise the fallback paths on any machine.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct CpuFeatures {
    /// SSE4.1 (`roundss`/`roundsd`).
    pub sse41: bool,
    /// `popcnt`.
    pub popcnt: bool,
    /// `lzcnt` (ABM on AMD).
    pub lzcnt: bool,
    /// BMI1 (`tzcnt`).
    pub bmi1: bool,
    /// BMI2.
    pub bmi2: bool,
    /// AVX (VEX-encoded float operations).
    pub avx: bool,
    /// AVX2.
    pub avx2: bool,
}

impl CpuFeatures {
    /// The x86-64 baseline (SSE2 only): every optional feature off.
    pub const BASELINE: CpuFeatures = CpuFeatures {
        sse41: false,
        popcnt: false,
        lzcnt: false,
        bmi1: false,
        bmi2: false,
        avx: false,
        avx2: false,
    };

    /// The features of the running CPU. The first call queries `cpuid` (through
    /// `std::arch::is_x86_feature_detected!`, which also checks that the OS saves AVX state);
    /// later calls return the cached value without synchronisation cost beyond one atomic load.
    pub fn detect() -> CpuFeatures {
        static CACHE: OnceLock<CpuFeatures> = OnceLock::new();
        *CACHE.get_or_init(Self::query)
    }

    #[cfg(target_arch = "x86_64")]
    fn query() -> CpuFeatures {
        use std::arch::is_x86_feature_detected as has;
        CpuFeatures {
            sse41: has!("sse4.1"),
            popcnt: has!("popcnt"),
            lzcnt: has!("lzcnt"),
            bmi1: has!("bmi1"),
            bmi2: has!("bmi2"),
            avx: has!("avx"),
            avx2: has!("avx2"),
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn query() -> CpuFeatures {
        // Code assembled here cannot run on the host; report the baseline.
        CpuFeatures::BASELINE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn detection_matches_std_and_is_cached() {
        let f = CpuFeatures::detect();
        assert_eq!(f.avx, std::arch::is_x86_feature_detected!("avx"));
        assert_eq!(f.lzcnt, std::arch::is_x86_feature_detected!("lzcnt"));
        assert_eq!(f.popcnt, std::arch::is_x86_feature_detected!("popcnt"));
        assert_eq!(f, CpuFeatures::detect());
        assert_ne!(
            CpuFeatures::BASELINE,
            CpuFeatures {
                sse41: true,
                ..CpuFeatures::BASELINE
            }
        );
    }
}
