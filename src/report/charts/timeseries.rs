//! Each variant's requests, errors, load and utilization over time: four panels on a time
//! axis shared by every variant.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Figure, R};
use crate::error::Result;
use crate::report::kit::{
    self, Area, Axis, Chart, DErr, Dash, LABEL, Mark, MeshSpec, VStyle, W, bold, legend_row, line,
    render, tick, tint, titled, vstyle,
};
use crate::report::load::Run;
use crate::report::series::Series;

/// The time axis shared by every variant's time series, and the y scales of one.
pub struct TsScales {
    t_max_min: f64,
    req_max: f64,
    err_max: f64,
    flight_max: f64,
    util_max: f64,
    interval_s: f64,
}

impl TsScales {
    /// The common scales of every series in the run.
    pub fn of(run: &Run) -> TsScales {
        TsScales::of_series(&run.series.iter().flatten().collect::<Vec<_>>())
    }

    fn of_series(all: &[&Series]) -> TsScales {
        let m = |f: &dyn Fn(&Series) -> f64| all.iter().map(|s| f(s)).fold(0.0, f64::max);
        let vmax = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        TsScales {
            t_max_min: m(&|s| s.t_s.last().copied().unwrap_or(0.0) + s.interval_s()) / 60.0,
            req_max: m(&|s| vmax(&s.arrivals).max(vmax(&s.completions))),
            err_max: m(&|s| vmax(&s.rejected_429).max(vmax(&s.timed_out_408))),
            flight_max: m(&|s| vmax(&s.in_flight)),
            util_max: m(&|s| {
                let keep = s.t_s.len() - usize::from(s.partial_last);
                s.utilization
                    .iter()
                    .map(|u| vmax(&u.1[..keep.min(u.1.len())]))
                    .fold(0.0, f64::max)
            }) * 100.0,
            interval_s: all.first().map(|s| s.interval_s()).unwrap_or(60.0),
        }
    }

    /// The same time axis with the y scales of one series.
    fn local(&self, s: &Series) -> TsScales {
        TsScales {
            t_max_min: self.t_max_min,
            interval_s: self.interval_s,
            ..TsScales::of_series(&[s])
        }
    }

    fn per(&self) -> String {
        if (self.interval_s - 60.0).abs() < 1e-9 {
            "minute".into()
        } else {
            format!("{} s", tick(self.interval_s))
        }
    }
}

fn panel<'a>(
    area: &Area<'a>,
    title: &str,
    legend: &[(String, Mark)],
) -> std::result::Result<Area<'a>, DErr> {
    let top = Pos::new(HPos::Left, VPos::Top);
    area.draw_text(title, &bold(LABEL).pos(top), (12, 6))?;
    let mut h = 30;
    if !legend.is_empty() {
        legend_row(area, 12, 28, legend)?;
        h = 54;
    }
    Ok(area.split_vertically(h).1)
}

fn columns(c: &mut kit::Chart, t: &[f64], v: &[f64], width_min: f64, color: RGBColor) -> R {
    c.draw_series(t.iter().zip(v).filter(|(_, y)| **y > 0.0).map(|(&t, &y)| {
        let t0 = t / 60.0 + width_min * 0.15;
        Rectangle::new([(t0, 0.0), (t0 + width_min * 0.7, y)], color.filled())
    }))?;
    Ok(())
}

fn area_line(c: &mut kit::Chart, pts: Vec<(f64, f64)>, color: RGBColor, fill: RGBColor) -> R {
    if pts.len() > 1 {
        c.draw_series(AreaSeries::new(pts.clone(), 0.0, fill.filled()))?;
    }
    line(c, pts, color, Dash::Solid, 2)
}

/// What the four panels of one variant's figure share.
struct Panels<'a> {
    s: &'a Series,
    sc: &'a TsScales,
    st: VStyle,
    /// The shared time axis, minutes.
    x: Axis,
    /// Tick label width of every panel.
    w: i32,
    /// Interval midpoints, minutes.
    tm: Vec<f64>,
    step_min: f64,
}

