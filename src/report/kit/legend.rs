//! Legends, their marks, and point markers.

use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Area, Chart, DErr, Dash, INK, LABEL, font, text_w};

/// A legend entry's mark.
#[derive(Clone, Debug)]
pub enum Mark {
    /// A line in a colour and pattern.
    Line(RGBColor, Dash),
    /// A filled box with an outline.
    Swatch(RGBColor, RGBColor),
    /// A filled dot.
    Dot(RGBColor),
    /// A line with a marker on it.
    LineMarker(RGBColor, Dash, Shape),
    /// A hollow dot: a white disc ringed in a colour.
    Hollow(RGBColor),
    /// A dot with a wide ring around it (the verdict's pick).
    Ringed(RGBColor),
}

/// A point marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Triangle,
    Square,
    Diamond,
}

impl Shape {
    /// The `k`-th shape.
    pub fn nth(k: usize) -> Shape {
        [
            Shape::Circle,
            Shape::Triangle,
            Shape::Square,
            Shape::Diamond,
        ][k % 4]
    }
}

/// Draws markers of `shape` at data points.
pub fn markers(
    c: &mut Chart,
    pts: &[(f64, f64)],
    shape: Shape,
    color: RGBColor,
) -> std::result::Result<(), DErr> {
    let st = color.filled();
    match shape {
        Shape::Circle => {
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 4, st)))?;
        }
        Shape::Triangle => {
            c.draw_series(pts.iter().map(|p| TriangleMarker::new(*p, 6, st)))?;
        }
        Shape::Square => {
            c.draw_series(
                pts.iter()
                    .map(|p| EmptyElement::at(*p) + Rectangle::new([(-4, -4), (4, 4)], st)),
            )?;
        }
        Shape::Diamond => {
            c.draw_series(pts.iter().map(|p| {
                EmptyElement::at(*p) + Polygon::new(vec![(0, -6), (6, 0), (0, 6), (-6, 0)], st)
            }))?;
        }
    }
    Ok(())
}

/// The width a legend with these labels needs.
pub fn legend_width(labels: &[String]) -> i32 {
    labels.iter().map(|l| text_w(l, LABEL)).max().unwrap_or(0) + 50
}

/// Draws a vertical legend at `(x, y)` (pixels) in `area`, one entry per row.
pub fn legend(
    area: &Area,
    x: i32,
    y: i32,
    entries: &[(String, Mark)],
) -> std::result::Result<(), DErr> {
    let row = 22;
    for (k, (label, mark)) in entries.iter().enumerate() {
        let cy = y + k as i32 * row + 9;
        draw_mark(area, x, cy, mark)?;
        area.draw_text(
            label,
            &font(LABEL).pos(Pos::new(HPos::Left, VPos::Center)),
            (x + 36, cy),
        )?;
    }
    Ok(())
}

/// `entries` broken into rows of side-by-side entries no wider than `width` pixels (as
/// [`legend_row`] draws them); an entry wider than `width` gets a row of its own.
pub fn legend_lines(entries: &[(String, Mark)], width: i32) -> Vec<&[(String, Mark)]> {
    let mut rows = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (k, (label, _)) in entries.iter().enumerate() {
        let w = 36 + text_w(label, LABEL);
        if k > start && used + w > width {
            rows.push(&entries[start..k]);
            (start, used) = (k, 0);
        }
        used += w + 22;
    }
    if start < entries.len() {
        rows.push(&entries[start..]);
    }
    rows
}

/// Draws a horizontal legend (entries side by side) at `(x, y)`; returns its width.
pub fn legend_row(
    area: &Area,
    x: i32,
    y: i32,
    entries: &[(String, Mark)],
) -> std::result::Result<i32, DErr> {
    let mut cx = x;
    for (label, mark) in entries {
        draw_mark(area, cx, y + 9, mark)?;
        area.draw_text(
            label,
            &font(LABEL).pos(Pos::new(HPos::Left, VPos::Center)),
            (cx + 36, y + 9),
        )?;
        cx += 36 + text_w(label, LABEL) + 22;
    }
    Ok(cx - x)
}

fn draw_mark(area: &Area, x: i32, cy: i32, mark: &Mark) -> std::result::Result<(), DErr> {
    match mark {
        Mark::Line(c, Dash::Solid) => {
            area.draw(&PathElement::new(
                vec![(x, cy), (x + 28, cy)],
                c.stroke_width(3),
            ))?;
        }
        Mark::Line(c, d) => {
            let (a, b) = if *d == Dash::Dashed { (9, 5) } else { (2, 4) };
            area.draw(&DashedPathElement::new(
                vec![(x, cy), (x + 28, cy)],
                a,
                b,
                c.stroke_width(3),
            ))?;
        }
        Mark::Swatch(fill, stroke) => {
            area.draw(&Rectangle::new(
                [(x + 4, cy - 7), (x + 24, cy + 7)],
                fill.filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(x + 4, cy - 7), (x + 24, cy + 7)],
                stroke.stroke_width(1),
            ))?;
        }
        Mark::Dot(c) => {
            area.draw(&Circle::new((x + 14, cy), 6, c.filled()))?;
            area.draw(&Circle::new((x + 14, cy), 6, INK.stroke_width(1)))?;
        }
        Mark::Hollow(c) => {
            area.draw(&Circle::new((x + 14, cy), 6, WHITE.filled()))?;
            area.draw(&Circle::new((x + 14, cy), 6, c.stroke_width(2)))?;
        }
        Mark::Ringed(c) => {
            area.draw(&Circle::new((x + 14, cy), 6, c.filled()))?;
            area.draw(&Circle::new((x + 14, cy), 6, INK.stroke_width(1)))?;
            area.draw(&Circle::new((x + 14, cy), 10, INK.stroke_width(2)))?;
        }
        Mark::LineMarker(c, d, shape) => {
            draw_mark(area, x, cy, &Mark::Line(*c, *d))?;
            let p = (x + 14, cy);
            let st = c.filled();
            match shape {
                Shape::Circle => area.draw(&Circle::new(p, 4, st))?,
                Shape::Triangle => area.draw(&TriangleMarker::new(p, 6, st))?,
                Shape::Square => area.draw(&Rectangle::new(
                    [(p.0 - 4, p.1 - 4), (p.0 + 4, p.1 + 4)],
                    st,
                ))?,
                Shape::Diamond => area.draw(&Polygon::new(
                    vec![
                        (p.0, p.1 - 6),
                        (p.0 + 6, p.1),
                        (p.0, p.1 + 6),
                        (p.0 - 6, p.1),
                    ],
                    st,
                ))?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legend wider than the chart breaks into rows that each fit (it was clipped).
    #[test]
    fn legend_lines_fit_the_width() {
        let entries: Vec<(String, Mark)> = [
            "flat",
            "load-curve",
            "meets every SLO",
            "misses an SLO",
            "verdict",
        ]
        .iter()
        .map(|l| (l.to_string(), Mark::Dot(INK)))
        .collect();
        let width = |row: &[(String, Mark)]| -> i32 {
            row.iter()
                .map(|(l, _)| 36 + text_w(l, LABEL) + 22)
                .sum::<i32>()
                - 22
        };
        let one = legend_lines(&entries, 10_000);
        assert_eq!(one.len(), 1);
        let total = width(one[0]);
        let rows = legend_lines(&entries, total - 1);
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| width(r) < total));
        assert_eq!(rows.iter().map(|r| r.len()).sum::<usize>(), entries.len());
        // An entry wider than the width still gets a row.
        assert_eq!(legend_lines(&entries, 10).len(), entries.len());
    }
}
