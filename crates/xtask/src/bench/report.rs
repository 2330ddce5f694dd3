//! Markdown tables of a run and of the change against an earlier run.

use std::fmt::Write;

use super::results::{BenchResult, Quantity, Run, Status, Workload};
use super::stats::{NOISY_SPREAD, geomean};

/// Marker appended to a noisy median.
const NOISY: &str = " ⚠";

/// The whole report: header, then one section per benchmark.
pub fn markdown(run: &Run) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Kiln benchmarks, {}{}\n",
        run.date,
        if run.quick { " (quick)" } else { "" }
    );
    for (key, value) in &run.environment {
        let _ = writeln!(out, "- {key}: {value}");
    }
    let _ = writeln!(out);
    out.push_str(&summary_table(run));
    for bench in &run.benches {
        out.push_str(&bench_markdown(bench));
    }
    out
}

/// One line per (benchmark, engine): geometric mean over the workloads of the
/// engine's median relative to the benchmark's reference engine, and how many of its
/// cells are noisy or not measured.
fn summary_table(run: &Run) -> String {
    let mut out = String::from(
        "## Summary\n\nGeometric mean over workloads of each engine's median relative to the \
         benchmark's reference engine (time ratio, throughput ratio for decode, code size ratio \
         for codesize).\n\n\
         | benchmark | engine | geomean vs reference | noisy cells | not measured |\n\
         |---|---|---:|---:|---|\n",
    );
    for bench in &run.benches {
        for engine in &bench.engines {
            let cells: Vec<_> = bench.cells.iter().filter(|c| &c.engine == engine).collect();
            let ratios: Vec<f64> = bench
                .workloads
                .iter()
                .filter_map(|w| bench.relative_to_reference(&w.name, engine))
                .collect();
            let noisy = cells
                .iter()
                .filter(|c| c.summary().is_some_and(|s| s.is_noisy()))
                .count();
            let unmeasured =
                cells
                    .iter()
                    .find(|c| c.status != Status::Ok)
                    .map_or(String::new(), |c| {
                        let status = match c.status {
                            Status::NotImplemented => "not yet implemented",
                            Status::Missing => "missing",
                            Status::Failed | Status::Ok => "FAILED",
                        };
                        format!("{status}: {}", escape(c.note.as_deref().unwrap_or("")))
                    });
            let _ = writeln!(
                out,
                "| {} | {engine} | {} | {noisy} | {unmeasured} |",
                bench.name,
                geomean(&ratios).map_or("n/a".into(), |g| format!("{g:.2} × {}", bench.reference)),
            );
        }
    }
    let _ = writeln!(out);
    out
}

/// One benchmark's section: results, Kiln/peer ratios, tier checks, errors.
pub fn bench_markdown(bench: &BenchResult) -> String {
    let mut out = String::new();
    let unit = if bench.throughput {
        "MB/s, higher is better"
    } else {
        "ms, lower is better"
    };
    let _ = writeln!(out, "## {}\n", bench.name);
    if bench.quantity == Quantity::CodeSize {
        let _ = writeln!(
            out,
            "{} Cells: bytes of machine code per byte of wasm function bodies (lower is \
             smaller), with the total machine code in parentheses.\n",
            bench.measures
        );
    } else {
        let _ = writeln!(
            out,
            "{} Cells: median [min–max] in {unit}; ⚠ marks a spread (max−min)/median above {:.0}%.\n",
            bench.measures,
            NOISY_SPREAD * 100.0
        );
    }
    out.push_str(&results_table(bench));
    out.push_str(&ratio_table(bench));
    out.push_str(&tier_table(bench));
    for note in &bench.notes {
        let _ = writeln!(out, "{note}\n");
    }
    if !bench.errors.is_empty() {
        let _ = writeln!(out, "**Errors:**\n");
        for e in &bench.errors {
            let _ = writeln!(out, "- {e}");
        }
        let _ = writeln!(out);
    }
    out
}

fn header(first: &str, workloads: &[Workload], last: Option<&str>) -> String {
    let mut line = format!("| {first} |");
    let mut rule = String::from("|---|");
    for w in workloads {
        match w.body_bytes {
            Some(body) => {
                let _ = write!(
                    line,
                    " {} ({}, bodies {}) |",
                    w.name,
                    size_text(w.bytes),
                    code_size_text(body)
                );
            }
            None => {
                let _ = write!(line, " {} ({}) |", w.name, size_text(w.bytes));
            }
        }
        rule.push_str("---:|");
    }
    if let Some(last) = last {
        let _ = write!(line, " {last} |");
        rule.push_str("---:|");
    }
    format!("{line}\n{rule}\n")
}

