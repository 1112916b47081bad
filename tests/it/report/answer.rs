//! The report answers first: the verdict at each load, comparisons at equal load against a
//! chosen baseline, SLO verdicts, truncation flagged where variants are ranked, where session
//! time goes, the sweep's frontier per load, and all of it on the first screen of a browser.

use std::path::Path;

use serde_json::Value;
use spillway::report::{Options, render_dir, render_dir_with};
use spillway::words::run_markdown;

use super::{RUNS, SWEEPS, chromium_or_skip, copy_dir, run_chromium_at, summary, text_of};
use crate::cli::{spillway, stderr, stdout, tempdir};
use crate::root;

fn markdown_of(dir: &Path) -> String {
    run_markdown(&spillway::report::load::read_summary(&dir.join("summary.json")).unwrap())
}

/// `token-cap` is the cheapest variant meeting both SLOs of timeouts-to-triumph, but it cuts
/// 1,303 of 32,962 answers short (4.0%): the verdict, the claims, the tables and the chart
/// all say so, and the verdict names the cheapest variant that does not truncate.
#[test]
fn truncation_is_shown_and_flagged_where_variants_are_ranked() {
    let dir = root().join(RUNS[1]);
    let s = summary(RUNS[1]);
    let tc = &s["variants"][1];
    assert_eq!(tc["name"], "token-cap");
    assert_eq!(
        (
            tc["requests"]["truncated"].as_u64(),
            tc["requests"]["succeeded"].as_u64()
        ),
        (Some(1303), Some(32962))
    );
    let md = markdown_of(&dir);
    let verdict = md
        .lines()
        .find(|l| l.starts_with("- `token-cap` meets every SLO"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(
        verdict.contains("4.0% truncated")
            && verdict.contains("it cuts 4.0% of its answers short at max_tokens")
            && verdict.contains("the cheapest that does not: `token-cap-streaming-spillover`"),
        "{verdict}"
    );
    assert!(
        md.contains("Lowest cost per 1K completed sessions: `token-cap` ($2.13; it cuts 4.0%"),
        "{md}"
    );
    assert!(
        md.contains("| truncated % |") && md.contains("| 3.95 |"),
        "{md}"
    );
    let html = render_dir(&dir).unwrap();
    // The compact table's truncated cell is flagged; the chart's label says it cuts.
    assert_eq!(html.matches("<td class=\"n flag\">3.95%</td>").count(), 1);
    assert!(html.contains("token-cap (cuts 4.0%)"), "chart label");
    // Under 1% is shown but not flagged.
    assert!(html.contains("<td class=\"n\">0.92%</td>"));
    // The terminal table flags it too.
    let o = spillway(&[
        "run",
        &crate::scenario_path("timeouts-to-triumph.toml"),
        "-q",
    ]);
    let out = stdout(&o);
    let row = out.lines().find(|l| l.starts_with("token-cap *")).unwrap();
    assert!(row.contains("3.95!"), "{out}");
}

/// Variants are compared at equal load, against the chosen baseline where it ran.
#[test]
fn comparisons_at_equal_load_against_the_chosen_baseline() {
    let dir = root().join(RUNS[0]);
    let s = summary(RUNS[0]);
    assert_eq!(s["baseline"], "1-user");
    assert_eq!(s["variants"][1]["load"]["users"], 4);
    let text = text_of(&render_dir(&dir).unwrap());
    assert!(text.contains("Baseline: 1-user."), "{text}");
    assert!(
        text.contains("At 4 users: 4-users-3-subscriptions meets every SLO at the lowest cost")
    );
    // Another baseline at 4 users: the others at 4 users are compared with it; 50 users keep
    // their own reference.
    let opts = Options {
        baseline: Some("4-users-quota-increase".into()),
    };
    let text = text_of(&render_dir_with(&dir, &opts).unwrap());
    assert!(text.contains("Each variant against 4-users-quota-increase, at 4 users"));
    assert!(
        text.contains("4-users: p95 session 336 s vs 94 s (+256%)"),
        "{text}"
    );
    assert!(text.contains("Each variant against 50-users, at 50 users"));
    assert!(!text.contains("Each variant against 4-users, at"));
    // The same through the command line; a name that is not a variant is refused.
    let d = copy_dir(&dir);
    let o = spillway(&[
        "report",
        d.to_str().unwrap(),
        "--baseline",
        "4-users-quota-increase",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    assert!(text_of(&html).contains("Baseline: 4-users-quota-increase."));
    let o = spillway(&["report", d.to_str().unwrap(), "--baseline", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--baseline 'nope' is not a variant of")
            && stderr(&o).contains("variants: 1-user, 4-users"),
        "{}",
        stderr(&o)
    );
    let o = spillway(&[
        "report",
        root().join(SWEEPS[0]).to_str().unwrap(),
        "--baseline",
        "4-users",
        "--out",
        tempdir().join("r.html").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds a sweep"), "{}", stderr(&o));
}

/// `[scenario] baseline` and `run --baseline` choose the reference; the summary records it.
#[test]
fn baseline_key_and_flag_reach_the_summary() {
    let text = std::fs::read_to_string(crate::scenario_path("foundry-parallel-load.toml"))
        .unwrap()
        .replace(
            "duration = \"1h\"",
            "duration = \"1h\"\nbaseline = \"4-users\"",
        );
    let d = tempdir();
    let f = d.join("s.toml");
    std::fs::write(&f, text).unwrap();
    let f = f.to_str().unwrap();
    let args = [
        "--variant",
        "1-user",
        "--variant",
        "4-users",
        "--variant",
        "4-users-3-subscriptions",
    ];
    let json = |extra: &[&str]| -> Value {
        let mut a = vec!["run", f, "--format", "json", "-q"];
        a.extend_from_slice(&args);
        a.extend_from_slice(extra);
        let o = spillway(&a);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    assert_eq!(json(&[])["baseline"], "4-users");
    assert_eq!(
        json(&["--baseline", "4-users-3-subscriptions"])["baseline"],
        "4-users-3-subscriptions"
    );
    // Not among the variants that run: the first one that does.
    let o = spillway(&["run", f, "--format", "json", "-q", "--variant", "1-user"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["baseline"], "1-user");
    let mut a = vec!["run", f, "-q", "--baseline", "10-users"];
    a.extend_from_slice(&args);
    let o = spillway(&a);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--baseline '10-users' is not a variant that runs"),
        "{}",
        stderr(&o)
    );
    let o = spillway(&[
        "validate",
        &crate::scenario_path("foundry-parallel-load.toml"),
        "--set",
        "scenario.baseline=\"x\"",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("'x' is not a variant of this file"),
        "{}",
        stderr(&o)
    );
}

/// The run report and summary.md show each [[slo]] verdict; the table counts them.
#[test]
fn run_report_shows_the_slo_verdicts() {
    // foundry-parallel-load's variants.
    const VARIANTS: usize = 13;
    let dir = root().join(RUNS[0]);
    let s = summary(RUNS[0]);
    let slos = s["slo"].as_array().unwrap();
    assert_eq!(slos.len(), 3);
    let results: Vec<&Value> = slos
        .iter()
        .flat_map(|o| o["results"].as_array().unwrap())
        .collect();
    assert_eq!(results.len(), 3 * VARIANTS);
    let misses = results.iter().filter(|r| r["pass"] == false).count();
    let html = render_dir(&dir).unwrap();
    let section = html
        .split("<section id=\"slo\">")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert_eq!(section.matches("<td class=\"n fail\">✗").count(), misses);
    assert_eq!(
        section.matches("<td class=\"n pass\">✓").count(),
        3 * VARIANTS - misses
    );
    for o in slos {
        assert!(section.contains(o["name"].as_str().unwrap()));
    }
    // 4-users misses two of three (p50 and p95 session time).
    let md = markdown_of(&dir);
    let row = md.lines().find(|l| l.starts_with("| 4-users |")).unwrap();
    assert_eq!(row.matches('✗').count(), 2, "{row}");
    assert!(md.contains("## SLOs"));
}

/// With `sessions.time_breakdown_ms` in the summary, the report draws a stacked bar per
/// variant and summary.md says where the time went; without it (older summaries, all
/// zeros), neither appears.
#[test]
fn where_session_time_goes_when_the_summary_has_it() {
    // Every shipped run has the breakdown in summary.json, summary.md and the report.
    for dir in [RUNS[0], RUNS[1], "results/gateway-strategies"] {
        let s = summary(dir);
        for v in s["variants"].as_array().unwrap() {
            let b = &v["sessions"]["time_breakdown_ms"];
            let parts: f64 = ["think", "waiting", "queued", "prefill", "generating"]
                .iter()
                .map(|k| b[*k].as_f64().unwrap())
                .sum();
            assert!(parts > 0.0, "{dir}: {b}");
        }
        let md = std::fs::read_to_string(root().join(dir).join("summary.md")).unwrap();
        assert!(md.contains("## Where session time goes"), "{dir}");
        let html = std::fs::read_to_string(root().join(dir).join("report.html")).unwrap();
        assert!(html.contains("<figure id=\"time-breakdown\">"), "{dir}");
    }
    let d = copy_dir(&root().join(RUNS[0]));
    let path = d.join("summary.json");
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // An older summary (no breakdown): neither the chart nor the section.
    for v in s["variants"].as_array_mut().unwrap() {
        v["sessions"]
            .as_object_mut()
            .unwrap()
            .remove("time_breakdown_ms");
    }
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    assert!(!render_dir(&d).unwrap().contains("time-breakdown"));
    assert!(!markdown_of(&d).contains("Where session time goes"));
    for v in s["variants"].as_array_mut().unwrap() {
        v["sessions"]["time_breakdown_ms"] = serde_json::json!({
            "think": 62_000.0, "waiting": 150_000.0, "queued": 0.0,
            "prefill": 3_000.0, "generating": 23_000.0
        });
    }
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let html = render_dir(&d).unwrap();
    assert!(html.contains("<figure id=\"time-breakdown\">"));
    assert!(html.contains("Where session time goes, per variant"));
    let md = markdown_of(&d);
    assert!(md.contains("## Where session time goes"), "{md}");
    assert!(
        md.contains("- `4-users`: 238 s per completed session: thinking 62 s (26%), waiting for quota or a retry 150 s (63%), to first token 3.0 s (1%), generating 23 s (10%)."),
        "{md}"
    );
    // A negative part is refused, naming the field.
    s["variants"][0]["sessions"]["time_breakdown_ms"]["think"] = (-1.0).into();
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap()).unwrap();
    let e = render_dir(&d).unwrap_err().to_string();
    assert!(
        e.contains("sessions.time_breakdown_ms.think") && e.contains("negative"),
        "{e}"
    );
}

/// The sweep draws and states its Pareto frontier per load level (users), and its verdict per
/// level: points at 1 and 50 users are never on one frontier.
#[test]
fn sweep_frontier_and_verdict_per_load_level() {
    let html = render_dir(&root().join(SWEEPS[0])).unwrap();
    let text = text_of(&html);
    for users in [
        "1 user", "2 users", "4 users", "8 users", "16 users", "32 users", "50 users",
    ] {
        assert!(
            text.contains(&format!("Pareto frontier at {users} (")),
            "no frontier at {users}: {text}"
        );
    }
    assert!(text.contains("At 4 users: cheapest meeting every SLO: users=4, copies=3"));
    assert!(text.contains("At 50 users: no combination meets every SLO."));
    // Every frontier sentence names points of its own load only.
    for line in text
        .lines()
        .filter(|l| l.starts_with("Pareto frontier at 4 users"))
    {
        assert!(
            !line.contains("users=1,") && !line.contains("users=50,"),
            "{line}"
        );
    }
    let md = spillway::report::sweep_markdown(
        serde_json::from_str(
            &std::fs::read_to_string(root().join(SWEEPS[0]).join("sweep.json")).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(md.contains("## Verdict") && md.contains("At 2 users: cheapest meeting every SLO"));
}

/// A pixel's colour in an RGB(A) PNG buffer.
fn rgb(px: &[u8], channels: usize, width: usize, x: usize, y: usize) -> (u8, u8, u8) {
    let k = (y * width + x) * channels;
    (px[k], px[k + 1], px[k + 2])
}

/// (min x, min y, max x, max y) of a box, pixels.
type Corners = (usize, usize, usize, usize);

/// The box outlined in `color` in the screenshot: (min x, min y, max x, max y), and the
/// longest run of that colour in its top and bottom rows.
fn outlined_box(
    px: &[u8],
    channels: usize,
    (w, h): (usize, usize),
    color: (u8, u8, u8),
) -> Option<(Corners, usize, usize)> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if rgb(px, channels, w, x, y) == color {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    if x0 == usize::MAX {
        return None;
    }
    let run = |y: usize| {
        (x0..=x1)
            .filter(|&x| rgb(px, channels, w, x, y) == color)
            .count()
    };
    Some(((x0, y0, x1, y1), run(y0), run(y1)))
}

/// The first screen (1280x800) holds the answer: in every shipped report, the verdict, the
/// cost-against-speed chart and the compact table lie wholly above the fold. Each part gets
/// an outline (inside its box) in a colour the report never uses; the screenshot must show
/// each outline's top and bottom edges, so each part starts and ends on the first screen.
#[test]
fn the_verdict_chart_and_table_are_on_the_first_screen() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let work = tempdir();
    let parts = [
        ("#verdict", (255u8, 0u8, 255u8)),
        ("#answer svg.chart", (0, 255, 255)),
        ("#answer-table", (255, 255, 0)),
    ];
    let css: String = parts
        .iter()
        .map(|(sel, (r, g, b))| {
            format!("{sel} {{ outline: 4px solid rgb({r},{g},{b}) !important; outline-offset: -4px; }}\n")
        })
        .collect();
    // Every shipped report: results/*/report.html and results/*/sweep/report.html.
    let mut dirs: Vec<String> = Vec::new();
    for e in std::fs::read_dir(root().join("results")).unwrap() {
        let d = e.unwrap().path();
        for sub in [d.clone(), d.join("sweep")] {
            if sub.join("report.html").is_file() {
                let rel = sub.strip_prefix(root()).unwrap();
                dirs.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    dirs.sort();
    for dir in RUNS.iter().chain(&SWEEPS) {
        assert!(dirs.iter().any(|d| d == dir), "{dir} not found in {dirs:?}");
    }
    assert!(dirs.len() >= 7, "{dirs:?}");
    for dir in &dirs {
        let dir = dir.as_str();
        let html = render_dir(&root().join(dir)).unwrap();
        for (sel, _) in &parts {
            let id = sel.split(' ').next().unwrap().trim_start_matches('#');
            assert!(html.contains(&format!("id=\"{id}\"")), "{dir}: no {id}");
        }
        let name = dir.replace('/', "-");
        let page = work.join(format!("{name}.html"));
        std::fs::write(&page, html.replace("</style>", &format!("{css}</style>"))).unwrap();
        let shot = work.join(format!("{name}.png"));
        run_chromium_at(&bin, &work, &page, &shot, "1280,800");
        let file = std::io::BufReader::new(std::fs::File::open(&shot).unwrap());
        let mut reader = png::Decoder::new(file).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (1280, 800));
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected colour type {other:?}"),
        };
        let size = (info.width as usize, info.height as usize);
        for (sel, color) in &parts {
            let Some(((x0, y0, x1, y1), top, bottom)) =
                outlined_box(&buf[..info.buffer_size()], channels, size, *color)
            else {
                panic!(
                    "{dir}: {sel} is not on the first screen ({})",
                    shot.display()
                );
            };
            let width = x1 - x0 + 1;
            assert!(
                width > 200 && y1 > y0 + 40,
                "{dir}: {sel} box {x0},{y0} {x1},{y1}"
            );
            // Both horizontal edges drawn: the part ends above the fold.
            assert!(
                top * 2 > width && bottom * 2 > width && y1 < 799,
                "{dir}: {sel} runs past the first screen (box {x0},{y0} {x1},{y1}; edges {top}, {bottom} of {width} px)"
            );
        }
    }
}
