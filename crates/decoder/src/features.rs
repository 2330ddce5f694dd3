//! Which WebAssembly proposals the decoder accepts.

use wasmparser::WasmFeatures;

/// A WebAssembly proposal beyond the 2.0 core that can be switched on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proposal {
    /// Tail calls (`return_call`, `return_call_indirect`).
    TailCall,
    /// Extended constant expressions (`i32.add` and friends in initializers).
    ExtendedConst,
    /// More than one memory per module.
    MultiMemory,
    /// 64-bit memories and tables.
    Memory64,
    /// Exception handling with `exnref` (`try_table`, `throw`, `throw_ref`).
    Exceptions,
    /// Typed function references (`call_ref`, `ref.as_non_null`, non-nullable types).
    FunctionReferences,
    /// Garbage collection (structs, arrays, `i31`, recursive types).
    Gc,
    /// Threads: shared memories and atomics.
    Threads,
    /// Relaxed SIMD.
    RelaxedSimd,
    /// Wide arithmetic (`i64.add128`, `i64.mul_wide_*`).
    WideArithmetic,
    /// Custom page sizes.
    CustomPageSizes,
    /// The legacy exception-handling instructions (`try`/`catch`/`delegate`/`rethrow`).
    LegacyExceptions,
    /// Custom descriptors and exact reference types (a GC extension).
    CustomDescriptors,
}

impl Proposal {
    /// Every proposal, in a fixed order.
    pub const ALL: [Proposal; 13] = [
        Proposal::TailCall,
        Proposal::ExtendedConst,
        Proposal::MultiMemory,
        Proposal::Memory64,
        Proposal::Exceptions,
        Proposal::FunctionReferences,
        Proposal::Gc,
        Proposal::Threads,
        Proposal::RelaxedSimd,
        Proposal::WideArithmetic,
        Proposal::CustomPageSizes,
        Proposal::LegacyExceptions,
        Proposal::CustomDescriptors,
    ];

    /// The proposal's conventional short name, e.g. `tail-call`.
    pub fn name(self) -> &'static str {
        match self {
            Proposal::TailCall => "tail-call",
            Proposal::ExtendedConst => "extended-const",
            Proposal::MultiMemory => "multi-memory",
            Proposal::Memory64 => "memory64",
            Proposal::Exceptions => "exceptions",
            Proposal::FunctionReferences => "function-references",
            Proposal::Gc => "gc",
            Proposal::Threads => "threads",
            Proposal::RelaxedSimd => "relaxed-simd",
            Proposal::WideArithmetic => "wide-arithmetic",
            Proposal::CustomPageSizes => "custom-page-sizes",
            Proposal::LegacyExceptions => "legacy-exceptions",
            Proposal::CustomDescriptors => "custom-descriptors",
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    fn wasm_features(self) -> WasmFeatures {
        match self {
            Proposal::TailCall => WasmFeatures::TAIL_CALL,
            Proposal::ExtendedConst => WasmFeatures::EXTENDED_CONST,
            Proposal::MultiMemory => WasmFeatures::MULTI_MEMORY,
            Proposal::Memory64 => WasmFeatures::MEMORY64,
            Proposal::Exceptions => WasmFeatures::EXCEPTIONS,
            Proposal::FunctionReferences => WasmFeatures::FUNCTION_REFERENCES,
            Proposal::Gc => WasmFeatures::GC,
            Proposal::Threads => WasmFeatures::THREADS,
            Proposal::RelaxedSimd => WasmFeatures::RELAXED_SIMD,
            Proposal::WideArithmetic => WasmFeatures::WIDE_ARITHMETIC,
            Proposal::CustomPageSizes => WasmFeatures::CUSTOM_PAGE_SIZES,
            Proposal::LegacyExceptions => WasmFeatures::LEGACY_EXCEPTIONS,
            Proposal::CustomDescriptors => WasmFeatures::CUSTOM_DESCRIPTORS,
        }
    }
}

impl std::fmt::Display for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The set of proposals accepted on top of the WebAssembly 2.0 core.
///
/// The core is always accepted: MVP, mutable globals, sign extension, non-trapping
/// float-to-int, multi-value, bulk memory, reference types and fixed-width SIMD. The default
/// enables no later proposal, because Kiln's tiers do not compile them yet. Copying is free.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Features {
    enabled: u32,
}

impl Features {
    /// The 2.0 core with every proposal enabled.
    pub fn all() -> Features {
        Proposal::ALL
            .iter()
            .fold(Features::default(), |f, &p| f.with(p))
    }

    /// These features with `proposal` enabled.
    #[must_use]
    pub fn with(self, proposal: Proposal) -> Features {
        Features {
            enabled: self.enabled | proposal.bit(),
        }
    }

    /// These features with `proposal` disabled.
    #[must_use]
    pub fn without(self, proposal: Proposal) -> Features {
        Features {
            enabled: self.enabled & !proposal.bit(),
        }
    }

    /// Whether `proposal` is enabled.
    pub fn has(self, proposal: Proposal) -> bool {
        self.enabled & proposal.bit() != 0
    }

    /// The enabled proposals, in [`Proposal::ALL`] order.
    pub fn proposals(self) -> impl Iterator<Item = Proposal> {
        Proposal::ALL.into_iter().filter(move |&p| self.has(p))
    }

    /// The equivalent wasmparser feature set.
    pub fn wasm_features(self) -> WasmFeatures {
        self.proposals()
            .fold(WasmFeatures::WASM2, |f, p| f | p.wasm_features())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_wasm2_and_all_adds_every_proposal() {
        assert_eq!(Features::default().wasm_features(), WasmFeatures::WASM2);
        let all = Features::all();
        for p in Proposal::ALL {
            assert!(all.has(p));
            assert!(!all.without(p).has(p));
            assert!(all.wasm_features().contains(p.wasm_features()));
        }
        assert!(all.wasm_features().contains(WasmFeatures::WASM3));
    }
}
