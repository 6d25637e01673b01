//! `causeway-bench`: see the library's documentation (`bench/src/lib.rs`) and
//! docs/benchmarks.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use bench::plan::{self, Scenario, Sizes};
use bench::report::{self, DataSummary, Machine, Report};
use bench::run::{self, RunOptions};
use bench::targets::Kind;
use clap::Parser;

/// Convergence, CPU and memory of Causeway's edge against BIRD, FRR, GoBGP and OpenBGPD.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// 1 full table, 2 full tables from --peers peers, 3 ExpressRoute circuits, 4 churn.
    #[arg(long, default_value_t = 1)]
    scenario: u8,
    /// Comma-separated: causeway, bird, frr, gobgp, openbgpd.
    #[arg(long, default_value = "causeway,bird,frr,gobgp,openbgpd")]
    targets: String,
    /// Use only the first N prefixes of the table (default: all of it).
    #[arg(long)]
    prefixes: Option<usize>,
    /// Also announce N synthetic IPv6 prefixes (scenarios 1, 2 and 4), over IPv6 sessions of
    /// their own next to the IPv4 ones (MP-BGP). A full IPv6 table is about 200,000
    /// (reference/bgp.md §4.3: 201.2 k at the end of 2023, 226 k in October 2024).
    #[arg(long, default_value_t = 0)]
    ipv6: usize,
    /// Senders in scenario 2.
    #[arg(long, default_value_t = 10)]
    peers: usize,
    /// Circuits in scenario 3.
    #[arg(long, default_value_t = 1000)]
    circuits: usize,
    /// Prefixes per circuit in scenario 3.
    #[arg(long, default_value_t = 4000)]
    circuit_prefixes: usize,
    /// Runs per target (the table shows medians).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Hold time every session proposes, in seconds.
    #[arg(long, default_value_t = 90)]
    hold_time: u16,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// Write the full results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The causeway binary (default: target/release/causeway of this workspace).
    #[arg(long, env = "CAUSEWAY_BIN")]
    causeway: Option<PathBuf>,
    /// Where the extracted CSV is cached (default: target/bench-data of this workspace).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn workspace_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        eprintln!("interrupted: stopping the run and cleaning up");
        run::INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    run::remove_stale_namespaces();
    let scenario = Scenario::from_number(cli.scenario)?;
    let kinds: Vec<Kind> = cli
        .targets
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Kind::parse)
        .collect::<anyhow::Result<_>>()?;
    let causeway = cli
        .causeway
        .clone()
        .unwrap_or_else(|| workspace_target().join("release/causeway"));
    if kinds.contains(&Kind::Causeway) && !causeway.is_file() {
        anyhow::bail!(
            "{} not found: build it with `cargo build --release -p causeway` or pass --causeway",
            causeway.display()
        );
    }
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| workspace_target().join("bench-data"));
    let csv = bench::data::csv_path(&data_dir).context("getting the routing data")?;
    let mut table = bench::data::load(&csv)?;
    // A path through the target's own AS would be dropped by every target's loop detection.
    table.routes.retain(|r| r.origin_as != plan::TARGET_AS);
    eprintln!(
        "data: {} ({} rows, {} usable prefixes)",
        csv.display(),
        table.rows,
        table.routes.len()
    );
    if cli.ipv6 > 0 && scenario == Scenario::ExpressRoute {
        anyhow::bail!("--ipv6 applies to scenarios 1, 2 and 4");
    }
    let v6 = bench::data::synthetic_ipv6(cli.ipv6, &table.routes);
    let sizes = Sizes {
        prefixes: cli.prefixes,
        peers: cli.peers,
        circuits: cli.circuits,
        circuit_prefixes: cli.circuit_prefixes,
        hold_time: cli.hold_time,
    };
    let started = std::time::Instant::now();
    let plan = plan::build(scenario, &table.routes, &v6, sizes);
    eprintln!(
        "plan: {} sessions, {} UPDATEs ({:.1} MiB), {} attribute sets, built in {:.1} s",
        plan.sessions(),
        plan.updates,
        plan.update_bytes as f64 / 1048576.0,
        plan.attribute_sets,
        started.elapsed().as_secs_f64()
    );
    let versions: BTreeMap<String, String> = kinds
        .iter()
        .map(|k| (k.name().to_string(), k.version(&causeway)))
        .collect();
    let opts = RunOptions {
        causeway,
        timeout: Duration::from_secs(cli.timeout),
    };
    let mut runs = Vec::new();
    for r in 0..cli.repeat.max(1) {
        for k in &kinds {
            eprintln!("run {}/{}: {} ...", r + 1, cli.repeat.max(1), k.name());
            let result = run::run(*k, &plan, &opts);
            eprintln!(
                "  {}: converged={} in {} (cpu {:.2} s, peak RSS {:.1} MiB){}",
                k.name(),
                result.converged,
                result
                    .convergence_secs
                    .map_or("-".into(), |s| format!("{s:.2} s")),
                result.cpu_secs,
                result.peak_rss_bytes as f64 / 1048576.0,
                result
                    .error
                    .as_deref()
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default()
            );
            runs.push(result);
        }
    }
    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        scenario: scenario.number(),
        machine: Machine::detect(),
        versions,
        data: DataSummary {
            source:
                "rotonda-store 0.5.0 data/uniq_pfx_asn_dfz_rnd.csv (RIPE RIS whois, <= May 2021)"
                    .into(),
            csv_rows: table.rows,
            usable_prefixes: table.routes.len(),
            expected_prefixes: plan.expected_prefixes,
            ipv6_prefixes: plan.expected_ipv6,
            paths: plan.paths,
            senders: plan.senders.len(),
            monitors: plan.monitors.len(),
            attribute_sets: plan.attribute_sets,
            updates: plan.updates,
            update_bytes: plan.update_bytes,
        },
        summary: report::summarize(&runs),
        runs,
    };
    print!("{}", report::render(&report));
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
