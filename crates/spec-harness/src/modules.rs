//! Reading scripts, and extracting every module they contain.

use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute};

/// Parses a `.wast` script and hands its directives to `f`. Confusing Unicode is allowed in
/// strings, as `names.wast` needs.
pub(crate) fn with_script<R>(text: &str, f: impl FnOnce(Wast<'_>) -> R) -> Result<R, String> {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = ParseBuffer::new_with_lexer(lexer).map_err(|e| e.to_string())?;
    let script = parser::parse::<Wast<'_>>(&buffer).map_err(|e| e.to_string())?;
    Ok(f(script))
}

/// The 1-based line of `span` in `text`.
pub(crate) fn line_of(span: wast::token::Span, text: &str) -> usize {
    span.linecol_in(text).0 + 1
}

/// A module found in a script, as binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptModule {
    /// The 1-based line where the module starts.
    pub line: usize,
    /// Its binary encoding (which may be malformed or invalid, as the script intends).
    pub wasm: Vec<u8>,
}

/// Every module of a script that encodes to binary: defined, instantiated, asserted invalid,
/// malformed (binary or parseable quoted text), unlinkable or trapping at instantiation.
/// Quoted text that the text parser rejects is skipped.
pub fn script_modules(text: &str) -> Result<Vec<ScriptModule>, String> {
    with_script(text, |script| {
        let mut out = Vec::new();
        let mut push = |module: &mut QuoteWat<'_>| {
            if let Ok(wasm) = module.encode() {
                out.push(ScriptModule {
                    line: line_of(module.span(), text),
                    wasm,
                });
            }
        };
        for directive in script.directives {
            match directive {
                WastDirective::Module(mut m)
                | WastDirective::ModuleDefinition(mut m)
                | WastDirective::AssertMalformed { module: mut m, .. }
                | WastDirective::AssertInvalid { module: mut m, .. } => push(&mut m),
                WastDirective::AssertUnlinkable { module, .. }
                | WastDirective::AssertTrap {
                    exec: WastExecute::Wat(module),
                    ..
                } => push(&mut QuoteWat::Wat(module)),
                _ => {}
            }
        }
        out
    })
}
