//! Running one script's directives against a back end.

use crate::modules::{line_of, with_script};
use crate::{
    Backend, ExecError, Expected, ExpectedFailures, FileReport, InstanceId, Outcome, SpecFile,
    Value,
};
use kiln_decoder::{DecodeError, Features, Proposal, decode};
use std::collections::HashMap;
use wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Runs every directive of `file` against `backend` and reports the outcome of each; failures
/// listed in `expected` for the back end's name are counted as expected.
pub fn run_file(
    file: &SpecFile,
    backend: &mut dyn Backend,
    expected: &ExpectedFailures,
) -> FileReport {
    let mode = backend.name().to_string();
    let mut report = FileReport {
        name: file.name.clone(),
        ..Default::default()
    };
    let text = match std::fs::read_to_string(&file.path) {
        Ok(text) => text,
        Err(e) => {
            let reason = expected.reason(&mode, &file.name, 0);
            report.record(0, Outcome::Failed(format!("cannot read: {e}")), reason);
            return report;
        }
    };
    let parsed = with_script(&text, |script| {
        let mut run = Run {
            backend,
            current: None,
            named: HashMap::new(),
            definitions: HashMap::new(),
            unavailable_registrations: HashMap::new(),
        };
        for directive in script.directives {
            let line = line_of(directive.span(), &text);
            let outcome = run.directive(directive);
            report.record(line, outcome, expected.reason(&mode, &file.name, line));
        }
    });
    if let Err(e) = parsed {
        let reason = expected.reason(&mode, &file.name, 0);
        report.record(
            0,
            Outcome::Failed(format!("the script does not parse: {e}")),
            reason,
        );
    }
    report
}

/// What a directive that names a module finds.
#[derive(Clone, Debug)]
enum Module {
    Instance(InstanceId),
    /// The module cannot be run; directives using it are unsupported for this reason.
    Unavailable(String),
}

struct Run<'a> {
    backend: &'a mut dyn Backend,
    current: Option<Module>,
    named: HashMap<String, Module>,
    /// `module definition`s by name: their bytes, or why they cannot be used.
    definitions: HashMap<String, Result<Vec<u8>, Outcome>>,
    /// Names whose `register` failed because the module was unsupported, with the reason.
    unavailable_registrations: HashMap<String, String>,
}

fn names(proposals: &[Proposal]) -> String {
    proposals
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join("+")
}

/// Whether a rejection under `base` could change with one more proposal: the error moves, or
/// its message reads as a feature gate. Returns the proposals that change it.
fn proposals_changing_error(wasm: &[u8], base: Features, err: &DecodeError) -> Vec<Proposal> {
    let gate_words = ["enabled", "disabled", "proposal", "requires", "support"];
    let gated = gate_words.iter().any(|w| err.message().contains(w));
    Proposal::ALL
        .into_iter()
        .filter(|&p| !base.has(p))
        .filter(|&p| match decode(wasm, &base.with(p)) {
            Ok(_) => true,
            Err(e) => e.offset() != err.offset() || (gated && e.message() != err.message()),
        })
        .collect()
}

