//! The benchmark harness runs end to end on a tiny input: real prefixes from the table (and,
//! over IPv6 sessions, a few synthetic IPv6 ones) go through Causeway's edge and through BIRD,
//! and the monitors end up holding exactly the prefixes that were sent, over the paths they
//! must win with. Nothing here is timed: the
//! benchmark's figures are never asserted in the suite (docs/benchmarks.md has them).
//!
//! Needs root for network namespaces, like tests/e2e: without root it skips with a message,
//! under CI=true it fails. The edge binary is `$CAUSEWAY_BIN`, else the workspace's
//! `target/debug/causeway` (scripts/test builds it first).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn causeway_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CAUSEWAY_BIN") {
        return PathBuf::from(p);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("debug/causeway")
}

/// Runs the harness with `args` against causeway and bird and returns its JSON report.
fn bench(name: &str, args: &[&str]) -> Value {
    let json =
        std::env::temp_dir().join(format!("causeway-bench-{name}-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_causeway-bench"))
        .args(args)
        .args(["--targets", "causeway,bird", "--timeout", "120", "--json"])
        .arg(&json)
        .arg("--causeway")
        .arg(causeway_bin())
        .output()
        .expect("the harness runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "causeway-bench {args:?} failed:\n{text}"
    );
    let report: Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{text}")),
    )
    .expect("the report is JSON");
    let _ = std::fs::remove_file(&json);
    report
}

/// Every run converged and its monitors hold exactly the expected prefixes.
fn assert_exact(report: &Value, targets: &[&str]) {
    let runs = report["runs"].as_array().expect("runs");
    for t in targets {
        let run = runs
            .iter()
            .find(|r| r["target"] == *t)
            .unwrap_or_else(|| panic!("no run for {t}: {report:#}"));
        assert_eq!(run["error"], Value::Null, "{t}: {run:#}");
        assert_eq!(run["converged"], true, "{t}: {run:#}");
        let expected = run["expected_prefixes"].as_u64().expect("a count");
        let expected6 = run["expected_ipv6"].as_u64().expect("a count");
        assert!(expected > expected6);
        assert_eq!(
            run["received_ipv4"].as_u64(),
            Some(expected - expected6),
            "{t}: {run:#}"
        );
        assert_eq!(
            run["received_ipv6"].as_u64(),
            Some(expected6),
            "{t}: {run:#}"
        );
        assert_eq!(run["missing"].as_u64(), Some(0), "{t}: {run:#}");
        assert_eq!(run["unexpected"].as_u64(), Some(0), "{t}: {run:#}");
        assert_eq!(
            run["session_problems"].as_array().map(Vec::len),
            Some(0),
            "{t}: {run:#}"
        );
    }
}

#[test]
fn a_full_table_sample_arrives_at_the_monitor_exactly_as_sent_through_causeway_and_bird() {
    if !e2e::require_root("a_full_table_sample_arrives_at_the_monitor") {
        return;
    }
    let report = bench(
        "s1",
        &["--scenario", "1", "--prefixes", "2000", "--ipv6", "300"],
    );
    for run in report["runs"].as_array().expect("runs") {
        assert_eq!(run["expected_prefixes"], 2300, "{run:#}");
        assert_eq!(run["expected_ipv6"], 300, "{run:#}");
    }
    assert_eq!(
        report["data"]["monitors"], 2,
        "an IPv4 and an IPv6 monitor session"
    );
    assert_exact(&report, &["causeway", "bird"]);
}

#[test]
fn three_circuits_each_deliver_their_own_prefixes_to_their_own_monitor() {
    if !e2e::require_root("three_circuits_each_deliver_their_own_prefixes") {
        return;
    }
    let report = bench(
        "s3",
        &[
            "--scenario",
            "3",
            "--circuits",
            "3",
            "--circuit-prefixes",
            "500",
        ],
    );
    assert_eq!(report["runs"][0]["expected_prefixes"], 1500);
    assert_eq!(report["runs"][0]["paths"], 3000);
    assert_exact(&report, &["causeway", "bird"]);
}
