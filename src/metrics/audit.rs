//! A window on a run's internal steps, for invariant tests.

use crate::time::SimTime;

/// Sees the engine's internal steps; used by tests to check invariants. Every method has an
/// empty default, and the rooms call them only when an auditor is attached.
pub trait Audit {
    /// A live event is about to be handled at `now` (stale events are dropped unseen).
    fn event(&mut self, _now: SimTime) {}
    /// Deployment `dep` admitted an attempt at `now`, charging `tokens` (the estimate) to a
    /// standard deployment's token window, or `normalized` to a provisioned one's bucket.
    fn admitted(&mut self, _dep: usize, _now: SimTime, _tokens: u64, _normalized: f64) {}
    /// A provisioned deployment's bucket after a change: `(added, corrected, drained, level)`.
    fn bucket(
        &mut self,
        _dep: usize,
        _now: SimTime,
        _added: f64,
        _corrected: f64,
        _drained: f64,
        _level: f64,
    ) {
    }
}
