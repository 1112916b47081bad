//! The charting kit shared by every chart: palette, fonts, axes with exact ticks, legends,
//! label placement, and the SVG wrapper. Charts are drawn with plotters' SVG backend into a
//! string; text is measured with plotters' built-in estimate (no font files are read), and the
//! browser renders it with the page's font.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::words::esc;
use crate::error::{Error, Result};

/// Width of every chart, in SVG pixels (it scales to the page width).
pub const W: u32 = 960;

/// Font sizes (plotters' size; the SVG font size is this / 1.24).
pub const TITLE: f64 = 22.0;
pub const LABEL: f64 = 17.0;
pub const SMALL: f64 = 15.5;

/// Text and line colours that never stand for a variant.
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
pub const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
pub const AXIS: RGBColor = RGBColor(0x88, 0x88, 0x88);

/// Paul Tol's "muted" qualitative palette: nine colours distinguishable with the common
/// colour-vision deficiencies. Variant `i` gets colour `i % 9`; past nine, lines turn dashed,
/// then dotted.
pub const PALETTE: [RGBColor; 9] = [
    RGBColor(0x33, 0x22, 0x88), // indigo
    RGBColor(0xCC, 0x66, 0x77), // rose
    RGBColor(0x11, 0x77, 0x33), // green
    RGBColor(0xDD, 0xCC, 0x77), // sand
    RGBColor(0x88, 0xCC, 0xEE), // cyan
    RGBColor(0x88, 0x22, 0x55), // wine
    RGBColor(0x44, 0xAA, 0x99), // teal
    RGBColor(0x99, 0x99, 0x33), // olive
    RGBColor(0xAA, 0x44, 0x99), // purple
];

/// Line pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    /// CSS `border-style` for HTML swatches.
    pub fn css(self) -> &'static str {
        match self {
            Dash::Solid => "solid",
            Dash::Dashed => "dashed",
            Dash::Dotted => "dotted",
        }
    }
}

/// How variant `i` is drawn, everywhere.
#[derive(Clone, Copy, Debug)]
pub struct VStyle {
    pub color: RGBColor,
    pub dash: Dash,
}

/// The style of the `i`-th variant.
pub fn vstyle(i: usize) -> VStyle {
    VStyle {
        color: PALETTE[i % PALETTE.len()],
        dash: match (i / PALETTE.len()) % 3 {
            0 => Dash::Solid,
            1 => Dash::Dashed,
            _ => Dash::Dotted,
        },
    }
}

/// `#rrggbb`.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// `c` mixed with white: `amount` 0 = `c`, 1 = white.
pub fn tint(c: RGBColor, amount: f64) -> RGBColor {
    let m = |x: u8| (x as f64 + (255.0 - x as f64) * amount).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

/// A text style.
pub fn font(size: f64) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&INK)
}

/// A bold text style.
pub fn bold(size: f64) -> TextStyle<'static> {
    ("sans-serif", size)
        .into_font()
        .style(FontStyle::Bold)
        .color(&INK)
}

/// Estimated width in pixels of `text` at plotters size `size` (average glyph of a sans font).
pub fn text_w(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size / 1.24 * 0.56).ceil() as i32
}

/// The drawing area type of every chart.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// Drawing errors.
pub type DErr = DrawingAreaErrorKind<std::io::Error>;
/// A chart with exact-tick axes.
pub type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;

/// Draws a `w` x `h` chart and returns the `<svg>` element, sized by its viewBox so that it
/// scales with the page, labelled with `title` for screen readers.
pub fn render(
    w: u32,
    h: u32,
    title: &str,
    draw: impl FnOnce(&Area) -> std::result::Result<(), DErr>,
) -> Result<String> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
        let res = root
            .fill(&WHITE)
            .and_then(|_| draw(&root))
            .and_then(|_| root.present());
        res.map_err(|e| Error::Usage(format!("drawing chart '{title}': {e}")))?;
    }
    let head = format!("<svg width=\"{w}\" height=\"{h}\" ");
    let body = s.strip_prefix(&head).unwrap_or(&s);
    let body = body.strip_prefix("<svg ").unwrap_or(body);
    Ok(format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" {}",
        esc(title),
        body.trim_end()
    ))
}

/// Writes a bold title (and an optional one-line subtitle) at the top left of `area`; returns
/// the area below it.
pub fn titled<'a>(
    area: &Area<'a>,
    title: &str,
    sub: Option<&str>,
) -> std::result::Result<Area<'a>, DErr> {
    let top = Pos::new(HPos::Left, VPos::Top);
    area.draw_text(title, &bold(TITLE).pos(top), (14, 10))?;
    let mut h = 42;
    if let Some(sub) = sub {
        area.draw_text(sub, &font(SMALL).color(&MUTED).pos(top), (14, 38))?;
        h = 62;
    }
    Ok(area.split_vertically(h).1)
}