impl Run<'_> {
    fn directive(&mut self, directive: WastDirective<'_>) -> Outcome {
        match directive {
            WastDirective::Module(module) => self.module(module, true),
            WastDirective::ModuleDefinition(module) => self.module(module, false),
            WastDirective::ModuleInstance {
                instance, module, ..
            } => self.module_instance(instance, module),
            WastDirective::AssertMalformed { module, .. } => self.assert_malformed(module),
            WastDirective::AssertInvalid { module, .. } => self.assert_invalid(module),
            WastDirective::AssertUnlinkable { module, .. } => {
                self.assert_fails_to_instantiate(module, |e| matches!(e, ExecError::Link(_)))
            }
            WastDirective::Register { name, module, .. } => match self.lookup(module) {
                Ok(id) => {
                    self.backend.register(name, id);
                    Outcome::Passed
                }
                Err(outcome) => {
                    // Modules importing from it later are unavailable for the same reason.
                    if let Outcome::Unsupported(reason) = &outcome {
                        self.unavailable_registrations
                            .insert(name.to_string(), reason.clone());
                    }
                    outcome
                }
            },
            WastDirective::Invoke(invoke) => match self.invoke(invoke) {
                Ok(_) => Outcome::Passed,
                Err(Ok(outcome)) => outcome,
                Err(Err(e)) => Outcome::Failed(e.to_string()),
            },
            WastDirective::AssertReturn { exec, results, .. } => self.assert_return(exec, &results),
            WastDirective::AssertTrap {
                exec: WastExecute::Wat(module),
                ..
            } => self.assert_fails_to_instantiate(module, |e| matches!(e, ExecError::Trap(_))),
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Err(Err(ExecError::Trap(m))) if m.contains(message) || message.contains(&m) => {
                    Outcome::Passed
                }
                Err(Err(e)) => Outcome::Failed(format!("expected trap `{message}`, got {e}")),
                Err(Ok(outcome)) => outcome,
                Ok(values) => Outcome::Failed(format!("expected trap `{message}`, got {values:?}")),
            },
            WastDirective::AssertExhaustion { call, .. } => match self.invoke(call) {
                Err(Err(ExecError::Exhaustion(_))) => Outcome::Passed,
                Err(Err(e)) => Outcome::Failed(format!("expected stack exhaustion, got {e}")),
                Err(Ok(outcome)) => outcome,
                Ok(values) => Outcome::Failed(format!("expected stack exhaustion, got {values:?}")),
            },
            WastDirective::AssertException { .. } => Outcome::Unsupported("exceptions".into()),
            WastDirective::AssertSuspension { .. } => {
                Outcome::Unsupported("stack-switching".into())
            }
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                Outcome::Unsupported("threads".into())
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {
                Outcome::Unsupported("custom-annotations".into())
            }
        }
    }

    /// Decodes a module under the back end's features: `Ok(bytes)` when valid, else the outcome
    /// (unsupported with the proposals it needs, or failed).
    fn validate(&self, module: &mut QuoteWat<'_>) -> Result<Vec<u8>, Outcome> {
        let wasm = module
            .encode()
            .map_err(|e| Outcome::Failed(format!("text does not encode: {e}")))?;
        let features = self.backend.features();
        match decode(&wasm, &features) {
            Ok(_) => Ok(wasm),
            Err(err) => Err(match kiln_decoder::proposals_needed(&wasm, &features) {
                Some(needed) => Outcome::Unsupported(names(&needed)),
                None => Outcome::Failed(format!("valid module rejected: {err}")),
            }),
        }
    }

    fn module(&mut self, mut module: QuoteWat<'_>, instantiate: bool) -> Outcome {
        let name = module.name().map(|id| id.name().to_string());
        let validated = self.validate(&mut module);
        if !instantiate {
            let outcome = match &validated {
                Ok(_) => Outcome::Passed,
                Err(outcome) => outcome.clone(),
            };
            if let Some(name) = name {
                self.definitions.insert(name, validated);
            }
            return outcome;
        }
        let (state, outcome) = match validated {
            Err(Outcome::Unsupported(reason)) => (
                Module::Unavailable(reason.clone()),
                Outcome::Unsupported(reason),
            ),
            Err(outcome) => (Module::Unavailable("a module that failed".into()), outcome),
            Ok(_) if !self.backend.executes() => {
                (Module::Unavailable("execution".into()), Outcome::Passed)
            }
            Ok(wasm) => self.instantiate(&wasm),
        };
        self.bind(name, state);
        outcome
    }

    /// Instantiates a valid module: the instance, or why it is unavailable, and the outcome.
    fn instantiate(&mut self, wasm: &[u8]) -> (Module, Outcome) {
        if let Some(reason) = self.blocked_import(wasm) {
            return (
                Module::Unavailable(reason.clone()),
                Outcome::Unsupported(reason),
            );
        }
        match self.backend.instantiate(wasm) {
            Ok(id) => (Module::Instance(id), Outcome::Passed),
            Err(ExecError::Unsupported(reason)) => (
                Module::Unavailable(reason.clone()),
                Outcome::Unsupported(reason),
            ),
            Err(e) => (
                Module::Unavailable("a module that failed".into()),
                Outcome::Failed(e.to_string()),
            ),
        }
    }

    /// Why `wasm` cannot link, when it imports from a name whose module was unsupported.
    fn blocked_import(&self, wasm: &[u8]) -> Option<String> {
        if self.unavailable_registrations.is_empty() {
            return None;
        }
        let module = decode(wasm, &Features::all()).ok()?;
        let import = module
            .imports
            .iter()
            .find(|i| self.unavailable_registrations.contains_key(&i.module))?;
        Some(self.unavailable_registrations[&import.module].clone())
    }

    /// Makes `state` the current module, and `name`'s too when given.
    fn bind(&mut self, name: Option<String>, state: Module) {
        if let Some(name) = name {
            self.named.insert(name, state.clone());
        }
        self.current = Some(state);
    }

    /// `(module instance $I $M)`: instantiates the definition `$M`.
    fn module_instance(
        &mut self,
        instance: Option<wast::token::Id<'_>>,
        module: Option<wast::token::Id<'_>>,
    ) -> Outcome {
        let definition = module.and_then(|m| self.definitions.get(m.name()).cloned());
        let (state, outcome) = match definition {
            None => (
                Module::Unavailable("a module that failed".into()),
                Outcome::Failed("no such module definition".into()),
            ),
            Some(Err(Outcome::Unsupported(reason))) => (
                Module::Unavailable(reason.clone()),
                Outcome::Unsupported(reason),
            ),
            Some(Err(_)) => (
                Module::Unavailable("a module that failed".into()),
                Outcome::Failed("definition is not valid".into()),
            ),
            Some(Ok(_)) if !self.backend.executes() => (
                Module::Unavailable("execution".into()),
                Outcome::Unsupported("execution".into()),
            ),
            Some(Ok(wasm)) => self.instantiate(&wasm),
        };
        self.bind(instance.map(|id| id.name().to_string()), state);
        outcome
    }

    fn assert_malformed(&mut self, mut module: QuoteWat<'_>) -> Outcome {
        // Quoted text the text parser rejects is malformed as asserted.
        let Ok(wasm) = module.encode() else {
            return Outcome::Passed;
        };
        match decode(&wasm, &self.backend.features()) {
            Err(_) => Outcome::Passed,
            Ok(_) => Outcome::Failed("malformed module accepted".into()),
        }
    }

    fn assert_invalid(&mut self, mut module: QuoteWat<'_>) -> Outcome {
        let wasm = match module.encode() {
            Ok(wasm) => wasm,
            Err(e) => return Outcome::Failed(format!("text does not encode: {e}")),
        };
        let features = self.backend.features();
        match decode(&wasm, &features) {
            Ok(_) => Outcome::Failed("invalid module accepted".into()),
            Err(err) => {
                let changing = proposals_changing_error(&wasm, features, &err);
                if changing.is_empty() {
                    Outcome::Passed
                } else {
                    Outcome::Unsupported(names(&changing))
                }
            }
        }
    }

    fn assert_fails_to_instantiate(
        &mut self,
        module: Wat<'_>,
        expected: impl Fn(&ExecError) -> bool,
    ) -> Outcome {
        let wasm = match self.validate(&mut QuoteWat::Wat(module)) {
            Ok(wasm) => wasm,
            Err(outcome) => return outcome,
        };
        if !self.backend.executes() {
            return Outcome::Unsupported("execution".into());
        }
        if let Some(reason) = self.blocked_import(&wasm) {
            return Outcome::Unsupported(reason);
        }
        match self.backend.instantiate(&wasm) {
            Err(ExecError::Unsupported(reason)) => Outcome::Unsupported(reason),
            Err(e) if expected(&e) => Outcome::Passed,
            Err(e) => Outcome::Failed(format!("instantiation failed differently: {e}")),
            Ok(_) => Outcome::Failed("instantiation succeeded".into()),
        }
    }

    /// The instance a directive names (or the current one), or the outcome when there is none.
    fn lookup(&self, name: Option<wast::token::Id<'_>>) -> Result<InstanceId, Outcome> {
        let module = match name {
            Some(id) => self.named.get(id.name()),
            None => self.current.as_ref(),
        };
        match module {
            Some(Module::Instance(id)) => Ok(*id),
            Some(Module::Unavailable(reason)) => Err(Outcome::Unsupported(reason.clone())),
            None => Err(Outcome::Failed("no module to run".into())),
        }
    }

    /// Runs an invoke: the results, or `Err(Ok(outcome))` when it cannot run at all, or
    /// `Err(Err(e))` when the back end reports an error.
    fn invoke(&mut self, invoke: WastInvoke<'_>) -> Result<Vec<Value>, Result<Outcome, ExecError>> {
        let instance = self.lookup(invoke.module).map_err(Ok)?;
        let args = invoke
            .args
            .iter()
            .map(Value::from_arg)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| Ok(Outcome::Unsupported(reason)))?;
        match self.backend.invoke(instance, invoke.name, &args) {
            Ok(values) => Ok(values),
            Err(ExecError::Unsupported(reason)) => Err(Ok(Outcome::Unsupported(reason))),
            Err(e) => Err(Err(e)),
        }
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Value>, Result<Outcome, ExecError>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.lookup(module).map_err(Ok)?;
                match self.backend.get_global(instance, global) {
                    Ok(value) => Ok(vec![value]),
                    Err(ExecError::Unsupported(reason)) => Err(Ok(Outcome::Unsupported(reason))),
                    Err(e) => Err(Err(e)),
                }
            }
            WastExecute::Wat(module) => {
                let outcome = self.module(QuoteWat::Wat(module), true);
                match outcome {
                    Outcome::Passed => Ok(Vec::new()),
                    other => Err(Ok(other)),
                }
            }
        }
    }

    fn assert_return(&mut self, exec: WastExecute<'_>, results: &[WastRet<'_>]) -> Outcome {
        let expected = match results
            .iter()
            .map(Expected::from_ret)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(expected) => expected,
            Err(reason) => return Outcome::Unsupported(reason),
        };
        match self.execute(exec) {
            Ok(values) => {
                let ok = values.len() == expected.len()
                    && expected.iter().zip(&values).all(|(e, v)| e.matches(v));
                if ok {
                    Outcome::Passed
                } else {
                    Outcome::Failed(format!("expected {expected:?}, got {values:?}"))
                }
            }
            Err(Ok(outcome)) => outcome,
            Err(Err(e)) => Outcome::Failed(format!("expected {expected:?}, got {e}")),
        }
    }
}
