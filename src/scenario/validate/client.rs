//! `[client]`: the application's SDK: timeout and retry policy (defaults: the OpenAI Python
//! SDK's).

use super::Ctx;
use crate::error::Result;
use crate::scenario::ClientPolicy;
use crate::scenario::limits;
use crate::scenario::raw::RawClient;
use crate::time::SimTime;

/// Statuses the OpenAI SDK retries by default: 408, 409, 429 and every status >= 500
/// (azure-facts, "Timeouts, retries, streaming").
const DEFAULT_RETRY_STATUSES: [(u16, u16); 4] = [(408, 408), (409, 409), (429, 429), (500, 599)];

/// The message for more retries than the limits allow (client or gateway).
pub(super) fn too_many_retries(n: u32, max: u32) -> String {
    format!(
        "{} retries; at most {} per request (with a zero backoff, every retry happens at the same instant); {}",
        limits::group(n.into()),
        limits::group(max.into()),
        limits::SEE_LIMITS
    )
}

/// Checks `[client]` and fills in the SDK's defaults.
pub(super) fn check(rc: &RawClient, c: &Ctx) -> Result<ClientPolicy> {
    let client = ClientPolicy {
        timeout: c.dur("client.timeout", rc.timeout.as_ref(), "600s")?,
        max_retries: rc.max_retries.unwrap_or(2),
        backoff_initial: c.dur(
            "client.backoff_initial",
            rc.backoff_initial.as_ref(),
            "500ms",
        )?,
        backoff_max: c.dur("client.backoff_max", rc.backoff_max.as_ref(), "8s")?,
        backoff_jitter: {
            let j = rc.backoff_jitter.unwrap_or(0.25);
            if !(0.0..=1.0).contains(&j) {
                return Err(c.err(
                    "client.backoff_jitter",
                    format!("must be within [0, 1], got {j}"),
                ));
            }
            j
        },
        retry_after_cap: c.dur("client.retry_after_cap", rc.retry_after_cap.as_ref(), "60s")?,
        retry_statuses: super::gateway::statuses(
            c,
            "client.retry_statuses",
            rc.retry_statuses.as_ref(),
            &DEFAULT_RETRY_STATUSES,
        )?,
        retry_on_timeout: rc.retry_on_timeout.unwrap_or(true),
    };
    if client.timeout == SimTime::ZERO {
        return Err(c.err("client.timeout", "must be > 0"));
    }
    if client.max_retries > c.limits.max_retries {
        return Err(c.err(
            "client.max_retries",
            too_many_retries(client.max_retries, c.limits.max_retries),
        ));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use crate::scenario::testutil::{err_set, with_set};
    use crate::time::SimTime;

    #[test]
    fn defaults_are_the_openai_sdks() {
        let c = with_set(&[]).client;
        assert_eq!(c.timeout, SimTime::from_secs(600));
        assert_eq!(c.max_retries, 2);
        assert_eq!(c.backoff_initial, SimTime::from_millis(500));
        assert_eq!(c.backoff_max, SimTime::from_secs(8));
        assert_eq!(c.backoff_jitter, 0.25);
        assert_eq!(c.retry_after_cap, SimTime::from_secs(60));
        let retried: Vec<u16> = [400, 408, 409, 429, 500, 501, 503, 505, 599]
            .into_iter()
            .filter(|&s| c.retry_statuses.contains(s))
            .collect();
        assert_eq!(retried, vec![408, 409, 429, 500, 501, 503, 505, 599]);
        assert!(c.retry_on_timeout);
    }

    #[test]
    fn rejects_zero_timeout_bad_jitter_and_statuses() {
        let e = err_set(&[("client.timeout", "0s")]);
        assert!(e.contains("client.timeout") && e.contains("> 0"), "{e}");
        let e = err_set(&[("client.backoff_jitter", "2")]);
        assert!(e.contains("within [0, 1], got 2"), "{e}");
        let e = err_set(&[("client.retry_statuses", "[99]")]);
        assert!(e.contains("99 is not an HTTP status"), "{e}");
    }
}
