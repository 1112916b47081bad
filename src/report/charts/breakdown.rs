//! Where session time goes: one stacked horizontal bar per variant, the mean time per
//! completed session split into thinking, waiting for quota or a retry, queued for a slot,
//! time to first token and generating (the summary's `sessions.time_breakdown_ms`).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, row_label_width, variant_rows_chart, with_headroom};
use crate::error::Result;
use crate::report::kit::{Axis, Mark, SMALL, W, font, legend_row, render, text_w, titled};
use crate::report::load::Run;
use crate::words::breakdown::{PARTS, parts};
use crate::words::fmt_secs;

/// The fill of each part (not variant colours: the rows name the variants). Waiting, the
/// part a capacity fix removes, is the strongest.
const FILLS: [RGBColor; 5] = [
    RGBColor(0xDD, 0xDD, 0xDD),
    RGBColor(0xCC, 0x33, 0x11),
    RGBColor(0xEE, 0x99, 0x33),
    RGBColor(0x99, 0xBB, 0xDD),
    RGBColor(0x33, 0x66, 0x99),
];

/// The stacked bars, or `None` when no variant's summary has a breakdown (summaries written
/// before it existed, or runs where no session completed).
pub fn time_breakdown(run: &Run) -> Result<Option<Figure>> {
    let vs = &run.summary.variants;
    let all: Vec<Option<[f64; 5]>> = vs.iter().map(parts).collect();
    if all.iter().all(Option::is_none) {
        return Ok(None);
    }
    let title = "Where session time goes, per variant";
    let n = vs.len();
    let h = 170 + 40 * n as u32;
    let ylw = row_label_width(run);
    let plot_px = W as i32 - ylw - 40;
    let labels: Vec<String> = all
        .iter()
        .map(|p| match p {
            Some(p) => fmt_secs(p.iter().sum()),
            None => "n/a".into(),
        })
        .collect();
    let label_px = labels.iter().map(|l| text_w(l, SMALL)).max().unwrap_or(0) + 16;
    let hi = all
        .iter()
        .flatten()
        .map(|p| p.iter().sum::<f64>() / 1e3)
        .fold(0.0, f64::max);
    let x = Axis::linear(
        0.0,
        with_headroom(if hi > 0.0 { hi } else { 1.0 }, plot_px, label_px),
        8,
    );
    let svg = render(W, h, title, |root| {
        let area = titled(
            root,
            title,
            Some("Mean seconds per completed session, split by what the session was doing."),
        )?;
        let legend: Vec<(String, Mark)> = PARTS
            .iter()
            .zip(FILLS)
            .map(|((_, words), c)| {
                (
                    words.to_string(),
                    Mark::Swatch(c, RGBColor(0x55, 0x55, 0x55)),
                )
            })
            .collect();
        legend_row(&area, 14, 0, &legend)?;
        let area = area.split_vertically(30).1;
        let mut c =
            variant_rows_chart(&area, run, x.clone(), ylw, "seconds per completed session")?;
        for (i, p) in all.iter().enumerate() {
            let y = Axis::row(n, i);
            let mut x0 = 0.0;
            if let Some(p) = p {
                for (ms, fill) in p.iter().zip(FILLS) {
                    let x1 = x0 + ms / 1e3;
                    if x1 > x0 {
                        c.draw_series(std::iter::once(Rectangle::new(
                            [(x0, y - 0.3), (x1, y + 0.3)],
                            fill.filled(),
                        )))?;
                    }
                    x0 = x1;
                }
            }
            c.draw_series(std::iter::once(
                EmptyElement::at((x0, y))
                    + Text::new(
                        labels[i].clone(),
                        (8, 0),
                        font(SMALL).pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))?;
        }
        Ok(())
    })?;
    Ok(Some(Figure {
        id: "time-breakdown".into(),
        title: title.into(),
        svg,
        caption: "Thinking is the users' own pause between steps; waiting is time before the \
            attempt that answered was admitted (429s and their Retry-After, backoff, failed \
            attempts); queued is time admitted but waiting for a concurrency slot; then the \
            time to the first token and the decoding. The parts add up to the mean session \
            duration. A session time SLO that fails on thinking is not a capacity problem."
            .into(),
    }))
}