/// A one-dimensional axis with ticks where we want them (plotters' own choice of ticks is
/// not used), linear or base-10 logarithmic. Values outside the range are clamped to its edge.
#[derive(Clone, Debug)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    pub ticks: Vec<f64>,
}

impl Axis {
    /// A linear axis from `lo` to at least `hi` with about `n` round ticks.
    pub fn linear(lo: f64, hi: f64, n: usize) -> Axis {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
        let raw = (hi - lo) / n.max(1) as f64;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw * 0.999)
            .unwrap_or(10.0 * mag);
        let a = (lo / step).floor() * step;
        let b = (hi / step - 1e-9).ceil() * step;
        let count = ((b - a) / step).round() as usize;
        let ticks = (0..=count).map(|k| clean(a + k as f64 * step)).collect();
        Axis {
            lo: a,
            hi: b,
            log: false,
            ticks,
        }
    }

    /// A log axis from exactly `lo` to `hi`, ticks at the round values inside.
    pub fn log_fit(lo: f64, hi: f64) -> Axis {
        let mut a = Axis::log(lo, hi);
        a.lo = lo;
        a.hi = hi;
        a.ticks.retain(|t| *t >= lo && *t <= hi);
        if a.ticks.len() < 3 {
            let k0 = lo.log10().floor() as i32;
            let k1 = hi.log10().ceil() as i32;
            a.ticks = (k0..=k1)
                .flat_map(|k| [1.0, 1.5, 2.0, 3.0, 5.0, 7.0].map(|m| clean(m * 10f64.powi(k))))
                .filter(|t| *t >= lo && *t <= hi)
                .collect();
        }
        a
    }

    /// A log axis covering `lo..hi` (both > 0), ticks at 1, 2, 5 x 10^k (only powers of ten
    /// when that would be too many).
    pub fn log(lo: f64, hi: f64) -> Axis {
        let lo = lo.max(1e-6);
        let hi = hi.max(lo * 1.01);
        let mut all = Vec::new();
        let k0 = lo.log10().floor() as i32 - 1;
        let k1 = hi.log10().ceil() as i32 + 1;
        for k in k0..=k1 {
            for m in [1.0, 2.0, 5.0] {
                all.push(clean(m * 10f64.powi(k)));
            }
        }
        let a = all
            .iter()
            .rev()
            .find(|t| **t <= lo * 1.000001)
            .copied()
            .unwrap_or(lo);
        let b = all
            .iter()
            .find(|t| **t >= hi * 0.999999)
            .copied()
            .unwrap_or(hi);
        let mut ticks: Vec<f64> = all.into_iter().filter(|t| *t >= a && *t <= b).collect();
        if ticks.len() > 12 {
            ticks.retain(|t| (t.log10() - t.log10().round()).abs() < 1e-9);
        }
        Axis {
            lo: a,
            hi: b,
            log: true,
            ticks,
        }
    }

    /// Rows for `n` categories: row 0 at the top, ticks at row centres.
    pub fn rows(n: usize) -> Axis {
        Axis {
            lo: -0.5,
            hi: n.max(1) as f64 - 0.5,
            log: false,
            ticks: (0..n).map(|i| i as f64).collect(),
        }
    }

    /// The value that draws row `i` of `n` (first row on top).
    pub fn row(n: usize, i: usize) -> f64 {
        (n - 1 - i) as f64
    }

    fn t(&self, v: f64) -> f64 {
        let f = |x: f64| if self.log { x.max(1e-12).log10() } else { x };
        let (a, b) = (f(self.lo), f(self.hi));
        if b > a {
            ((f(v) - a) / (b - a)).clamp(0.0, 1.0)
        } else {
            0.5
        }
    }
}

