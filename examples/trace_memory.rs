//! Memory of trace replay: write a synthetic trace of any length, then replay it through
//! `spillway::trace` and compare peak memory (RSS) between lengths. Not a timed benchmark:
//! run it under `/usr/bin/time -v` and read "Maximum resident set size".
//!
//! ```text
//! cargo build --release --example trace_memory
//! T=target/release/examples/trace_memory
//! $T write azure 10000 /tmp/a-10k.csv
//! $T write azure 10000000 /tmp/a-10m.csv
//! /usr/bin/time -v $T read /tmp/a-10k.csv     # Maximum resident set size (kbytes): ...
//! /usr/bin/time -v $T read /tmp/a-10m.csv
//! ```
//!
//! Formats: `azure` (no sessions), `burstgpt` (20,000 users' conversations: the session table
//! is exercised) and `mooncake` (prompt blocks shared by leading ids: the block counter is
//! exercised). The rows are drawn from a fixed generator, so the same command writes the same
//! bytes. The numbers measured are in `docs/traces.md`, "Memory".

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use spillway::scenario::TraceSpec;
use spillway::trace::{self, TraceRecord};

/// A small deterministic generator (SplitMix64): the example needs no randomness crate.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        spillway::rng::splitmix64({
            self.0 = self.0.wrapping_add(1);
            self.0
        })
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn write(format: &str, rows: u64, path: &str) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut g = Gen(42);
    // 100 requests per second on average, in microseconds.
    let mut t_us: u64 = 0;
    let mut next_block: u64 = 0;
    match format {
        "azure" => writeln!(out, "TIMESTAMP,ContextTokens,GeneratedTokens")?,
        "burstgpt" => writeln!(
            out,
            "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type"
        )?,
        _ => {}
    }
    for _ in 0..rows {
        t_us += g.below(20_000);
        let prompt = 100 + g.below(4_000);
        let completion = g.below(800);
        match format {
            "azure" => {
                // 2023-11-16 00:00:00 plus t.
                let (s, us) = (t_us / 1_000_000, t_us % 1_000_000);
                let (d, h, m, sec) = (16 + s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
                writeln!(
                    out,
                    "2023-11-{d:02} {h:02}:{m:02}:{sec:02}.{us:06}0,{prompt},{completion}"
                )?;
            }
            "burstgpt" => {
                let user = g.below(20_000);
                let model = if user.is_multiple_of(5) {
                    "GPT-4"
                } else {
                    "ChatGPT"
                };
                let elapsed = g.below(30_000) as f64 / 1000.0;
                writeln!(
                    out,
                    "{}.{:06},{user},{elapsed},{model},{prompt},{completion},{},Conversation log",
                    t_us / 1_000_000,
                    t_us % 1_000_000,
                    prompt + completion
                )?;
            }
            "mooncake" => {
                // One of 50 shared system prompts (ids 0..50 x 4 blocks), then new blocks.
                let blocks = prompt.div_ceil(512);
                let shared = 50 * 4;
                let sys = g.below(50) * 4;
                let mut ids: Vec<String> =
                    (sys..sys + blocks.min(4)).map(|i| i.to_string()).collect();
                for _ in ids.len() as u64..blocks {
                    ids.push((shared + next_block).to_string());
                    next_block += 1;
                }
                writeln!(
                    out,
                    "{{\"timestamp\": {}, \"input_length\": {prompt}, \"output_length\": {completion}, \"hash_ids\": [{}]}}",
                    t_us / 1000,
                    ids.join(", ")
                )?;
            }
            other => {
                return Err(std::io::Error::other(format!(
                    "unknown format '{other}'; allowed: azure, burstgpt, mooncake"
                )));
            }
        }
    }
    out.flush()
}

fn read(path: &str) -> spillway::error::Result<()> {
    let started = std::time::Instant::now();
    let spec = TraceSpec::new(path);
    let mut reader = trace::open(&spec)?;
    let mut rec = TraceRecord::default();
    let (mut n, mut prompt, mut cached, mut sessions, mut max_open) = (0u64, 0u64, 0u64, 0u64, 0);
    while reader.read_into(&mut rec)? {
        n += 1;
        prompt += u64::from(rec.prompt_tokens);
        cached += u64::from(rec.cached_prompt_tokens);
        sessions += u64::from(rec.step == 0);
        if n.is_multiple_of(4096) {
            max_open = max_open.max(reader.open_sessions());
        }
    }
    println!(
        "{} {path}: {n} requests, {sessions} sessions, {prompt} prompt tokens ({cached} cached), last at {:.1} s; at most {max_open} sessions open, {} blocks out of order",
        reader.format().name(),
        rec.time.as_secs_f64(),
        reader.out_of_order_blocks()
    );
    eprintln!(
        "read in {:.2} s (wall time, for information)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", format, rows, path] => match rows.replace('_', "").parse::<u64>() {
            Ok(rows) => write(format, rows, path).map_err(|e| e.to_string()),
            Err(_) => Err(format!("'{rows}' is not a number of rows")),
        },
        ["read", path] => read(path).map_err(|e| e.to_string()),
        _ => Err(
            "usage: trace_memory write azure|burstgpt|mooncake ROWS FILE | trace_memory read FILE"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
