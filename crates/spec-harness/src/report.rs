//! Counting and printing results.

use std::collections::BTreeMap;
use std::fmt;

/// The verdict on one directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The back end did what the directive asserts.
    Passed,
    /// It did not; the message says what happened instead.
    Failed(String),
    /// The directive needs something the back end does not have; the reason names it (a
    /// proposal such as `tail-call`, or `execution`).
    Unsupported(String),
}

/// Directive counts. A listed expected failure is counted apart, not as failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Directives that passed.
    pub passed: usize,
    /// Directives that failed and are not in the expected-failures list.
    pub failed: usize,
    /// Directives the back end cannot run.
    pub unsupported: usize,
    /// Directives that failed as the expected-failures list says they do.
    pub expected_failures: usize,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.unsupported += other.unsupported;
        self.expected_failures += other.expected_failures;
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} unsupported",
            self.passed, self.failed, self.unsupported
        )?;
        if self.expected_failures > 0 {
            write!(f, " ({} expected failures)", self.expected_failures)?;
        }
        Ok(())
    }
}

/// The results of one script.
#[derive(Clone, Debug, Default)]
pub struct FileReport {
    /// The script's path relative to the testsuite root.
    pub name: String,
    /// Its counts.
    pub counts: Counts,
    /// `(line, message)` of every unexpected failure (line 0: the whole file).
    pub failures: Vec<(usize, String)>,
    /// Unsupported directives per reason.
    pub unsupported: BTreeMap<String, usize>,
}

impl FileReport {
    pub(crate) fn record(&mut self, line: usize, outcome: Outcome, expected: Option<&str>) {
        match (outcome, expected) {
            (Outcome::Passed, None) => self.counts.passed += 1,
            (Outcome::Passed, Some(_)) => {
                self.counts.failed += 1;
                let msg = "passes, but is listed as an expected failure: remove it from the list";
                self.failures.push((line, msg.to_string()));
            }
            (Outcome::Failed(_), Some(_)) => self.counts.expected_failures += 1,
            (Outcome::Failed(message), None) => {
                self.counts.failed += 1;
                self.failures.push((line, message));
            }
            (Outcome::Unsupported(reason), _) => {
                self.counts.unsupported += 1;
                *self.unsupported.entry(reason).or_default() += 1;
            }
        }
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.counts)?;
        for (line, message) in &self.failures {
            write!(f, "\n    {}:{line}: {message}", self.name)?;
        }
        Ok(())
    }
}

/// The results of a whole run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Totals over all files.
    pub counts: Counts,
    /// Unsupported directives per reason, over all files.
    pub unsupported: BTreeMap<String, usize>,
    /// Every file's report, in run order.
    pub files: Vec<FileReport>,
}

impl Summary {
    /// Adds a file's report to the totals.
    pub fn add(&mut self, file: FileReport) {
        self.counts.add(&file.counts);
        for (reason, n) in &file.unsupported {
            *self.unsupported.entry(reason.clone()).or_default() += n;
        }
        self.files.push(file);
    }

    /// The closing line: `spec: N passed, N failed, N unsupported`.
    pub fn total_line(&self) -> String {
        let c = &self.counts;
        format!(
            "spec: {} passed, {} failed, {} unsupported",
            c.passed, c.failed, c.unsupported
        )
    }

    /// One line per unsupported reason, then expected failures, then [`Summary::total_line`].
    pub fn footer(&self) -> String {
        let mut out = String::new();
        for (reason, n) in &self.unsupported {
            out.push_str(&format!("unsupported: {n} need {reason}\n"));
        }
        if self.counts.expected_failures > 0 {
            let n = self.counts.expected_failures;
            out.push_str(&format!("expected failures (listed with reasons): {n}\n"));
        }
        out.push_str(&self.total_line());
        out
    }
}