fn results_table(bench: &BenchResult) -> String {
    let mut out = header("engine", &bench.workloads, None);
    for engine in &bench.engines {
        let cells: Vec<String> = bench
            .workloads
            .iter()
            .map(|w| cell_text(bench, w, engine))
            .collect();
        let _ = writeln!(
            out,
            "| {engine} | {} |",
            collapse_repeated(cells).join(" | ")
        );
    }
    let _ = writeln!(out);
    out
}

/// A row that says "not yet implemented", "missing" or "FAILED" with the same reason
/// throughout says so once.
fn collapse_repeated(cells: Vec<String>) -> Vec<String> {
    let first = cells.first().cloned().unwrap_or_default();
    let is_status = ["not yet implemented", "missing", "FAILED"]
        .iter()
        .any(|p| first.starts_with(p));
    if is_status && cells.iter().all(|c| *c == first) {
        let mut out = vec!["—".to_string(); cells.len()];
        out[0] = first;
        out
    } else {
        cells
    }
}

fn cell_text(bench: &BenchResult, workload: &Workload, engine: &str) -> String {
    let Some(cell) = bench.cell(&workload.name, engine) else {
        return "—".into();
    };
    match cell.status {
        Status::NotImplemented => format!(
            "not yet implemented: {}",
            cell.note.as_deref().unwrap_or("tier")
        ),
        Status::Missing => format!("missing: {}", cell.note.as_deref().unwrap_or("")),
        Status::Failed => format!("FAILED: {}", escape(cell.note.as_deref().unwrap_or(""))),
        Status::Ok => match cell.summary() {
            Some(s) if bench.quantity == Quantity::CodeSize => format!(
                "{:.2} ({})",
                s.median,
                cell.code_bytes.map_or("?".into(), code_size_text)
            ),
            Some(s) => {
                let v = |ms| format_value(bench.display_value(workload, ms));
                // For throughput the fastest sample is the largest value.
                let (lo, hi) = if bench.throughput {
                    (s.max, s.min)
                } else {
                    (s.min, s.max)
                };
                let tier = match &cell.tier {
                    Some(t) if engine.ends_with("default") => format!(" ({t})"),
                    _ => String::new(),
                };
                let noisy = if s.is_noisy() { NOISY } else { "" };
                format!("{} [{}–{}]{noisy}{tier}", v(s.median), v(lo), v(hi))
            }
            None => "no samples".into(),
        },
    }
}

fn ratio_table(bench: &BenchResult) -> String {
    let what = if bench.quantity == Quantity::CodeSize {
        "code size Kiln / peer (below 1: Kiln's code smaller)"
    } else if bench.throughput {
        "throughput Kiln / peer (above 1: Kiln faster)"
    } else {
        "time Kiln / peer (below 1: Kiln faster)"
    };
    let mut out = format!("Ratios, {what}:\n\n");
    out.push_str(&header("Kiln / peer", &bench.workloads, Some("geomean")));
    for (kiln, peer) in &bench.comparisons {
        let _ = writeln!(
            out,
            "| {kiln} / {peer} | {} |",
            ratio_cells(bench, kiln, peer).join(" | ")
        );
    }
    let _ = writeln!(out);
    out
}

fn ratio_cells(bench: &BenchResult, kiln: &str, peer: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut ratios = Vec::new();
    for w in &bench.workloads {
        let kiln_cell = bench.cell(&w.name, kiln);
        if let Some(c) = kiln_cell.filter(|c| c.status == Status::NotImplemented) {
            cells.push(format!(
                "not yet implemented: {}",
                c.note.as_deref().unwrap_or("tier")
            ));
            continue;
        }
        match bench.ratio(&w.name, kiln, peer) {
            Some(r) => {
                ratios.push(r);
                cells.push(format!("{r:.2}"));
            }
            None => cells.push("n/a".into()),
        }
    }
    cells.push(geomean(&ratios).map_or("n/a".into(), |g| format!("**{g:.2}**")));
    let (last, rest) = cells.split_last().expect("geomean cell");
    let mut out = collapse_repeated(rest.to_vec());
    out.push(last.clone());
    out
}

fn tier_table(bench: &BenchResult) -> String {
    if bench.tier_checks.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "Tier checks (run before measuring):\n\n| engine | expected | observed | ok | version |\n|---|---|---|---|---|\n",
    );
    for t in &bench.tier_checks {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            t.engine,
            t.expected.as_deref().unwrap_or("any"),
            escape(&t.observed),
            if t.ok { "yes" } else { "**NO**" },
            t.engine_version.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(out);
    out
}

