//! Benchmark of the watcher daemon (not part of CI): `cargo bench --bench watch`.
//!
//! 1. Latency: 500 distinct forms are dropped one at a time into a department folder while the
//!    release daemon runs with `stable_ms = 100`; for each, the time from the file becoming stable
//!    (its last write + the stability interval) to its submission being recorded.
//! 2. Memory: 10,000 distinct forms in batches of 1,000; the daemon's resident memory after each.
//!
//! `JIXIAO_BENCH_LATENCY=N` and `JIXIAO_BENCH_MEMORY=N` change the counts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use jixiao::forms::definitions::FormKind;

const STABLE_MS: u64 = 100;

/// A distinct, accepted self-evaluation: the template filled in, project number `n`.
fn form(n: usize) -> Vec<u8> {
    let defs = jixiao::Definitions::embedded();
    let mut wb = jixiao::forms::blank::build(&defs, FormKind::SelfEvaluation).unwrap();
    let ws = wb.worksheet_from_index(0).unwrap();
    for (r, c, s) in [
        (1u32, 0u16, "（2026年度）".to_string()),
        (3, 1, format!("基准测试项目{n:05}")),
        (4, 1, format!("2200002600{n:04}")),
        (4, 5, "吉林省农业技术推广总站".to_string()),
        (5, 1, "吉林省农业农村厅".to_string()),
    ] {
        ws.write_string(r, c, s).unwrap();
    }
    for (c, v) in [(3u16, 1200.0), (4, 1180.0), (5, 1100.0 + (n % 80) as f64)] {
        ws.write_number(7, c, v).unwrap();
    }
    for i in 0..9u32 {
        let r = 14 + i;
        ws.write_string(r, 3, format!("指标{i}")).unwrap();
        ws.write_string(r, 4, "≥100人次").unwrap();
        ws.write_string(r, 5, format!("{}人次", 90 + (n + i as usize) % 20))
            .unwrap();
        ws.write_number(r, 6, 10.0).unwrap();
        ws.write_number(r, 7, 10.0).unwrap();
        ws.write_string(r, 8, "已分析原因").unwrap();
    }
    wb.save_to_buffer().unwrap()
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

fn hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

fn count(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM submissions WHERE stage = 'done'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap_or(0)
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = jixiao::config::EXAMPLE
        .replace("stable_ms = 2000", &format!("stable_ms = {STABLE_MS}"))
        .replace("rescan_secs = 60", "rescan_secs = 5");
    std::fs::write(tmp.path().join("jixiao.toml"), cfg).unwrap();
    let inbox = tmp.path().join("收件/农业农村厅");
    std::fs::create_dir_all(&inbox).unwrap();
    let cfg = tmp.path().join("jixiao.toml");
    (tmp, cfg, inbox)
}

fn start(cfg: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_jixiao"))
        .args(["watch", "--config"])
        .arg(cfg)
        .env("JIXIAO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn latency(n: usize) {
    let (tmp, cfg, inbox) = setup();
    let forms: Vec<Vec<u8>> = (0..n).map(form).collect();
    let mut child = start(&cfg);
    std::thread::sleep(Duration::from_millis(500));
    let db = tmp.path().join("state/jixiao.db");
    let mut lat = Vec::new();
    for (i, bytes) in forms.iter().enumerate() {
        let path = inbox.join(format!("表{i:05}.xlsx"));
        std::fs::write(&path, bytes).unwrap();
        let written = Instant::now();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let _ = mtime.duration_since(SystemTime::UNIX_EPOCH);
        while count(&db) < (i + 1) as i64 {
            std::thread::sleep(Duration::from_millis(2));
            assert!(
                written.elapsed() < Duration::from_secs(10),
                "file {i} not processed"
            );
        }
        let ms = written.elapsed().as_secs_f64() * 1000.0 - STABLE_MS as f64;
        lat.push(ms.max(0.0));
    }
    let _ = child.kill();
    let _ = child.wait();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "latency over {n} files (stable_ms = {STABLE_MS}): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms (from stable to recorded and moved)",
        percentile(&lat, 0.5),
        percentile(&lat, 0.95),
        lat[lat.len() - 1]
    );
}

fn memory(n: usize) {
    let (tmp, cfg, inbox) = setup();
    let mut child = start(&cfg);
    let pid = child.id();
    let db = tmp.path().join("state/jixiao.db");
    std::thread::sleep(Duration::from_millis(500));
    println!("memory over {n} forms: start {} KB", rss_kb(pid));
    let batch = 1000.min(n);
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        for i in done..(done + batch).min(n) {
            std::fs::write(inbox.join(format!("表{i:05}.xlsx")), form(i)).unwrap();
        }
        done = (done + batch).min(n);
        while count(&db) < done as i64 {
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "  after {done:>6} forms: RSS {:>6} KB, peak {:>6} KB",
            rss_kb(pid),
            hwm_kb(pid)
        );
    }
    println!("  {n} forms in {:.1} s", started.elapsed().as_secs_f64());
    let _ = child.kill();
    let _ = child.wait();
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this only checks it builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("watch benchmark: run it with `cargo bench --bench watch`");
        return;
    }
    let n_lat = std::env::var("JIXIAO_BENCH_LATENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let n_mem = std::env::var("JIXIAO_BENCH_MEMORY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    latency(n_lat);
    memory(n_mem);
}
