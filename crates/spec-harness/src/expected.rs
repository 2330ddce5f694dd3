//! The list of known failures, each with its reason.

use std::collections::HashMap;

/// Known failures: `(mode, file, line)` -> reason. Line 0 stands for the whole file (e.g. a
/// script the text parser cannot read); mode `*` matches every back end.
///
/// The list is `expected-failures.tsv` at the root of this crate: tab-separated
/// `mode  file  line  reason`, `#` comments. Every entry must carry a reason.
#[derive(Clone, Debug, Default)]
pub struct ExpectedFailures {
    entries: HashMap<(String, String, usize), String>,
}

impl ExpectedFailures {
    /// The project's list.
    pub fn builtin() -> ExpectedFailures {
        ExpectedFailures::parse(include_str!("../expected-failures.tsv"))
            .expect("expected-failures.tsv is well formed")
    }

    /// Parses the list's text format.
    pub fn parse(text: &str) -> Result<ExpectedFailures, String> {
        let mut entries = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.splitn(4, '\t').collect();
            let [mode, file, number, reason] = fields[..] else {
                return Err(format!(
                    "line {}: expected mode, file, line and reason",
                    i + 1
                ));
            };
            let number = number
                .parse()
                .map_err(|_| format!("line {}: bad line number", i + 1))?;
            if reason.trim().is_empty() {
                return Err(format!(
                    "line {}: an expected failure needs a reason",
                    i + 1
                ));
            }
            entries.insert(
                (mode.to_string(), file.to_string(), number),
                reason.to_string(),
            );
        }
        Ok(ExpectedFailures { entries })
    }

    /// The reason `file:line` is expected to fail under `mode`, if it is listed.
    pub fn reason(&self, mode: &str, file: &str, line: usize) -> Option<&str> {
        let key = |m: &str| (m.to_string(), file.to_string(), line);
        self.entries
            .get(&key(mode))
            .or_else(|| self.entries.get(&key("*")))
            .map(String::as_str)
    }

    /// How many entries the list has.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_requires_reasons() {
        let list =
            ExpectedFailures::parse("# c\nvalidate\ta.wast\t3\tbecause\n*\tb.wast\t0\twhy\n")
                .unwrap();
        assert_eq!(list.reason("validate", "a.wast", 3), Some("because"));
        assert_eq!(list.reason("baseline", "a.wast", 3), None);
        assert_eq!(list.reason("opt", "b.wast", 0), Some("why"));
        assert!(ExpectedFailures::parse("validate\ta.wast\t3\t \n").is_err());
        assert!(ExpectedFailures::parse("validate\ta.wast\n").is_err());
        ExpectedFailures::builtin();
    }
}
