//! End to end on a tiny store: the tool runs `causeway serve` (target/debug/causeway, or
//! `CAUSEWAY_BIN`), and its JSON report must be complete and consistent. No timing asserts.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn causeway_binary() -> Option<PathBuf> {
    let bin = std::env::var_os("CAUSEWAY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/causeway")
        });
    if bin.exists() {
        return Some(bin);
    }
    let msg = format!(
        "no causeway binary at {} (cargo build -p causeway, or set CAUSEWAY_BIN)",
        bin.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("skipping the control-bench smoke test: {msg}");
    None
}

#[test]
fn tiny_run_reports_everything() {
    let Some(bin) = causeway_binary() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("control-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_causeway-control-bench"))
        .arg("--causeway")
        .arg(&bin)
        .args(["--circuits", "50", "--clients", "2", "--checkpoints", "50"])
        .args(["--subscriptions", "2", "--resource-groups", "3"])
        .args(["--writes", "10", "--page-samples", "2"])
        .args(["--get-connections", "2", "--get-seconds", "0.3"])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the benchmark failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("| circuits |"),
        "no table on stdout:\n{stdout}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();

    assert_eq!(r["load"]["circuits"], 50);
    assert_eq!(r["load"]["rate_window"], 25);
    assert!(r["load"]["first_per_second"].as_f64().unwrap() > 0.0);
    assert!(r["load"]["last_per_second"].as_f64().unwrap() > 0.0);
    let checkpoints = r["checkpoints"].as_array().unwrap();
    assert_eq!(checkpoints.len(), 1);
    let c = &checkpoints[0];
    assert_eq!(c["circuits"], 50);
    assert_eq!(c["put_latency"]["count"], 25);
    assert_eq!(c["write"]["count"], 10);
    // 25 circuits per subscription, in pages: start, middle and end sampled twice each.
    assert_eq!(c["list_page"]["subscription_circuits"], 25);
    for part in ["start", "middle", "end"] {
        assert_eq!(c["list_page"][part]["count"], 2, "{part}");
    }
    assert!(c["get"]["count"].as_u64().unwrap() > 0);
    assert_eq!(c["get"]["count"], c["get"]["latency"]["count"]);
    assert_eq!(c["list_all"]["circuits_listed"], 50);
    assert!(
        c["memory"]["peak_rss_mib"].as_f64().unwrap() >= c["memory"]["rss_mib"].as_f64().unwrap()
    );
    assert!(c["memory"]["rss_mib"].as_f64().unwrap() > 0.0);
    assert_eq!(r["restart"]["circuits_listed"], 50);
    assert!(r["restart"]["seconds_to_first_get"].as_f64().unwrap() > 0.0);
    assert_eq!(r["durability"].as_array().unwrap().len(), 0);
    assert!(r["edge"].is_null());
    assert!(!r["targets"].as_array().unwrap().is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
