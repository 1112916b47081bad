//! Named, portable random streams.
//!
//! Every random quantity in a run is drawn from a stream identified by
//! `(scenario seed, stream kind, index)`. Streams are PCG-64 generators (`rand_pcg`, whose output
//! is specified and stable across versions) seeded through SplitMix64, so the same key gives the
//! same numbers on every platform and in every release. Keying the workload stream by session
//! index is what gives common random numbers across variants: session *k* asks for the same
//! tokens whatever the strategy under test.

use rand::SeedableRng;
use rand_pcg::Pcg64;

/// The generator used everywhere in the simulation.
pub type SimRng = Pcg64;

/// What a stream is for; part of its key, so streams never overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Open-loop arrival times.
    Arrivals = 1,
    /// The sampled content of one session (class, tokens, think times, speed variation).
    Session = 2,
    /// One closed-loop user's think times between sessions.
    User = 3,
    /// Client and router randomness of one run: backoff jitter, random picks.
    Chaos = 4,
    /// Gateway randomness of one run (`random`, `weighted`, `power-of-two`), by instance.
    Gateway = 5,
    /// Fault draws of one run (transient error and capacity-429 rates).
    Faults = 6,
    /// Semantic-cache draws of one run (one per request, whether it hits).
    Cache = 7,
    /// One call's own draws that must not disturb its session's stream (e.g. its cached
    /// prompt share), keyed by the call.
    Call = 8,
    /// One attempt's serving draws (decode speed, time-to-first-token noise), keyed by the
    /// call and the attempt number: a retry is served at a fresh speed, the same in every
    /// variant.
    Attempt = 9,
}

/// SplitMix64 finalizer: a bijective, well-mixed hash of one word.
pub const fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Combines words into one seed, order-sensitively.
pub fn derive_seed(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5350_494C_4C57_4159u64, |acc, &p| {
        splitmix64(acc ^ splitmix64(p))
    })
}

/// The generator for `(seed, kind, index)`.
pub fn stream(seed: u64, kind: Stream, index: u64) -> SimRng {
    let a = derive_seed(&[seed, kind as u64, index]);
    let b = splitmix64(a ^ 0xA5A5_A5A5_A5A5_A5A5);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..16].copy_from_slice(&b.to_le_bytes());
    bytes[16..24].copy_from_slice(&splitmix64(b).to_le_bytes());
    bytes[24..].copy_from_slice(&(splitmix64(a.rotate_left(17)) | 1).to_le_bytes());
    Pcg64::from_seed(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let mut a = stream(7, Stream::Session, 3);
        let mut b = stream(7, Stream::Session, 3);
        let mut c = stream(7, Stream::Session, 4);
        let mut d = stream(7, Stream::User, 3);
        let x = a.next_u64();
        assert_eq!(x, b.next_u64());
        assert_ne!(x, c.next_u64());
        assert_ne!(x, d.next_u64());
    }

    #[test]
    fn golden_first_draw() {
        // Guards against silent drift of the generator or the seeding: if this changes, every
        // committed result changes with it.
        let mut r = stream(42, Stream::Session, 0);
        // Values pinned from this implementation (PCG-64 via rand_pcg, SplitMix64 seeding).
        assert_eq!(r.next_u64(), 12_361_249_505_281_941_383);
        assert_eq!(derive_seed(&[1, 2]), 12_374_438_785_673_093_666);
        assert_ne!(derive_seed(&[1, 2]), derive_seed(&[2, 1]));
    }
}
