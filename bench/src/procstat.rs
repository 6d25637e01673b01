//! CPU time and memory of the target's processes, from /proc.
//!
//! Every process in the target's namespace counts: Causeway, BIRD, GoBGP and FRR's bgpd are one
//! process each (threads included in /proc/PID/stat); OpenBGPD is a parent, a session engine
//! and a route decision engine, and their CPU times and peak RSS are summed. A sum of per-process
//! peaks can exceed the peak of the sum, so for OpenBGPD the memory figure is an upper bound
//! (the RDE holds nearly all of it).

use std::process::Command;

/// CPU seconds and memory of a set of processes at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    pub cpu_secs: f64,
    /// Sum of VmRSS, bytes.
    pub rss: u64,
    /// Sum of VmHWM (peak RSS), bytes.
    pub hwm: u64,
    pub processes: usize,
}

/// The pids in network namespace `ns`.
pub fn netns_pids(ns: &str) -> Vec<u32> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Clock ticks per second for /proc/PID/stat times.
fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Sums CPU time and memory over `pids` (a pid that has gone away counts nothing).
pub fn sample(pids: &[u32]) -> Sample {
    let tck = clk_tck();
    let mut s = Sample::default();
    for pid in pids {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may contain spaces: fields are counted after its closing paren.
        let Some((_, after)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 (utime) and 15 (stime); `after` starts at field 3.
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|i| f.get(*i).and_then(|v| v.parse::<u64>().ok()))
            .sum();
        s.cpu_secs += ticks as f64 / tck;
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            s.rss += kb(&status, "VmRSS:");
            s.hwm += kb(&status, "VmHWM:");
        }
        s.processes += 1;
    }
    s
}

fn kb(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}
