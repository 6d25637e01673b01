//! The results table (with each target's convergence time as a ratio of Causeway's), the
//! machine and the versions, and the JSON form of the same.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::run::RunResult;

/// What the run was on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kb: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string();
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            memory_gib: mem_kb / 1024.0 / 1024.0,
            kernel,
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: String,
    pub scenario: u8,
    pub machine: Machine,
    pub versions: BTreeMap<String, String>,
    pub data: DataSummary,
    /// Every run, in the order run.
    pub runs: Vec<RunResult>,
    /// Per target: the median of its runs.
    pub summary: Vec<Summary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataSummary {
    pub source: String,
    pub csv_rows: usize,
    pub usable_prefixes: usize,
    pub expected_prefixes: usize,
    /// Of which IPv6 (synthetic, `--ipv6`).
    pub ipv6_prefixes: usize,
    pub paths: usize,
    pub senders: usize,
    pub monitors: usize,
    pub attribute_sets: usize,
    pub updates: usize,
    pub update_bytes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub target: String,
    pub runs: usize,
    pub converged_runs: usize,
    pub convergence_secs: Option<f64>,
    /// This target's convergence time divided by Causeway's (above 1: Causeway is faster).
    pub ratio_to_causeway: Option<f64>,
    pub cpu_secs: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    pub bytes_per_path: Option<f64>,
    pub session_problems: usize,
    pub error: Option<String>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Medians per target, in the order targets first appear in `runs`.
pub fn summarize(runs: &[RunResult]) -> Vec<Summary> {
    let mut order: Vec<&str> = Vec::new();
    for r in runs {
        if !order.contains(&r.target.as_str()) {
            order.push(&r.target);
        }
    }
    let mut out: Vec<Summary> = order
        .iter()
        .map(|t| {
            let mine: Vec<&RunResult> = runs.iter().filter(|r| r.target == *t).collect();
            let ok: Vec<&&RunResult> = mine.iter().filter(|r| r.converged).collect();
            Summary {
                target: t.to_string(),
                runs: mine.len(),
                converged_runs: ok.len(),
                convergence_secs: median(ok.iter().filter_map(|r| r.convergence_secs).collect()),
                ratio_to_causeway: None,
                cpu_secs: median(ok.iter().map(|r| r.cpu_secs).collect()),
                peak_rss_bytes: median(ok.iter().map(|r| r.peak_rss_bytes as f64).collect())
                    .map(|v| v as u64),
                bytes_per_path: median(ok.iter().filter_map(|r| r.bytes_per_path).collect()),
                session_problems: mine.iter().map(|r| r.session_problems.len()).sum(),
                error: mine.iter().find_map(|r| r.error.clone()),
            }
        })
        .collect();
    let base = out
        .iter()
        .find(|s| s.target == "causeway")
        .and_then(|s| s.convergence_secs);
    for s in &mut out {
        s.ratio_to_causeway = match (s.convergence_secs, base) {
            (Some(c), Some(b)) if b > 0.0 => Some(c / b),
            _ => None,
        };
    }
    out
}

fn mib(b: u64) -> String {
    format!("{:.1}", b as f64 / 1024.0 / 1024.0)
}

/// The human-readable report.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.machine;
    s.push_str(&format!(
        "machine: {} cores, {}, {:.1} GiB, Linux {}\n",
        m.cores, m.cpu_model, m.memory_gib, m.kernel
    ));
    for (t, v) in &r.versions {
        s.push_str(&format!("  {t:<9} {v}\n"));
    }
    let d = &r.data;
    s.push_str(&format!(
        "data: {} ({} rows, {} usable prefixes)\nscenario {}: {} senders, {} monitors, {} prefixes expected per run{}, {} paths held; {} attribute sets, {} UPDATEs, {} MiB\n\n",
        d.source,
        d.csv_rows,
        d.usable_prefixes,
        r.scenario,
        d.senders,
        d.monitors,
        d.expected_prefixes,
        if d.ipv6_prefixes > 0 {
            format!(" ({} of them synthetic IPv6)", d.ipv6_prefixes)
        } else {
            String::new()
        },
        d.paths,
        d.attribute_sets,
        d.updates,
        mib(d.update_bytes as u64)
    ));
    s.push_str(&format!(
        "{:<9} {:>9} {:>8} {:>8} {:>10} {:>8} {:>6} {:>9}  {}\n",
        "target", "converge", "ratio", "cpu s", "peak MiB", "B/path", "runs", "problems", "note"
    ));
    for x in &r.summary {
        let f = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |v| format!("{v:.p$}"));
        s.push_str(&format!(
            "{:<9} {:>9} {:>8} {:>8} {:>10} {:>8} {:>6} {:>9}  {}\n",
            x.target,
            f(x.convergence_secs, 2),
            x.ratio_to_causeway
                .map_or("-".into(), |v| format!("{v:.2}x")),
            f(x.cpu_secs, 2),
            x.peak_rss_bytes.map_or("-".into(), mib),
            f(x.bytes_per_path, 0),
            format!("{}/{}", x.converged_runs, x.runs),
            x.session_problems,
            x.error
                .as_deref()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
        ));
    }
    s.push_str("\nconverge: seconds from the first UPDATE byte sent to the monitor holding every final path (median); ratio: target / causeway (above 1x: Causeway is faster).\n");
    for run in &r.runs {
        if !run.session_problems.is_empty() {
            s.push_str(&format!("\n{} session problems:\n", run.target));
            for p in &run.session_problems {
                s.push_str(&format!("  {p}\n"));
            }
        }
    }
    s
}
