//! The charting kit shared by every chart: palette, fonts, axes with exact ticks, legends,
//! label placement, and the SVG wrapper. Charts are drawn with plotters' SVG backend into a
//! string; text is measured with plotters' built-in estimate (no font files are read), and the
//! browser renders it with the page's font.

mod axis;
mod labels;
mod legend;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};
use crate::words::esc;

pub use axis::{Axis, tick};
pub use labels::{Boxr, place_labels};
pub use legend::{Mark, Shape, legend, legend_lines, legend_row, legend_width, markers};

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

/// Axis descriptions and tick formatters for [`chart`].
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