impl Panels<'_> {
    fn xs(&self, vals: &[f64]) -> Vec<(f64, f64)> {
        self.tm.iter().copied().zip(vals.iter().copied()).collect()
    }

    /// (a) requests started, succeeded and failed.
    fn requests(&self, area: &Area) -> R {
        let (s, st) = (self.s, self.st);
        let grey = RGBColor(0xBB, 0xBB, 0xBB);
        let p = panel(
            area,
            &format!("Requests per {}", self.sc.per()),
            &[
                ("started".into(), Mark::Swatch(tint(grey, 0.4), grey)),
                ("succeeded".into(), Mark::Line(st.color, Dash::Solid)),
                ("failed".into(), Mark::Swatch(kit::INK, kit::INK)),
            ],
        )?;
        let mut c = time_panel(&p, &self.x, self.sc.req_max.max(1.0), self.w, "")?;
        if self.tm.len() > 1 {
            c.draw_series(AreaSeries::new(
                self.xs(&s.arrivals),
                0.0,
                tint(grey, 0.4).filled(),
            ))?;
        }
        line(&mut c, self.xs(&s.completions), st.color, Dash::Solid, 2)?;
        columns(&mut c, &s.t_s, &s.failures, self.step_min, kit::INK)
    }

    /// (b) 429s and 408s.
    fn errors(&self, area: &Area) -> R {
        let (s, st) = (self.s, self.st);
        let p = panel(
            area,
            &format!("429 and 408 responses per {} (attempts)", self.sc.per()),
            &[
                ("429 rate-limited".into(), Mark::Line(st.color, Dash::Solid)),
                ("408 timed out".into(), Mark::Swatch(kit::INK, kit::INK)),
            ],
        )?;
        let mut c = time_panel(&p, &self.x, self.sc.err_max.max(1.0), self.w, "")?;
        area_line(
            &mut c,
            self.xs(&s.rejected_429),
            st.color,
            tint(st.color, 0.75),
        )?;
        columns(&mut c, &s.t_s, &s.timed_out_408, self.step_min, kit::INK)
    }

    /// (c) requests in flight.
    fn in_flight(&self, area: &Area) -> R {
        let p = panel(area, "Requests in flight (end of each interval)", &[])?;
        let mut c = time_panel(
            &p,
            &self.x,
            self.sc.flight_max.max(1.0),
            self.w,
            "time since start, minutes",
        )?;
        let color = self.st.color;
        area_line(&mut c, self.xs(&self.s.in_flight), color, tint(color, 0.75))
    }

    /// (d) utilization per deployment.
    fn utilization(&self, area: &Area) -> R {
        let (s, st, x) = (self.s, self.st, &self.x);
        let dashes = [Dash::Solid, Dash::Dashed, Dash::Dotted];
        let dep_legend: Vec<(String, Mark)> = s
            .utilization
            .iter()
            .enumerate()
            .map(|(k, (name, _))| (name.clone(), Mark::Line(st.color, dashes[k % 3])))
            .collect();
        let p = panel(area, "Utilization per deployment, %", &dep_legend)?;
        let mut c = time_panel(
            &p,
            x,
            self.sc.util_max.max(100.0),
            self.w,
            "time since start, minutes",
        )?;
        c.draw_series(DashedLineSeries::new(
            vec![(x.lo, 100.0), (x.hi, 100.0)],
            4,
            4,
            kit::MUTED.stroke_width(1),
        ))?;
        // A last interval shorter than the others (the run ended inside it) gives a rate over
        // a few seconds: leave it out.
        let keep = s.t_s.len() - usize::from(s.partial_last);
        for (k, (_, u)) in s.utilization.iter().enumerate() {
            let pts = self
                .tm
                .iter()
                .copied()
                .zip(u.iter().map(|x| x * 100.0))
                .take(keep)
                .collect();
            line(&mut c, pts, st.color, dashes[k % 3], 2)?;
        }
        Ok(())
    }
}

/// The time series of variant `i`: requests, 429s and 408s, in flight, utilization.
pub fn timeseries(run: &Run, i: usize, sc: &TsScales) -> Result<Option<Figure>> {
    let Some(s) = run.series.get(i).and_then(|s| s.as_ref()) else {
        return Ok(None);
    };
    let v = &run.summary.variants[i];
    let sc = &sc.local(s);
    let title = format!(
        "{}: requests, errors, load and utilization over time",
        v.name
    );
    let step_min = s.interval_s() / 60.0;
    // The same label width in every panel, so the plots line up.
    let widest = [
        sc.req_max,
        sc.err_max,
        sc.flight_max,
        sc.util_max.max(100.0),
    ]
    .iter()
    .flat_map(|hi| Axis::linear(0.0, hi.max(1.0), 4).ticks)
    .map(tick)
    .collect::<Vec<_>>();
    let panels = Panels {
        s,
        sc,
        st: vstyle(i),
        x: Axis::linear(0.0, sc.t_max_min.max(1.0), 8),
        w: kit::y_label_width(&widest, false),
        tm: s.t_s.iter().map(|t| t / 60.0 + step_min / 2.0).collect(),
        step_min,
    };
    let svg = render(W, 620, &title, |root| {
        let area = titled(
            root,
            &title,
            Some("Each panel has its own scale: read the axes. Time axis shared by every variant."),
        )?;
        let areas = area.split_evenly((2, 2));
        panels.requests(&areas[0])?;
        panels.errors(&areas[1])?;
        panels.in_flight(&areas[2])?;
        panels.utilization(&areas[3])
    })?;
    Ok(Some(Figure {
        id: format!("timeseries-{i}"),
        title,
        svg,
        caption: String::new(),
    }))
}

/// The caption shared by every time-series figure.
pub const TIMESERIES_CAPTION: &str = "Requests: started (grey area), succeeded (line) and \
    failed (black columns) per interval. 429 and 408: responses per interval, counted per \
    attempt, so one request retried five times can add five 429s. In flight: requests \
    started and not yet finished. Utilization: for standard deployments, the share of the \
    token-per-minute quota charged in the rolling window; for provisioned (PTU) \
    deployments, the share of capacity processed (a last, shorter interval after the end of \
    the run is left out of this panel).";

/// One panel of the over-time figure: a shared time axis, its own y range from 0, one label
/// width for every panel so the plots line up.
fn time_panel<'a, 'b>(
    area: &'a Area<'b>,
    x: &Axis,
    y_max: f64,
    y_label_w: i32,
    x_desc: &str,
) -> std::result::Result<Chart<'a, 'b>, DErr> {
    let fmt = |v: &f64| tick(*v);
    kit::chart(
        area,
        x.clone(),
        Axis::linear(0.0, y_max, 4),
        y_label_w,
        &MeshSpec {
            x_desc,
            y_desc: "",
            x_fmt: &fmt,
            y_fmt: &fmt,
            x_grid: false,
            y_grid: true,
        },
    )
}
