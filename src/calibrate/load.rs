//! Load: how many requests of the same model and deployment were in flight when each request
//! started (reconstructed from timestamps and durations), load levels with enough requests to
//! compare, whether they differ, and Spillway's way of applying a curve.

use super::fit::{Fit, MIN_EFFECT, MIN_PER_LEVEL, Obs};
use super::stats;
use super::telemetry::Request;

/// Requests in flight on the same model and deployment at each request's start, itself
/// included (`None` for requests without a start time). A request without a duration
/// counts only itself.
pub fn concurrency(requests: &[Request]) -> Vec<Option<u32>> {
    use std::collections::{BTreeMap, BinaryHeap};
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, r) in requests.iter().enumerate() {
        if r.start_s.is_some() {
            groups
                .entry((r.model.as_str(), r.deployment.as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut out = vec![None; requests.len()];
    for idx in groups.values_mut() {
        idx.sort_by(|&a, &b| {
            let (x, y) = (requests[a].start_s.unwrap(), requests[b].start_s.unwrap());
            x.total_cmp(&y).then(a.cmp(&b))
        });
        // Min-heap of end times, in whole microseconds after the group's first start.
        let mut ends: BinaryHeap<std::cmp::Reverse<u64>> = BinaryHeap::new();
        let t0 = requests[idx[0]].start_s.unwrap();
        let key = |t: f64| ((t - t0).max(0.0) * 1e6).round() as u64;
        let end = |i: usize| key(requests[i].start_s.unwrap() + requests[i].e2e_s.unwrap_or(0.0));
        let mut k = 0;
        while k < idx.len() {
            let t = key(requests[idx[k]].start_s.unwrap());
            let mut e = k;
            while e < idx.len() && key(requests[idx[e]].start_s.unwrap()) == t {
                e += 1;
            }
            // In flight at t: started at or before t and ending after t.
            while ends.peek().is_some_and(|x| x.0 <= t) {
                ends.pop();
            }
            for &i in &idx[k..e] {
                if end(i) > t {
                    ends.push(std::cmp::Reverse(end(i)));
                }
            }
            for &i in &idx[k..e] {
                out[i] = Some(ends.len() as u32 + (end(i) <= t) as u32);
            }
            k = e;
        }
    }
    out
}

/// The factor of a `[[n, factor], ...]` curve at load `n`, as Spillway applies it: linear
/// between points, flat beyond the last, and 1 below a first point above 1.
pub fn curve_at(curve: Option<&[[f64; 2]]>, n: Option<u32>) -> f64 {
    let (Some(c), Some(n)) = (curve, n) else {
        return 1.0;
    };
    let x = n as f64;
    let mut pts: Vec<(f64, f64)> = c.iter().map(|p| (p[0], p[1])).collect();
    if pts.first().is_some_and(|p| p.0 > 1.0) {
        pts.insert(0, (1.0, 1.0));
    }
    let i = pts.partition_point(|p| p.0 <= x);
    if i == 0 {
        pts.first().map_or(1.0, |p| p.1)
    } else if i == pts.len() {
        pts[i - 1].1
    } else {
        let ((x0, y0), (x1, y1)) = (pts[i - 1], pts[i]);
        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}

/// Groups load values into levels of at least [`MIN_PER_LEVEL`] requests: `(lo, hi)`.
pub(crate) fn load_levels(loads: &[u32]) -> Vec<(u32, u32)> {
    let mut distinct: Vec<(u32, usize)> = Vec::new();
    for &l in stats::sorted(loads.iter().map(|&l| l as f64)).iter() {
        let l = l as u32;
        match distinct.last_mut() {
            Some(d) if d.0 == l => d.1 += 1,
            _ => distinct.push((l, 1)),
        }
    }
    // Few levels: one bin each; many: powers of two (1, 2, 3-4, 5-8, ...).
    let bin_of = |l: u32| {
        if distinct.len() <= 8 {
            l
        } else {
            l.next_power_of_two()
        }
    };
    let mut bins: Vec<(u32, u32, usize)> = Vec::new();
    for &(l, n) in &distinct {
        match bins.last_mut() {
            Some(b) if bin_of(b.1) == bin_of(l) => {
                b.1 = l;
                b.2 += n;
            }
            _ => bins.push((l, l, n)),
        }
    }
    let mut merged: Vec<(u32, u32, usize)> = Vec::new();
    for b in bins {
        match merged.last_mut() {
            Some(m) if m.2 < MIN_PER_LEVEL => {
                m.1 = b.1;
                m.2 += b.2;
            }
            _ => merged.push(b),
        }
    }
    if merged.len() > 1 && merged.last().unwrap().2 < MIN_PER_LEVEL {
        let last = merged.pop().unwrap();
        let m = merged.last_mut().unwrap();
        m.1 = last.1;
        m.2 += last.2;
    }
    merged
        .into_iter()
        .filter(|b| b.2 >= MIN_PER_LEVEL)
        .map(|b| (b.0, b.1))
        .collect()
}

pub(crate) fn level_of(levels: &[(u32, u32)], load: Option<u32>) -> Option<usize> {
    let l = load?;
    levels.iter().position(|&(lo, hi)| lo <= l && l <= hi)
}

/// The concurrency that stands for a level: the median load of its requests, rounded.
pub(crate) fn level_point(obs: &[Obs], levels: &[(u32, u32)], k: usize) -> f64 {
    let m = stats::median(
        obs.iter()
            .filter(|o| level_of(levels, o.load) == Some(k))
            .map(|o| o.load.unwrap() as f64),
    );
    m.round().max(1.0)
}

/// `value(o)` of the requests of each level, level by level.
pub(crate) fn per_level(
    obs: &[Obs],
    levels: &[(u32, u32)],
    value: impl Fn(&Obs) -> f64,
) -> Vec<Vec<f64>> {
    let mut out = vec![Vec::new(); levels.len()];
    for o in obs {
        if let Some(k) = level_of(levels, o.load) {
            out[k].push(value(o));
        }
    }
    out
}

/// Whether some level's mean (of logarithms) differs from the first level's: by more than
/// the Welch z bound at 95% with a Bonferroni correction for the number of levels compared,
/// and by at least [`MIN_EFFECT`]. A curve is written only then.
pub(crate) fn levels_differ(logs: &[Vec<f64>]) -> bool {
    let Some(first) = logs.first() else {
        return false;
    };
    let (m0, v0) = stats::mean_var(first);
    let comparisons = logs.len().saturating_sub(1).max(1) as f64;
    let z = stats::normal_quantile(1.0 - 0.025 / comparisons);
    logs.iter().skip(1).any(|g| {
        let (m, v) = stats::mean_var(g);
        let se = (v / g.len() as f64 + v0 / first.len() as f64).sqrt();
        let d = m - m0;
        d.abs() > z * se && (d.exp() - 1.0).abs() >= MIN_EFFECT
    })
}

pub(crate) fn load_notes(f: &mut Fit, levels: &[(u32, u32)]) {
    let (ev, p, notes) = (&f.evidence, &f.params, &mut f.notes);
    let (lo, hi) = match ev.load_range {
        None => {
            notes.push("speed_curve, ttft_curve: not identified: the requests have no timestamps, so the load each one met cannot be reconstructed".into());
            return;
        }
        Some((1, 1)) => {
            notes.push("speed_curve, ttft_curve: not identified: every request ran alone (no other request of this model and deployment in flight when it started); no load variation, no load curve".into());
            return;
        }
        Some((lo, hi)) if lo == hi => {
            notes.push(format!("speed_curve, ttft_curve: not identified: every request started with {lo} requests in flight (itself included); no load variation, no load curve"));
            return;
        }
        Some((lo, hi)) if levels.len() < 2 => {
            notes.push(format!("speed_curve, ttft_curve: not identified: loads from {lo} to {hi} in flight, but fewer than two load levels with {MIN_PER_LEVEL} or more requests"));
            return;
        }
        Some(r) => r,
    };
    let n = levels.len();
    let flat = |what: &str| {
        format!(
            "not identified: load varied from {lo} to {hi} requests in flight ({n} levels), but {what} did not change measurably with it (no level differs from the lowest by more than chance and {:.0}%)",
            MIN_EFFECT * 100.0
        )
    };
    let found = format!(
        "from {n} load levels between {lo} and {hi} requests in flight (load = requests in flight on the same model and deployment at a request's start)"
    );
    notes.push(match p.speed_curve {
        Some(_) => format!("speed_curve: {found}"),
        None => format!("speed_curve: {}", flat("decode speed")),
    });
    if ev.streamed {
        notes.push(match p.ttft_curve {
            Some(_) => format!("ttft_curve: {found}"),
            None => format!("ttft_curve: {}", flat("TTFT")),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::telemetry::Outcome;

    fn req(start: f64, e2e: f64) -> Request {
        Request {
            line: 0,
            start_s: Some(start),
            model: "m".into(),
            deployment: "d".into(),
            prompt_tokens: 100,
            completion_tokens: 10,
            ttft_s: Some(0.1),
            e2e_s: Some(e2e),
            status: Some(200),
            outcome: Outcome::Ok,
            retry_after_s: None,
            streaming: true,
        }
    }

    #[test]
    fn concurrency_counts_requests_in_flight_at_each_start() {
        let rs = vec![
            req(0.0, 10.0),
            req(1.0, 1.0),
            req(2.0, 5.0),
            req(2.0, 1.0),
            req(20.0, 1.0),
        ];
        let c: Vec<u32> = concurrency(&rs).into_iter().map(Option::unwrap).collect();
        // At 2.0 the second request has just ended: the first and both new ones are in flight.
        assert_eq!(c, [1, 2, 3, 3, 1]);
        let mut other = req(1.0, 1.0);
        other.deployment = "e".into();
        assert_eq!(concurrency(&[req(0.0, 5.0), other])[1], Some(1));
    }

    #[test]
    fn curves_apply_as_spillway_does() {
        let c = [[1.0, 1.0], [5.0, 0.6]];
        assert_eq!(curve_at(Some(&c), Some(3)), 0.8);
        assert_eq!(curve_at(Some(&c), Some(9)), 0.6);
        assert_eq!(curve_at(Some(&[[4.0, 0.5]]), Some(1)), 1.0);
        assert_eq!(curve_at(None, Some(3)), 1.0);
    }

    #[test]
    fn levels_merge_until_each_has_enough_requests() {
        let mut loads = vec![1u32; 30];
        loads.extend([2; 4]);
        loads.extend([3; 12]);
        // Level 2 has too few requests: it joins the next level.
        assert_eq!(load_levels(&loads), [(1, 1), (2, 3)]);
        assert_eq!(load_levels(&[1; 9]), Vec::<(u32, u32)>::new());
        let wide: Vec<u32> = (1..=40).flat_map(|l| [l; 3]).collect();
        let lv = load_levels(&wide);
        assert!(
            lv.len() >= 3 && lv[0].0 == 1 && lv.last().unwrap().1 == 40,
            "{lv:?}"
        );
    }
}