/// The change of every median against an earlier run.
pub fn compare_markdown(old: &Run, new: &Run) -> String {
    let mut out = format!("# Change against the run of {}\n\n", old.date);
    for bench in &new.benches {
        let Some(before) = old.benches.iter().find(|b| b.name == bench.name) else {
            continue;
        };
        let unit = if bench.quantity == Quantity::CodeSize {
            "bytes of code per byte of wasm; a negative change is smaller code"
        } else if bench.throughput {
            "MB/s; a positive change is faster"
        } else {
            "ms; a negative change is faster"
        };
        let _ = writeln!(out, "## {}\n\nMedians in {unit}.\n", bench.name);
        out.push_str("| workload | engine | before | now | change |\n|---|---|---:|---:|---:|\n");
        for w in &bench.workloads {
            for engine in &bench.engines {
                let now = bench.cell(&w.name, engine).and_then(|c| c.summary());
                let then = before.cell(&w.name, engine).and_then(|c| c.summary());
                if let (Some(now), Some(then)) = (now, then) {
                    let a = bench.display_value(w, then.median);
                    let b = bench.display_value(w, now.median);
                    let _ = writeln!(
                        out,
                        "| {} | {engine} | {} | {} | {:+.1}% |",
                        w.name,
                        format_value(a),
                        format_value(b),
                        (b / a - 1.0) * 100.0
                    );
                }
            }
        }
        let _ = writeln!(out);
    }
    out
}

/// Three significant digits, without exponent for the ranges seen here.
pub fn format_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A byte count as KiB or MiB.
pub fn size_text(bytes: u64) -> String {
    if bytes == 0 {
        String::from("-")
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.0} KiB", (bytes as f64 / 1024.0).max(1.0))
    }
}

/// A code size: exact bytes below 10 KiB (kernels), else as [`size_text`].
fn code_size_text(bytes: u64) -> String {
    if bytes < 10 * 1024 {
        format!("{bytes} B")
    } else {
        size_text(bytes)
    }
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_three_digits() {
        assert_eq!(format_value(1234.4), "1234");
        assert_eq!(format_value(12.34), "12.3");
        assert_eq!(format_value(0.1234), "0.123");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size_text(137_960), "135 KiB");
        assert_eq!(size_text(18_021_247), "17.2 MiB");
    }

    fn sample_run(kiln_ms: f64) -> Run {
        use super::super::results::{BenchResult, Cell};
        let mut cells = Vec::new();
        for (engine, ms) in [("kiln-opt", kiln_ms), ("node-turbofan", 10.0)] {
            let mut c = Cell::new("fib", engine, Status::Ok, None);
            c.samples_ms = vec![ms, ms * 1.01, ms * 0.99];
            cells.push(c);
        }
        Run {
            date: "then".into(),
            quick: true,
            environment: Default::default(),
            benches: vec![BenchResult {
                name: "run".into(),
                measures: String::new(),
                throughput: false,
                quantity: Default::default(),
                reference: "node-turbofan".into(),
                workloads: vec![Workload {
                    name: "fib".into(),
                    bytes: 300,
                    detail: String::new(),
                    body_bytes: None,
                }],
                engines: vec!["node-turbofan".into(), "kiln-opt".into()],
                comparisons: vec![("kiln-opt".into(), "node-turbofan".into())],
                cells,
                tier_checks: Vec::new(),
                errors: Vec::new(),
                notes: Vec::new(),
            }],
        }
    }

    #[test]
    fn ratios_and_geomean_appear() {
        let md = markdown(&sample_run(20.0));
        assert!(
            md.contains("| kiln-opt / node-turbofan | 2.00 | **2.00** |"),
            "{md}"
        );
    }

    #[test]
    fn compare_shows_change() {
        let md = compare_markdown(&sample_run(20.0), &sample_run(15.0));
        assert!(
            md.contains("| fib | kiln-opt | 20.0 | 15.0 | -25.0% |"),
            "{md}"
        );
    }

    #[test]
    fn code_size_cells_show_ratio_and_bytes() {
        let mut run = sample_run(20.0);
        let bench = &mut run.benches[0];
        bench.quantity = Quantity::CodeSize;
        for c in &mut bench.cells {
            c.samples_ms = vec![if c.engine == "kiln-opt" { 2.5 } else { 2.0 }];
            c.code_bytes = Some(if c.engine == "kiln-opt" { 750 } else { 600 });
        }
        let md = bench_markdown(bench);
        assert!(md.contains("| kiln-opt | 2.50 (750 B) |"), "{md}");
        assert!(
            md.contains("| kiln-opt / node-turbofan | 1.25 | **1.25** |"),
            "{md}"
        );
        assert!(md.contains("Kiln's code smaller"), "{md}");
        assert_eq!(code_size_text(320 * 1024), "320 KiB");
    }

    #[test]
    fn not_implemented_rows_say_so_once() {
        let row = vec!["not yet implemented: tier opt".to_string(); 3];
        let out = collapse_repeated(row);
        assert_eq!(out, ["not yet implemented: tier opt", "—", "—"]);
    }
}
