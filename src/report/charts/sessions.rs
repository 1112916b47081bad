//! How long a user's session takes: a horizontal box per variant.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, quantile, row_label_width, variant_rows_chart, with_headroom};
use crate::error::Result;
use crate::report::kit::{self, Axis, SMALL, W, font, render, text_w, tint, titled, vstyle};
use crate::report::load::Run;
use crate::words::num_secs;
use crate::words::run::has_sessions;

/// Session duration distribution per variant: a horizontal box per variant.
pub fn session_boxes(run: &Run) -> Result<Figure> {
    let title = "How long a user's session takes, per variant";
    let n = run.summary.variants.len();
    let h = 150 + 40 * n as u32;
    let ylw = row_label_width(run);
    let plot_px = W as i32 - ylw - 40;
    let data_hi = run
        .summary
        .variants
        .iter()
        .filter(|v| has_sessions(v))
        .map(|v| v.sessions.duration_ms.max.max(v.sessions.duration_ms.p95) / 1e3)
        .fold(0.0, f64::max);
    let label_px = text_w("p95 0000 s", SMALL) + 14;
    let x = Axis::linear(0.0, with_headroom(data_hi.max(1.0), plot_px, label_px), 8);
    let svg = render(W, h, title, |root| {
        let area = titled(
            root,
            title,
            Some(
                "Box: middle half of completed sessions (p25 to p75); bar: median; whiskers: p5 to p95; dot: longest.",
            ),
        )?;
        let mut c = variant_rows_chart(
            &area,
            run,
            x.clone(),
            ylw,
            "session duration, seconds (first request to last answer)",
        )?;
        for (i, v) in run.summary.variants.iter().enumerate() {
            let y = Axis::row(n, i);
            let s = vstyle(i);
            if !has_sessions(v) {
                c.draw_series(std::iter::once(Text::new(
                    "no session completed",
                    (0.0, y),
                    font(SMALL)
                        .color(&kit::MUTED)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )))?;
                continue;
            }
            let q = |p: f64, fallback: f64| {
                quantile(&v.distributions.session_duration_ms, p).unwrap_or(fallback) / 1e3
            };
            let (p5, p25, p50, p75, p95, max) = (
                q(0.05, v.sessions.duration_ms.p50),
                q(0.25, v.sessions.duration_ms.p50),
                v.sessions.duration_ms.p50 / 1e3,
                q(0.75, v.sessions.duration_ms.p90),
                v.sessions.duration_ms.p95 / 1e3,
                v.sessions.duration_ms.max / 1e3,
            );
            let hb = 0.28;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(p5, y), (p95, y)],
                s.color.stroke_width(2),
            )))?;
            for e in [p5, p95] {
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(e, y - hb * 0.6), (e, y + hb * 0.6)],
                    s.color.stroke_width(2),
                )))?;
            }
            c.draw_series(std::iter::once(Rectangle::new(
                [(p25, y - hb), (p75, y + hb)],
                tint(s.color, 0.55).filled(),
            )))?;
            c.draw_series(std::iter::once(Rectangle::new(
                [(p25, y - hb), (p75, y + hb)],
                s.color.stroke_width(2),
            )))?;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(p50, y - hb), (p50, y + hb)],
                kit::INK.stroke_width(3),
            )))?;
            c.draw_series(std::iter::once(Circle::new(
                (max, y),
                4,
                s.color.stroke_width(2),
            )))?;
            // The p95 label right of the whisker, or right of the longest-session dot when
            // that dot would sit under it.
            let label = format!("p95 {} s", num_secs(p95));
            let (wx, _) = c.backend_coord(&(p95, y));
            let (mx, _) = c.backend_coord(&(max, y));
            let lw = text_w(&label, SMALL);
            let dx = if mx >= wx + 2 && mx <= wx + 10 + lw + 6 {
                mx - wx + 10
            } else {
                10
            };
            c.draw_series(std::iter::once(
                EmptyElement::at((p95, y))
                    + Text::new(
                        label,
                        (dx, 0),
                        font(SMALL).pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))?;
        }
        Ok(())
    })?;
    Ok(Figure {
        id: "session-durations".into(),
        title: title.into(),
        svg,
        caption: "One row per variant, over completed sessions only (a session is one user's \
            whole flow, think time included). Shorter and narrower is better. Sessions that \
            were abandoned after a failed request are counted in the failure chart instead."
            .into(),
    })
}
