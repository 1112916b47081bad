//! Failed requests by cause: stacked horizontal bars per variant.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, row_label_width, variant_rows_chart, with_headroom};
use crate::error::Result;
use crate::report::kit::{
    Axis, Mark, SMALL, W, font, legend_row, render, text_w, tint, titled, vstyle,
};
use crate::report::load::Run;
use crate::words::fmt_ratio;

/// Failed requests by cause per variant: stacked horizontal bars.
pub fn failures(run: &Run) -> Result<Figure> {
    let title = "Failed requests by cause, per variant";
    let n = run.summary.variants.len();
    let h = 170 + 40 * n as u32;
    let ylw = row_label_width(run);
    let plot_px = W as i32 - ylw - 40;
    let labels: Vec<String> = run
        .summary
        .variants
        .iter()
        .map(|v| {
            if v.requests.failed == 0 {
                "none failed".to_string()
            } else {
                format!(
                    "{} ({} of {})",
                    fmt_ratio(v.requests.failed_ratio),
                    v.requests.failed,
                    v.requests.sent
                )
            }
        })
        .collect();
    let label_px = labels.iter().map(|l| text_w(l, SMALL)).max().unwrap_or(0) + 16;
    let data_hi = run
        .summary
        .variants
        .iter()
        .map(|v| v.requests.failed_ratio * 100.0)
        .fold(0.0, f64::max);
    let x = Axis::linear(
        0.0,
        with_headroom(if data_hi > 0.0 { data_hi } else { 1.0 }, plot_px, label_px),
        8,
    );
    let svg = render(W, h, title, |root| {
        let area = titled(
            root,
            title,
            Some(
                "Share of requests sent that failed after the client gave up, split by the last error.",
            ),
        )?;
        let grey = RGBColor(0x55, 0x55, 0x55);
        legend_row(
            &area,
            ylw,
            0,
            &[
                ("rate-limited (429)".into(), Mark::Swatch(grey, grey)),
                (
                    "timed out (408 or client timeout)".into(),
                    Mark::Swatch(tint(grey, 0.6), grey),
                ),
                ("other".into(), Mark::Swatch(WHITE, grey)),
            ],
        )?;
        let area = area.split_vertically(30).1;
        let mut c = variant_rows_chart(&area, run, x.clone(), ylw, "% of requests sent")?;
        for (i, v) in run.summary.variants.iter().enumerate() {
            let y = Axis::row(n, i);
            let s = vstyle(i);
            let pct = |k: u64| {
                if v.requests.sent > 0 {
                    k as f64 / v.requests.sent as f64 * 100.0
                } else {
                    0.0
                }
            };
            let hb = 0.3;
            let mut x0 = 0.0;
            for (k, fill) in [
                (v.requests.rate_limited, s.color),
                (v.requests.timed_out, tint(s.color, 0.6)),
                (v.requests.other_failed, WHITE),
            ] {
                if k == 0 {
                    continue;
                }
                let x1 = x0 + pct(k);
                c.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y - hb), (x1, y + hb)],
                    fill.filled(),
                )))?;
                c.draw_series(std::iter::once(Rectangle::new(
                    [(x0, y - hb), (x1, y + hb)],
                    s.color.stroke_width(2),
                )))?;
                x0 = x1;
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
    Ok(Figure {
        id: "failures".into(),
        title: title.into(),
        svg,
        caption: "A request fails when the client gives up: its retries ran out on 429s \
            (rate-limited), it hit the 60 s completion window (408) or the SDK's timeout \
            (timed out), or another error. Bar labels give the failed share and count. \
            Retried attempts that later succeeded are not failures; they show as 429s in the \
            time series."
            .into(),
    })
}
