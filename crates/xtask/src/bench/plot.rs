//! SVG bar charts: per benchmark, every engine's median relative to the reference
//! engine on each workload (log scale). Kiln's bars appear once its tiers are measured.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::results::{BenchResult, Quantity};

/// One bar group: a workload and, per engine, its ratio to the reference.
#[derive(Debug, Clone)]
struct Group {
    workload: String,
    ratios: Vec<Option<f64>>,
}

/// Engines with at least one measured cell, except the reference itself.
fn plotted_engines(bench: &BenchResult) -> Vec<String> {
    bench
        .engines
        .iter()
        .filter(|e| **e != bench.reference)
        .filter(|e| {
            bench
                .cells
                .iter()
                .any(|c| &c.engine == *e && c.summary().is_some())
        })
        .cloned()
        .collect()
}

/// Ratio of `engine` to the reference: time ratio, or throughput ratio.
fn groups(bench: &BenchResult, engines: &[String]) -> Vec<Group> {
    bench
        .workloads
        .iter()
        .map(|w| Group {
            workload: w.name.clone(),
            ratios: engines
                .iter()
                .map(|e| bench.relative_to_reference(&w.name, e))
                .collect(),
        })
        .collect()
}

/// Writes the chart of `bench` to `path`.
pub fn write_svg(bench: &BenchResult, path: &Path) -> Result<(), String> {
    let engines = plotted_engines(bench);
    let groups = groups(bench, &engines);
    let values: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.ratios.iter().flatten().copied())
        .collect();
    if values.is_empty() {
        return Err(format!("{}: nothing measured to plot", bench.name));
    }
    let lo = values.iter().copied().fold(1.0_f64, f64::min) / 1.5;
    let max = values.iter().copied().fold(1.0_f64, f64::max) * 1.2;
    // Leave the top third of the (log) height free for the legend.
    let hi = max * (max / lo).sqrt();
    draw(bench, &engines, &groups, lo, hi, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Values 1, 2, 5 times powers of ten between `lo` and `hi`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 10f64.powi(lo.log10().floor() as i32);
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    out
}

fn format_tick(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn draw(
    bench: &BenchResult,
    engines: &[String],
    groups: &[Group],
    lo: f64,
    hi: f64,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let width = (160 * groups.len() as u32).max(800);
    let root = SVGBackend::new(path, (width, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let caption = if bench.quantity == Quantity::CodeSize {
        format!(
            "{}: code size relative to {} (lower is smaller)",
            bench.name, bench.reference
        )
    } else if bench.throughput {
        format!(
            "{}: throughput relative to {} (higher is faster)",
            bench.name, bench.reference
        )
    } else {
        format!(
            "{}: time relative to {} (lower is faster)",
            bench.name, bench.reference
        )
    };
    let n = groups.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(0)
        .y_labels(0)
        .y_label_formatter(&|_| String::new())
        .y_desc("ratio (log scale)")
        .draw()?;
    // plotters labels few ticks on short log ranges; draw a 1-2-5 grid with labels.
    let tick_style =
        TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for v in ticks(lo, hi) {
        chart.draw_series(LineSeries::new(
            [(-0.5, v), (n as f64 - 0.5, v)],
            BLACK.mix(0.15),
        ))?;
        let (px, py) = chart.backend_coord(&(-0.5, v));
        root.draw(&Text::new(format_tick(v), (px - 6, py), tick_style.clone()))?;
    }
    // Workload names under each group, placed in pixels below the plotting area.
    let label_style =
        TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, g) in groups.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64, lo));
        root.draw(&Text::new(
            g.workload.clone(),
            (px, py + 8),
            label_style.clone(),
        ))?;
    }
    let slot = 0.8 / engines.len().max(1) as f64;
    for (k, engine) in engines.iter().enumerate() {
        let color = Palette99::pick(k).mix(0.9);
        let bars = groups.iter().enumerate().filter_map(|(i, g)| {
            let r = g.ratios[k]?;
            let x0 = i as f64 - 0.4 + slot * k as f64;
            Some(Rectangle::new(
                [(x0, lo), (x0 + slot * 0.9, r)],
                color.filled(),
            ))
        });
        chart
            .draw_series(bars)?
            .label(engine.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart.draw_series(LineSeries::new(
        [(-0.5, 1.0), (n as f64 - 0.5, 1.0)],
        BLACK.stroke_width(1),
    ))?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_follow_one_two_five() {
        assert_eq!(ticks(0.3, 12.0), [0.5, 1.0, 2.0, 5.0, 10.0]);
        assert_eq!(format_tick(0.5), "0.5");
        assert_eq!(format_tick(20.0), "20");
    }
}
