//! Trace replay (`spillway::trace`, `docs/traces.md`): every format from a small fixture and
//! from the real files in `data/`, autodetection, bad rows, each transform, sampling, the
//! Mooncake cached prefix, and the `[workload] trace` key.

use std::path::{Path, PathBuf};

use spillway::error::Error;
use spillway::scenario::TraceSpec;
use spillway::time::SimTime;
use spillway::trace::{self, ClockPoint, TraceFormat, TraceRecord, TraceSpeed};

use crate::cli::{spillway, stderr, tempdir};
use crate::root;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/traces").join(name)
}

fn data(path: &str) -> PathBuf {
    root().join("data").join(path)
}

/// Every record `spec` replays (panics on an error).
fn read(spec: &TraceSpec) -> Vec<TraceRecord> {
    trace::open(spec)
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn read_file(name: &str) -> Vec<TraceRecord> {
    read(&TraceSpec::new(fixture(name)))
}

/// The records read before the first error, and the error.
fn read_until_error(spec: &TraceSpec) -> (Vec<TraceRecord>, String) {
    let mut reader = trace::open(spec).unwrap_or_else(|e| panic!("{e}"));
    let mut ok = Vec::new();
    loop {
        match reader.next() {
            Some(Ok(r)) => ok.push(r),
            Some(Err(e)) => {
                // Nothing is read after an error.
                assert!(reader.next().is_none(), "read on after: {e}");
                return (ok, e.to_string());
            }
            None => panic!("no error; read {} records", ok.len()),
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn secs(s: f64) -> SimTime {
    SimTime::from_secs_f64(s)
}

#[test]
fn azure_fixture_reads_every_row_from_the_first_timestamp() {
    let r = read_file("azure.csv");
    assert_eq!(r.len(), 4);
    let times: Vec<u64> = r.iter().map(|x| x.time.0).collect();
    // 18:15:46.68059, :50.995169, :51.0, 18:16:00.1234567 (the 7th digit is dropped).
    assert_eq!(times, [0, 4_314_579, 4_319_410, 13_442_866]);
    assert_eq!(r[1].prompt_tokens, 396);
    assert_eq!(r[1].completion_tokens, 109);
    // No sessions in this format: each request is a session of its own, numbered in order.
    assert!(
        r.iter()
            .enumerate()
            .all(|(i, x)| x.session == i as u64 && x.step == 0)
    );
    assert!(
        r.iter()
            .all(|x| x.model.is_none() && x.class.is_none() && !x.failed)
    );
    assert_eq!(r[3].line, 5);
}

#[test]
fn azure_real_traces_match_the_published_counts() {
    // data/azure-llm-2023/README.md: conv 19,366 requests, mean 1,155 in / 211 out; code
    // 8,819, mean 2,048 / 28.
    let conv = trace::scan(&TraceSpec::new(data(
        "azure-llm-2023/AzureLLMInferenceTrace_conv.csv.gz",
    )))
    .unwrap();
    assert_eq!(conv.format, Some(TraceFormat::Azure));
    assert_eq!((conv.records, conv.sessions), (19_366, 19_366));
    assert_eq!(
        (conv.prompt_tokens, conv.completion_tokens),
        (22_361_870, 4_088_665)
    );
    assert_eq!((conv.prompt_tokens as f64 / 19_366.0).round(), 1_155.0);
    assert_eq!((conv.completion_tokens as f64 / 19_366.0).round(), 211.0);
    // 18:15:46.6805900 to 19:14:08.4025270.
    assert_eq!(conv.span, SimTime(3_501_721_937));
    assert_eq!(conv.max_open_sessions, 0);
    let code = trace::scan(&TraceSpec::new(data(
        "azure-llm-2023/AzureLLMInferenceTrace_code.csv.gz",
    )))
    .unwrap();
    assert_eq!(code.records, 8_819);
    assert_eq!(
        (code.prompt_tokens, code.completion_tokens),
        (18_059_974, 245_896)
    );
    assert_eq!((code.prompt_tokens as f64 / 8_819.0).round(), 2_048.0);
    assert_eq!((code.completion_tokens as f64 / 8_819.0).round(), 28.0);
}

#[test]
fn mooncake_real_trace_matches_the_readme() {
    // data/mooncake/README.md: 12,031 requests over 59 minutes, mean input 12,035, output 343.
    let s = trace::scan(&TraceSpec::new(data(
        "mooncake/conversation_trace.jsonl.gz",
    )))
    .unwrap();
    assert_eq!(s.format, Some(TraceFormat::Mooncake));
    assert_eq!(s.records, 12_031);
    assert_eq!(
        (s.prompt_tokens, s.completion_tokens),
        (144_793_823, 4_122_048)
    );
    assert_eq!((s.prompt_tokens as f64 / 12_031.0).round(), 12_035.0);
    assert_eq!((s.completion_tokens as f64 / 12_031.0).round(), 343.0);
    assert_eq!(s.span, SimTime::from_millis(3_536_999));
    // 37% of prompt tokens are a prefix an earlier request sent (counted independently with
    // a set of every block id), and Mooncake numbers blocks in order: one counter suffices.
    assert_eq!(s.cached_prompt_tokens, 54_098_411);
    assert_eq!(s.out_of_order_blocks, 0);
}

#[test]
fn mooncake_cached_prefix_counts_leading_blocks_sent_before() {
    let r = read_file("mooncake.jsonl");
    let cached: Vec<u32> = r.iter().map(|x| x.cached_prompt_tokens).collect();
    // [0,1,2] new; [0,1,3] shares 2 blocks; [0] shares 1 but the prompt is 300 tokens;
    // [4,0,1,5] starts with a new block; [0,1,2] all sent before (capped at 1,536);
    // [0,6] one block.
    assert_eq!(cached, [0, 1024, 300, 0, 1536, 512]);
    let times: Vec<SimTime> = r.iter().map(|x| x.time).collect();
    assert_eq!(times[2], SimTime::from_millis(500));
    assert_eq!(r[5].completion_tokens, 60);
    // A prompt scale scales the cached part too, never above the prompt.
    let mut spec = TraceSpec::new(fixture("mooncake.jsonl"));
    spec.prompt_scale = 0.5;
    let half: Vec<(u32, u32)> = read(&spec)
        .iter()
        .map(|x| (x.prompt_tokens, x.cached_prompt_tokens))
        .collect();
    assert_eq!(half[1], (550, 512));
    assert_eq!(half[2], (150, 150));
    // The cached prefix belongs to the recorded request: a window does not change it.
    spec = TraceSpec::new(fixture("mooncake.jsonl"));
    spec.from = Some(ClockPoint::After(SimTime::from_millis(2_000)));
    let late: Vec<u32> = read(&spec).iter().map(|x| x.cached_prompt_tokens).collect();
    assert_eq!(late, [1536, 512]);
}

#[test]
fn burstgpt_sessions_failures_and_think_times() {
    let r = read_file("burstgpt.csv");
    assert_eq!(r.len(), 6);
    let sessions: Vec<(u64, u32)> = r.iter().map(|x| (x.session, x.step)).collect();
    // Session 1001 is session 0 (three steps); rows without a Session ID are sessions of
    // their own.
    assert_eq!(sessions, [(0, 0), (1, 0), (0, 1), (2, 0), (0, 2), (3, 0)]);
    // 0 response tokens: a failure, kept.
    assert!(r[2].failed && r[2].completion_tokens == 0);
    assert_eq!(r.iter().filter(|x| x.failed).count(), 1);
    assert_eq!(r[0].model.as_deref(), Some("ChatGPT"));
    assert_eq!(r[1].class.as_deref(), Some("API log"));
    assert_eq!(r[0].elapsed, Some(secs(2.5)));
    // Step 1 came 15 s after step 0, which took 2.5 s: 12.5 s of think time.
    assert_eq!((r[2].gap, r[2].think), (secs(15.0), Some(secs(12.5))));
    assert_eq!((r[4].gap, r[4].think), (secs(25.0), Some(secs(22.0))));
    assert_eq!((r[0].gap, r[0].think), (SimTime::ZERO, None));
    // The first row (Timestamp 5) is time 0.
    assert_eq!(r[5].time, secs(41.0));
    // The older BurstGPT files have no Session ID or Elapsed time column.
    let dir = tempdir();
    let old = write(
        &dir,
        "old.csv",
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n45,GPT-4,1087,0,1087,API log\n",
    );
    let r = read(&TraceSpec::new(old));
    assert_eq!(r.len(), 2);
    assert!(r[1].failed && r[1].session == 1 && r[1].think.is_none());
}

#[test]
fn spillway_csv_and_jsonl_read_the_same_records() {
    let csv = read_file("spillway.csv");
    let jsonl = read_file("spillway.jsonl");
    assert_eq!(csv.len(), 5);
    let strip = |r: &[TraceRecord]| -> Vec<TraceRecord> {
        r.iter()
            .map(|x| TraceRecord {
                line: 0,
                ..x.clone()
            })
            .collect()
    };
    assert_eq!(strip(&csv), strip(&jsonl));
    let r = &csv;
    assert_eq!(r[2].time, secs(2.25));
    assert_eq!((r[2].session, r[2].step, r[2].gap), (0, 1, secs(2.25)));
    assert_eq!(r[2].max_tokens, Some(500));
    assert_eq!(r[2].streaming, Some(true));
    assert_eq!(r[3].class.as_deref(), Some("agent"));
    assert_eq!((r[3].max_tokens, r[3].streaming), (None, Some(false)));
    // The last row has only the required fields.
    let last = &r[4];
    assert_eq!(
        (last.session, last.model.as_ref(), last.class.as_ref()),
        (2, None, None)
    );
    // duration_ms gives think times.
    let dir = tempdir();
    let p = write(
        &dir,
        "d.csv",
        "timestamp,session,prompt,completion,duration_ms,cached_prompt,failed\n10,s,100,10,1500,0,false\n14,s,100,10,,60,true\n",
    );
    let r = read(&TraceSpec::new(p));
    assert_eq!(r[1].think, Some(secs(2.5)));
    assert_eq!((r[1].cached_prompt_tokens, r[1].failed), (60, true));
}

#[test]
fn formats_are_told_from_the_first_line() {
    for (name, f) in [
        ("azure.csv", TraceFormat::Azure),
        ("mooncake.jsonl", TraceFormat::Mooncake),
        ("burstgpt.csv", TraceFormat::BurstGpt),
        ("spillway.csv", TraceFormat::SpillwayCsv),
        ("spillway.jsonl", TraceFormat::SpillwayJsonl),
    ] {
        assert_eq!(trace::detect(&fixture(name), None).unwrap(), f, "{name}");
        assert_eq!(
            trace::open(&TraceSpec::new(fixture(name)))
                .unwrap()
                .format(),
            f
        );
    }
    assert_eq!(
        trace::detect(&data("mooncake/conversation_trace.jsonl.gz"), None).unwrap(),
        TraceFormat::Mooncake
    );
    let dir = tempdir();
    let e = |p: &Path, given| trace::detect(p, given).unwrap_err().to_string();
    let p = write(&dir, "x.csv", "when,tokens\n1,2\n");
    let m = e(&p, None);
    assert!(
        m.ends_with("x.csv:1: cannot tell the trace's format from its header 'when,tokens'; set workload.trace.format to one of azure, mooncake, burstgpt, spillway-csv, spillway-jsonl"),
        "{m}"
    );
    let p = write(
        &dir,
        "both.csv",
        "timestamp,prompt,completion,ContextTokens,GeneratedTokens\n",
    );
    assert!(e(&p, None).contains("fits several formats (azure, spillway-csv)"));
    // Given, the format is used as long as the kind of file (JSON or CSV) agrees.
    assert_eq!(
        trace::detect(&p, Some(TraceFormat::Azure)).unwrap(),
        TraceFormat::Azure
    );
    let m = e(&fixture("mooncake.jsonl"), Some(TraceFormat::Azure));
    assert!(
        m.contains(":1: format = \"azure\" reads CSV") && m.contains("JSON lines?"),
        "{m}"
    );
    let p = write(&dir, "j.jsonl", "\n{\"t\": 1}\n");
    assert!(e(&p, None).contains("j.jsonl:2: cannot tell the trace's format from its first line (a JSON object with the keys t)"));
    let p = write(&dir, "empty.csv", "");
    assert!(e(&p, None).ends_with("empty.csv:1: the trace is empty"));
    // A given format checks the columns it needs.
    let spec = TraceSpec {
        format: Some(TraceFormat::BurstGpt),
        ..TraceSpec::new(fixture("azure.csv"))
    };
    let m = trace::open(&spec).err().unwrap().to_string();
    assert!(
        m.contains("azure.csv:1: the burstgpt format needs the columns Timestamp, Request tokens, Response tokens; this header lacks Request tokens, Response tokens"),
        "{m}"
    );
}

#[test]
fn bad_rows_name_the_file_line_column_and_field_and_stop_the_read() {
    let (ok, e) = read_until_error(&TraceSpec::new(fixture("bad-tokens.csv")));
    assert_eq!(ok.len(), 1);
    assert!(
        e.ends_with(
            "bad-tokens.csv:3:29: field 'ContextTokens' must be a whole number of tokens from 0 to 4_294_967_295; got \"3x6\""
        ),
        "{e}"
    );
    let (ok, e) = read_until_error(&TraceSpec::new(fixture("unsorted.csv")));
    assert_eq!(ok.len(), 2);
    assert!(
        e.ends_with("unsorted.csv:4:1: field 'timestamp' (2023-11-16 18:15:49) is earlier than line 3's (2023-11-16 18:15:50.995169); the rows must be in time order: sort the file by its timestamp first"),
        "{e}"
    );
    let dir = tempdir();
    let cases: &[(&str, &str, &str)] = &[
        (
            "m.jsonl",
            "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [0]}\n{\"timestamp\": 3, \"input_length\": -5, \"output_length\": 1, \"hash_ids\": [0]}\n",
            "m.jsonl:2:35: field 'input_length' must be a whole number of tokens from 0 to 4_294_967_295; got -5",
        ),
        (
            "m2.jsonl",
            "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [0]}\n{\"timestamp\": 1, \"input_length\": 5, \"output_length\": 1}\n",
            "m2.jsonl:2: field 'hash_ids' is missing; a Mooncake line has timestamp (milliseconds), input_length, output_length and hash_ids",
        ),
        (
            "m3.jsonl",
            "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [0]}\n{\"timestamp\": 1, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [0, -1]}\n",
            "m3.jsonl:2:74: field 'hash_ids' must hold block ids (whole numbers >= 0); got -1",
        ),
        (
            "j.jsonl",
            "{\"timestamp\": 0, \"prompt\": 5, \"completion\": 1}\n{\"timestamp\": 1, \"prompt\": 5, \"completion\": 1,}\n",
            "j.jsonl:2:47: not valid JSON: trailing comma; each line must be one JSON object",
        ),
        (
            "j2.jsonl",
            "{\"timestamp\": 0, \"prompt\": 5, \"completion\": 1}\n{\"timestamp\": 1, \"promt\": 5, \"completion\": 1}\n",
            "j2.jsonl:2:27: unknown field 'promt'; Spillway's JSONL has the fields timestamp, session, step",
        ),
        (
            "s.csv",
            "timestamp,prompt,completion,streaming\n0,5,1,true\n1,5,1,maybe\n",
            "s.csv:3:7: field 'streaming' must be true or false; got \"maybe\"",
        ),
        (
            "s2.csv",
            "timestamp,prompt,completion\n0,5,1\n1,5\n",
            "s2.csv:3: this row has 2 fields but the header has 3",
        ),
        (
            "s3.csv",
            "timestamp,session,step,prompt,completion\n0,a,2,5,1\n1,a,1,5,1\n2,a,3,5,1\n",
            "s3.csv:3:5: field 'step' is 1 but the same session's row before it had step 2",
        ),
        (
            "s4.csv",
            "timestamp,prompt,completion\n0,5,1\n2023-11-16 18:00:00,5,1\n",
            "s4.csv:3:1: field 'timestamp' is one of date-times but the first row's was one of numbers of seconds",
        ),
        (
            "b.csv",
            "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,1,2.5,ChatGPT,4,1,5,API log\n6,1,-1,ChatGPT,4,1,5,API log\n",
            "b.csv:3:5: field 'Elapsed time' must be a number of seconds >= 0, e.g. 1.25; got \"-1\"",
        ),
        (
            "a.csv",
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\n2023-11-16 25:15:46,1,2\n",
            "a.csv:3:1: field 'TIMESTAMP' must be a date-time like \"2023-11-16 18:17:03.98\" (UTC unless it ends in Z or +HH:MM); got \"2023-11-16 25:15:46\"",
        ),
    ];
    for (name, text, want) in cases {
        let (ok, e) = read_until_error(&TraceSpec::new(write(&dir, name, text)));
        assert_eq!(ok.len(), 1, "{name}");
        assert!(e.contains(want), "{name}:\n{e}\nwants\n{want}");
    }
    // Spillway's CSV header allows only its own columns.
    let p = write(&dir, "h.csv", "timestamp,prompt,completion,promt\n");
    let m = trace::open(&TraceSpec::new(p)).err().unwrap().to_string();
    assert!(
        m.contains(
            "h.csv:1:29: unknown column 'promt'; Spillway's CSV has the columns timestamp, session"
        ),
        "{m}"
    );
}

#[test]
fn the_window_is_on_the_traces_clock() {
    let mut spec = TraceSpec::new(fixture("azure.csv"));
    spec.from = Some(ClockPoint::After(SimTime::from_secs(4)));
    spec.to = Some(ClockPoint::After(SimTime::from_secs(10)));
    let r = read(&spec);
    // Rows at +4.31 s and +4.32 s; time 0 is the window's start.
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].time, SimTime(314_579));
    assert_eq!(r[0].session, 1);
    // The same window as date-times.
    spec.from = Some(ClockPoint::At(
        trace::parse_datetime("2023-11-16 18:15:50.6805900").unwrap(),
    ));
    spec.to = Some(ClockPoint::At(
        trace::parse_datetime("2023-11-16T18:15:56.68059Z").unwrap(),
    ));
    assert_eq!(read(&spec), r);
    // A date-time on a trace timed in seconds is refused.
    let mut spec = TraceSpec::new(fixture("burstgpt.csv"));
    spec.from = Some(ClockPoint::At(0));
    let m = trace::open(&spec)
        .unwrap()
        .next()
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(m.contains("burstgpt.csv:2:1: workload.trace.from is a date-time, but this trace's timestamps are numbers of seconds"), "{m}");
    // Rows past the window are not read (the first one is, to see that it ends the window):
    // a bad row after it is never seen.
    let dir = tempdir();
    let p = write(
        &dir,
        "late.csv",
        "timestamp,prompt,completion\n0,1,1\n5,1,1\n6,x,1\n",
    );
    let mut spec = TraceSpec::new(p);
    spec.to = Some(ClockPoint::After(SimTime::from_secs(1)));
    assert_eq!(read(&spec).len(), 1);
}

#[test]
fn speedup_and_target_rate_divide_the_clock() {
    let mut spec = TraceSpec::new(fixture("burstgpt.csv"));
    spec.speed = TraceSpeed::Factor(2.0);
    let r = read(&spec);
    assert_eq!(r[5].time, secs(20.5));
    assert_eq!((r[2].gap, r[2].think), (secs(7.5), Some(secs(6.25))));
    // The recorded duration is a measurement: not scaled.
    assert_eq!(r[0].elapsed, Some(secs(2.5)));
    // 6 requests, the last at 41 s: 8.78 per minute. Ask for 87.8: ten times as fast.
    let stats = trace::scan(&TraceSpec::new(fixture("burstgpt.csv"))).unwrap();
    assert_eq!(stats.span, secs(41.0));
    let rate = 6.0 / (41.0 / 60.0);
    assert!((stats.rate_per_min().unwrap() - rate).abs() < 1e-9);
    spec.speed = TraceSpeed::RatePerMin(rate * 10.0);
    let reader = trace::open(&spec).unwrap();
    assert!(
        (reader.speedup() - 10.0).abs() < 1e-9,
        "{}",
        reader.speedup()
    );
    let r: Vec<TraceRecord> = reader.map(Result::unwrap).collect();
    assert_eq!(r[5].time, secs(4.1));
}

#[test]
fn tokens_are_scaled_and_models_renamed() {
    let mut spec = TraceSpec::new(fixture("burstgpt.csv"));
    spec.prompt_scale = 0.001;
    spec.completion_scale = 1.5;
    spec.models.insert("ChatGPT".into(), "gpt-4o-mini".into());
    let r = read(&spec);
    // 472 x 0.001 rounds to 0: kept at 1; 600 x 0.001 = 0.6 rounds to 1.
    assert_eq!(r[0].prompt_tokens, 1);
    assert_eq!(r[0].completion_tokens, 27);
    // A failure's 0 tokens stay 0.
    assert_eq!(r[2].completion_tokens, 0);
    assert_eq!(r[0].model.as_deref(), Some("gpt-4o-mini"));
    // Not in the map: as written.
    assert_eq!(r[1].model.as_deref(), Some("GPT-4"));
}

/// A trace of `n` sessions of 3 steps each, interleaved.
fn sessions_trace(dir: &Path, n: usize) -> PathBuf {
    let mut text = String::from("timestamp,session,prompt,completion\n");
    for step in 0..3 {
        for s in 0..n {
            text.push_str(&format!("{},user-{s},{},1\n", step * 1_000 + s, 10 + step));
        }
    }
    write(dir, "sessions.csv", &text)
}

#[test]
fn sampling_keeps_whole_sessions_deterministically() {
    let dir = tempdir();
    let file = sessions_trace(&dir, 1_000);
    let sample = |fraction: f64, seed: u64| {
        let mut spec = TraceSpec::new(&file);
        spec.sample = Some(fraction);
        spec.sample_seed = seed;
        read(&spec)
    };
    let sessions = |r: &[TraceRecord]| -> Vec<u64> {
        let mut s: Vec<u64> = r
            .iter()
            .filter(|x| x.step == 0)
            .map(|x| x.session)
            .collect();
        s.sort_unstable();
        s
    };
    let tenth = sample(0.1, 7);
    let kept = sessions(&tenth);
    assert!((70..130).contains(&kept.len()), "{}", kept.len());
    // Every step of a kept session is kept, numbered from 0.
    assert_eq!(tenth.len(), kept.len() * 3);
    for s in &kept {
        let steps: Vec<u32> = tenth
            .iter()
            .filter(|x| x.session == *s)
            .map(|x| x.step)
            .collect();
        assert_eq!(steps, [0, 1, 2]);
    }
    // Same seed, same sessions; a larger fraction keeps a superset; another seed others.
    assert_eq!(sample(0.1, 7), tenth);
    let half = sessions(&sample(0.5, 7));
    assert!(kept.iter().all(|s| half.contains(s)));
    assert!(half.len() > kept.len() * 3);
    assert_ne!(sessions(&sample(0.1, 8)), kept);
    // Everything: every session.
    assert_eq!(sample(1.0, 7).len(), 3_000);
}

#[test]
fn reading_twice_gives_the_same_records() {
    let spec = TraceSpec {
        sample: Some(0.3),
        speed: TraceSpeed::Factor(3.7),
        ..TraceSpec::new(data("mooncake/conversation_trace.jsonl.gz"))
    };
    let a = read(&spec);
    assert_eq!(a, read(&spec));
    assert!(a.windows(2).all(|w| w[0].time <= w[1].time));
    assert!((3_000..4_300).contains(&a.len()), "{}", a.len());
}

#[test]
fn read_into_reuses_one_record() {
    let mut reader = trace::open(&TraceSpec::new(fixture("spillway.csv"))).unwrap();
    let mut rec = TraceRecord::default();
    let mut n = 0;
    while reader.read_into(&mut rec).unwrap() {
        n += 1;
    }
    assert_eq!(n, 5);
    // At the end it stays at the end.
    assert!(!reader.read_into(&mut rec).unwrap());
}

/// A scenario replaying `trace` (a TOML inline table body) with one class, in `dir`.
fn scenario(dir: &Path, trace: &str, extra: &str) -> String {
    let text = format!(
        r#"
[scenario]
name = "replay"
duration = "1h"

[[pool]]
name = "p"
subscription = "s"
region = "r"
model = "gpt-4o-mini"
tpm = 1_000_000

[[deployment]]
name = "d"
kind = "standard"
model = "gpt-4o-mini"
pool = "p"
tpm = 1_000_000

[workload]
trace = {{ {trace} }}
{extra}
"#
    );
    let p = dir.join("replay.toml");
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn load(path: &str) -> Result<spillway::scenario::ScenarioSet, Error> {
    spillway::scenario::load(path, &[], None)
}

#[test]
fn the_scenario_key_resolves_the_file_and_checks_the_trace() {
    let dir = tempdir();
    std::fs::copy(fixture("burstgpt.csv"), dir.join("b.csv")).unwrap();
    let path = scenario(
        &dir,
        r#"file = "b.csv", mode = "session", speedup = 2, models = { "ChatGPT" = "gpt-4o-mini", "GPT-4" = "gpt-4o-mini" }, sample = 0.9"#,
        "",
    );
    let set = load(&path).unwrap_or_else(|e| panic!("{e}"));
    let w = &set.variants[0].workload;
    let t = w.trace.as_ref().unwrap();
    assert_eq!(t.file, dir.join("b.csv"));
    assert_eq!(t.format, Some(TraceFormat::BurstGpt));
    assert_eq!(t.mode, trace::TraceMode::Session);
    assert_eq!(t.speed, TraceSpeed::Factor(2.0));
    assert_eq!(t.sample, Some(0.9));
    // The sample's seed is the scenario's (1 by default).
    assert_eq!(t.sample_seed, 1);
    // Without [[workload.class]], one class on the scenario's model gives the defaults.
    assert_eq!(w.classes.len(), 1);
    assert_eq!(
        (w.classes[0].name.as_str(), w.classes[0].steps[0].model),
        ("trace", 0)
    );
    // No synthetic arrivals.
    assert!(
        matches!(&w.arrivals, spillway::scenario::Arrivals::Constant { schedule } if schedule == &vec![(SimTime::ZERO, 0.0)])
    );
    assert!(trace::open(t).is_ok());
}

#[test]
fn the_scenario_key_refuses_what_cannot_be_replayed() {
    let dir = tempdir();
    std::fs::copy(fixture("burstgpt.csv"), dir.join("b.csv")).unwrap();
    std::fs::copy(fixture("azure.csv"), dir.join("a.csv")).unwrap();
    std::fs::copy(fixture("spillway.csv"), dir.join("s.csv")).unwrap();
    let models = r#"models = { "ChatGPT" = "gpt-4o-mini", "GPT-4" = "gpt-4o-mini" }"#;
    let class = "[[workload.class]]\nname = \"chat\"\nprompt_tokens = 1\ncompletion_tokens = 1\n";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            r#"file = "nope.csv""#.into(),
            "",
            "key 'workload.trace.file': no trace file 'nope.csv' (looked for ",
        ),
        (
            r#"file = "a.csv""#.into(),
            "arrival = \"poisson\"",
            "key 'workload.arrival': does not apply with 'trace'",
        ),
        (
            r#"file = "a.csv""#.into(),
            "users = 3",
            "key 'workload.users': does not apply with 'trace'",
        ),
        (
            r#"file = "a.csv""#.into(),
            "rate_per_min = 3",
            "key 'workload.rate_per_min': does not apply with 'trace'",
        ),
        (
            r#"file = "a.csv", speedup = 2, rate_per_min = 60"#.into(),
            "",
            "key 'workload.trace.rate_per_min': give either 'speedup' or 'rate_per_min', not both",
        ),
        (
            r#"file = "a.csv", format = "csv""#.into(),
            "",
            "key 'workload.trace.format': unknown format 'csv'; allowed: auto, azure",
        ),
        (
            r#"file = "a.csv", mode = "closed""#.into(),
            "",
            "key 'workload.trace.mode': unknown mode 'closed'; allowed: open, session",
        ),
        (
            r#"file = "a.csv", mode = "session""#.into(),
            "",
            "key 'workload.trace.mode': mode = \"session\" releases a session's steps one after another, but every replayed session of",
        ),
        (
            r#"file = "a.csv", sample = 0"#.into(),
            "",
            "key 'workload.trace.sample': must be",
        ),
        (
            r#"file = "a.csv", speedup = -1"#.into(),
            "",
            "key 'workload.trace.speedup': must be",
        ),
        (
            r#"file = "a.csv", from = "soon""#.into(),
            "",
            "key 'workload.trace.from': 'soon' is neither a duration after the trace's first request",
        ),
        (
            r#"file = "a.csv", from = "5m", to = "1m""#.into(),
            "",
            "key 'workload.trace.to': the window must end after it starts",
        ),
        (
            r#"file = "a.csv", from = "1h""#.into(),
            "",
            "key 'workload.trace': no request of",
        ),
        (
            r#"file = "b.csv""#.into(),
            "",
            "key 'workload.trace.models': the trace's model 'ChatGPT' (first at ",
        ),
        (
            r#"file = "b.csv", models = { "ChatGPT" = "gpt-5" }"#.into(),
            "",
            "key 'workload.trace.models.\"ChatGPT\"': 'gpt-5' is not a model of this scenario (models in use: gpt-4o-mini)",
        ),
        (
            r#"file = "s.csv", models = { "gpt-4o" = "gpt-4o-mini" }"#.into(),
            class,
            "key 'workload.class': the trace names class 'agent' (first at ",
        ),
    ];
    for (trace, extra, want) in cases {
        let path = scenario(&dir, &trace, extra);
        let e = load(&path)
            .err()
            .unwrap_or_else(|| panic!("accepted {trace} {extra}"))
            .to_string();
        assert!(e.contains(want), "{trace} {extra}:\n{e}\nwants\n{want}");
    }
    // A bad row in the trace is found at validation, at its place in the trace file.
    std::fs::copy(fixture("bad-tokens.csv"), dir.join("bad.csv")).unwrap();
    let e = load(&scenario(&dir, r#"file = "bad.csv""#, ""))
        .err()
        .unwrap()
        .to_string();
    assert!(e.ends_with("bad.csv:3:29: field 'ContextTokens' must be a whole number of tokens from 0 to 4_294_967_295; got \"3x6\""), "{e}");
    // A wrong type is said in words.
    let path = scenario(&dir, "", "");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("trace = {  }", "trace = \"b.csv\"");
    std::fs::write(&path, text).unwrap();
    let e = load(&path).err().unwrap().to_string();
    assert!(
        e.contains("key 'workload.trace': 'trace' must be a table naming the trace file, e.g. { file = \"trace.csv\", speedup = 2 }; got \"b.csv\""),
        "{e}"
    );
    // BurstGPT's Log Type names a class when one has that name, else the first class applies.
    let path = scenario(&dir, &format!(r#"file = "b.csv", {models}"#), class);
    assert!(load(&path).is_ok());
}

#[test]
fn validate_exits_2_on_a_bad_trace_with_one_line() {
    let dir = tempdir();
    std::fs::copy(fixture("unsorted.csv"), dir.join("u.csv")).unwrap();
    let path = scenario(&dir, r#"file = "u.csv""#, "");
    let o = spillway(&["validate", &path]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("u.csv:4:1: field 'timestamp' (2023-11-16 18:15:49) is earlier than line 3's"),
        "{err}"
    );
    // The shipped data replays (an absolute path is used as it is).
    let conv = data("azure-llm-2023/AzureLLMInferenceTrace_conv.csv.gz");
    let path = scenario(
        &dir,
        &format!(
            "file = {:?}, rate_per_min = 600",
            conv.display().to_string()
        ),
        "",
    );
    let o = spillway(&["validate", &path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
