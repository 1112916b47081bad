//! Choosing a backend: which are available now, and which of them a policy picks.

use rand::RngExt;

use super::{Backend, Breaker, Policy};
use crate::time::SimTime;

/// What one gateway instance knows about one backend's load.
#[derive(Clone, Copy, Debug, Default)]
pub struct Load {
    /// Attempts this instance has forwarded there that are still running.
    pub outstanding: u32,
    /// EWMA of observed latency, milliseconds (valid when `observed`).
    pub latency_ewma_ms: f64,
    /// Whether any latency was observed.
    pub observed: bool,
    /// Utilization last reported by the backend (0 = idle, 1 = at its limit; an error answer
    /// reports 1).
    pub utilization: f64,
    /// When `utilization` stops being believed (then the backend counts as idle).
    pub utilization_until: SimTime,
}

impl Load {
    /// Adds a latency sample to the EWMA.
    pub fn observe_latency(&mut self, ms: f64, alpha: f64) {
        if self.observed {
            self.latency_ewma_ms += alpha * (ms - self.latency_ewma_ms);
        } else {
            self.latency_ewma_ms = ms;
            self.observed = true;
        }
    }
}

/// What [`available`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Available {
    /// Candidates written (the first `n` entries of the output).
    pub n: usize,
    /// When the first unavailable backend becomes available again (`SimTime::MAX` if none
    /// is unavailable).
    pub unblock: SimTime,
    /// Whether some backend is marked throttled.
    pub throttled: bool,
}

/// The backends a forward may go to now, written to `out` in list order: of `list` (backend
/// indices serving the model, in list order), those whose breaker (when `breakers` is given)
/// is available and that are not marked throttled (`now >= throttled_until[b]`), untried ones
/// only (bit `b` of `tried`) unless every available one was tried; of those, the best
/// (lowest-numbered) priority group. The result feeds [`choose`].
pub fn available(
    list: &[usize],
    backends: &[Backend],
    breakers: Option<&[Breaker]>,
    throttled_until: &[SimTime],
    tried: u64,
    now: SimTime,
    out: &mut [usize; 64],
) -> Available {
    let mut n = 0;
    let mut unblock = SimTime::MAX;
    let mut throttled = false;
    // Untried backends first; when every available one was tried, any available.
    for pass in 0..2 {
        let mut best = u32::MAX;
        for &b in list {
            let br = breakers.is_none_or(|br| br[b].available(now));
            let th = now >= throttled_until[b];
            if !(br && th) {
                if pass == 0 {
                    let mut t = SimTime::ZERO;
                    if !br {
                        t = breakers.expect("a closed breaker implies breakers")[b].blocked_until();
                    }
                    if !th {
                        t = t.max(throttled_until[b]);
                        throttled = true;
                    }
                    unblock = unblock.min(t);
                }
                continue;
            }
            if pass == 0 && tried & (1u64 << b) != 0 {
                continue;
            }
            let p = backends[b].priority;
            if p < best {
                best = p;
                n = 0;
            }
            if p == best {
                out[n] = b;
                n += 1;
            }
        }
        if n > 0 || tried == 0 {
            break;
        }
    }
    Available {
        n,
        unblock,
        throttled,
    }
}

/// Picks one of `cands` (backend indices, in list order, all available and of one priority
/// group) by `policy` at `now`. `load` and `weights` are indexed by backend; `cursor` is the
/// instance's rotation state (the next backend index to start from) and `rng` its random
/// stream. `cands` must not be empty.
pub fn choose<R: rand::Rng + ?Sized>(
    policy: Policy,
    now: SimTime,
    cands: &[usize],
    weights: &[f64],
    load: &[Load],
    cursor: &mut usize,
    rng: &mut R,
) -> usize {
    debug_assert!(!cands.is_empty());
    // The first candidate at or after the cursor, wrapping: a rotation that skips the
    // unavailable.
    let rotated = |cursor: usize| -> usize { cands.iter().position(|&b| b >= cursor).unwrap_or(0) };
    // Minimum of `key` over the candidates, ties broken by rotation from the cursor.
    let min_by = |cursor: &mut usize, key: &dyn Fn(usize) -> f64| -> usize {
        let start = rotated(*cursor);
        let n = cands.len();
        let mut best = cands[start];
        let mut best_key = key(best);
        for j in 1..n {
            let b = cands[(start + j) % n];
            let k = key(b);
            if k < best_key {
                best = b;
                best_key = k;
            }
        }
        *cursor = best + 1;
        best
    };
    match policy {
        Policy::RoundRobin => {
            let b = cands[rotated(*cursor)];
            *cursor = b + 1;
            b
        }
        Policy::Priority => cands[0],
        Policy::Random => cands[rng.random_range(0..cands.len())],
        Policy::Weighted => {
            let total: f64 = cands.iter().map(|&b| weights[b]).sum();
            let mut x = rng.random::<f64>() * total;
            for &b in cands {
                x -= weights[b];
                if x < 0.0 {
                    return b;
                }
            }
            *cands.last().expect("not empty")
        }
        Policy::LeastOutstanding => min_by(cursor, &|b| load[b].outstanding as f64),
        Policy::LeastUtilized => min_by(cursor, &|b| {
            if now < load[b].utilization_until {
                load[b].utilization
            } else {
                0.0
            }
        }),
        Policy::LowestLatency => min_by(cursor, &|b| {
            if load[b].observed {
                load[b].latency_ewma_ms
            } else {
                -1.0
            }
        }),
        Policy::PowerOfTwo => {
            let n = cands.len();
            if n == 1 {
                return cands[0];
            }
            let i = rng.random_range(0..n);
            let mut j = rng.random_range(0..n - 1);
            if j >= i {
                j += 1;
            }
            let (a, b) = (cands[i], cands[j]);
            if load[b].outstanding < load[a].outstanding {
                b
            } else {
                a
            }
        }
    }
}