fn clean(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        (limit.0 as f64 + self.t(*v) * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// A number for a tick label: no trailing zeros, thousands separated.
pub fn tick(v: f64) -> String {
    if v.abs() >= 1000.0 && (v - v.round()).abs() < 1e-9 {
        return super::words::thousands(v.round() as i64);
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Axis descriptions and tick formatters for [`mesh`].
pub struct MeshSpec<'f> {
    pub x_desc: &'f str,
    pub y_desc: &'f str,
    pub x_fmt: &'f dyn Fn(&f64) -> String,
    pub y_fmt: &'f dyn Fn(&f64) -> String,
    pub x_grid: bool,
    pub y_grid: bool,
}

/// Builds a chart in `area` with the given axes and draws its grid, ticks and axis labels.
pub fn chart<'a, 'b>(
    area: &'a Area<'b>,
    x: Axis,
    y: Axis,
    y_label_w: i32,
    spec: &MeshSpec,
) -> std::result::Result<Chart<'a, 'b>, DErr> {
    let mut c = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(24)
        .margin_left(6)
        .margin_bottom(4)
        .x_label_area_size(if spec.x_desc.is_empty() { 30 } else { 52 })
        .y_label_area_size(y_label_w)
        .build_cartesian_2d(x, y)?;
    let mut m = c.configure_mesh();
    m.x_desc(spec.x_desc)
        .y_desc(spec.y_desc)
        .x_label_formatter(spec.x_fmt)
        .y_label_formatter(spec.y_fmt)
        .label_style(font(LABEL).color(&RGBColor(0x33, 0x33, 0x33)))
        .axis_desc_style(font(LABEL))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
        .x_labels(64)
        .y_labels(64);
    if !spec.x_grid {
        m.disable_x_mesh();
    }
    if !spec.y_grid {
        m.disable_y_mesh();
    }
    m.draw()?;
    Ok(c)
}

/// The width to reserve left of a plot for tick labels `labels` and an axis description.
pub fn y_label_width(labels: &[String], with_desc: bool) -> i32 {
    let w = labels.iter().map(|l| text_w(l, LABEL)).max().unwrap_or(0);
    w + 16 + if with_desc { 28 } else { 0 }
}

/// Draws a polyline in data coordinates.
pub fn line(
    c: &mut Chart,
    pts: Vec<(f64, f64)>,
    color: RGBColor,
    dash: Dash,
    width: u32,
) -> std::result::Result<(), DErr> {
    if pts.len() < 2 {
        if let Some(p) = pts.first() {
            c.draw_series(std::iter::once(Circle::new(*p, 3, color.filled())))?;
        }
        return Ok(());
    }
    let style = color.stroke_width(width);
    match dash {
        Dash::Solid => {
            c.draw_series(LineSeries::new(pts, style))?;
        }
        Dash::Dashed => {
            c.draw_series(DashedLineSeries::new(pts, 9, 5, style))?;
        }
        Dash::Dotted => {
            c.draw_series(DashedLineSeries::new(pts, 2, 4, style))?;
        }
    }
    Ok(())
}

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

/// A rectangle in pixels, for label placement.
#[derive(Clone, Copy, Debug)]
pub struct Boxr {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Boxr {
    fn overlap(&self, o: &Boxr) -> i32 {
        let w = (self.x1.min(o.x1) - self.x0.max(o.x0)).max(0);
        let h = (self.y1.min(o.y1) - self.y0.max(o.y0)).max(0);
        w * h
    }
}

/// Places text labels next to points (pixel coordinates) without overlapping each other or
/// the points, staying inside `bounds`. Returns, per label, the offset of its left-centre
/// anchor from its point.
pub fn place_labels(
    points: &[(i32, i32)],
    labels: &[String],
    obstacles: &[(i32, i32)],
    bounds: Boxr,
) -> Vec<(i32, i32)> {
    let h = 18;
    let mut taken: Vec<Boxr> = points
        .iter()
        .chain(obstacles)
        .map(|&(x, y)| Boxr {
            x0: x - 6,
            y0: y - 6,
            x1: x + 6,
            y1: y + 6,
        })
        .collect();
    let mut out = Vec::new();
    for (i, (&(px, py), label)) in points.iter().zip(labels).enumerate() {
        let w = text_w(label, SMALL) + 4;
        let mut cands: Vec<(i32, i32)> = vec![
            (10, 0),
            (-10 - w, 0),
            (8, -16),
            (8, 16),
            (-w - 8, -16),
            (-w - 8, 16),
            (-w / 2, -20),
            (-w / 2, 20),
        ];
        for k in 2..8 {
            cands.push((10, -18 * k));
            cands.push((10, 18 * k));
            cands.push((-10 - w, -18 * k));
            cands.push((-10 - w, 18 * k));
        }
        let mut best = (i64::MAX, cands[0]);
        for (rank, &(dx, dy)) in cands.iter().enumerate() {
            let b = Boxr {
                x0: px + dx,
                y0: py + dy - h / 2,
                x1: px + dx + w,
                y1: py + dy + h / 2,
            };
            let outside = (bounds.x0 - b.x0).max(0)
                + (b.x1 - bounds.x1).max(0)
                + (bounds.y0 - b.y0).max(0)
                + (b.y1 - bounds.y1).max(0);
            let clash: i32 = taken
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, t)| t.overlap(&b))
                .sum();
            let cost = (clash as i64 + outside as i64 * 1000) * 100 + rank as i64;
            if cost < best.0 {
                best = (cost, (dx, dy));
            }
            if clash == 0 && outside == 0 {
                break;
            }
        }
        let (dx, dy) = best.1;
        taken.push(Boxr {
            x0: px + dx,
            y0: py + dy - h / 2,
            x1: px + dx + w,
            y1: py + dy + h / 2,
        });
        out.push((dx, dy));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        let a = Axis::linear(0.0, 354.4, 8);
        assert_eq!(a.lo, 0.0);
        assert_eq!(a.hi, 400.0);
        assert_eq!(
            a.ticks,
            vec![0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0]
        );
        let l = Axis::log(2.5, 420.0);
        assert_eq!(l.lo, 2.0);
        assert_eq!(l.hi, 500.0);
        assert_eq!(
            l.ticks,
            vec![2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        );
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(2000.0), "2,000");
    }
}
