//! `causeway-control-bench`: how the control plane's cost grows with the store size.
//!
//! The tool starts `causeway serve --http --local-edges none` on a fresh data directory and
//! talks to it only over HTTP, as an ARM client would (bearer token, nextLink paging):
//!
//! 1. **Load**: `--circuits N` circuits PUT by `--clients` concurrent clients, spread over
//!    `--subscriptions` × `--resource-groups`; the PUT rate of the first and the last 2,000
//!    (their ratio shows whether writes slow down as the store grows).
//! 2. **Checkpoints** (`--checkpoints`): when the store holds that many circuits, the PUT
//!    latency of the load just before, the cost of one write (tag updates of existing
//!    circuits), of one list page at the start, middle and end of subscription 1's listing,
//!    GET throughput and latency with `--get-connections` clients, the time to list every
//!    circuit via nextLink, and the server's RSS and peak RSS (VmHWM).
//! 3. **Restart**: SIGTERM, start again on the same data, time to the first answered GET,
//!    then a full listing must find every circuit.
//! 4. **Durability** (`--kill-rounds K`): four writers run, the server gets SIGKILL at a
//!    random moment; after the restart every acknowledged PUT must be there (creates exist,
//!    updates show the acknowledged tag version or a later one).
//! 5. **Edge follow** (`--edge-circuits M`): M lab circuits, provisioned with a private
//!    peering; an edge long-polls `/edge/v1/lab-edge-1/desired?after=G` while peerings are
//!    toggled: the time from a change's acknowledgement to the long poll showing it.
//!
//! Results: a table on stdout and, with `--json PATH`, a JSON report. A failed request, an
//! unexpected status or a server that dies ends the run with an error saying which.

mod api;
mod layout;
mod measure;
mod server;
mod stats;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde::Serialize;

use layout::Layout;
use measure::{Bench, EdgeFollow, GetLoad, KillRound, ListAll, Loader, PageCost};
use server::{Memory, Server};
use stats::{Rng, Summary};

#[derive(Debug, Clone, Parser, Serialize)]
#[command(
    name = "causeway-control-bench",
    about = "Control-plane scaling benchmark (over HTTP)"
)]
struct Args {
    /// The causeway binary to run as the server.
    #[arg(long, default_value = "target/release/causeway")]
    causeway: PathBuf,
    /// Circuits to load.
    #[arg(long, default_value_t = 100_000)]
    circuits: usize,
    /// Concurrent clients of the load.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Store sizes at which to measure (the last is always --circuits).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    checkpoints: Vec<usize>,
    /// Subscriptions the circuits are spread over (1 puts every circuit in one listing).
    #[arg(long, default_value_t = 10)]
    subscriptions: usize,
    /// Resource groups per subscription.
    #[arg(long, default_value_t = 10)]
    resource_groups: usize,
    /// Updates of existing circuits per checkpoint (the cost of one write).
    #[arg(long, default_value_t = 300)]
    writes: usize,
    /// Fetches of each sampled list page (start, middle, end) per checkpoint.
    #[arg(long, default_value_t = 20)]
    page_samples: usize,
    /// Concurrent connections of the GET measurement.
    #[arg(long, default_value_t = 8)]
    get_connections: usize,
    /// Duration of the GET measurement, in seconds.
    #[arg(long, default_value_t = 3.0)]
    get_seconds: f64,
    /// Crash-and-restart rounds of the durability check (0 = skip).
    #[arg(long, default_value_t = 0)]
    kill_rounds: usize,
    /// Lab circuits of the edge-follow measurement (0 = skip).
    #[arg(long, default_value_t = 0)]
    edge_circuits: usize,
    /// Peering changes timed in the edge-follow measurement.
    #[arg(long, default_value_t = 50)]
    edge_changes: usize,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The server's data directory (must not exist or be empty; default: a temporary one,
    /// removed after a successful run).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seed of the random choices (circuits, kill moments).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The server's store (`serve --store`): e.g. `postgres://user@host/db` (an empty
    /// database or schema). Default: SQLite in the data directory.
    #[arg(long)]
    store: Option<String>,
    /// Control replicas on the one `--store postgres://…`: the first is `causeway serve`,
    /// the others `causeway control`; the clients are spread over all of them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    replicas: u32,
}

/// PUT-rate windows: the first and the last this many PUTs of the load.
const RATE_WINDOW: usize = 2000;
/// PUTs just before a checkpoint whose latency is reported for it.
const LATENCY_WINDOW: usize = 1000;

#[derive(Debug, Serialize)]
struct Report {
    config: Args,
    first_start_seconds: f64,
    load: Load,
    checkpoints: Vec<Checkpoint>,
    restart: Restart,
    durability: Vec<KillRound>,
    edge: Option<EdgeFollow>,
    peak_rss_mib: f64,
    targets: Vec<Target>,
}

#[derive(Debug, Serialize)]
struct Load {
    circuits: usize,
    clients: usize,
    seconds: f64,
    rate_window: usize,
    first_per_second: f64,
    last_per_second: f64,
    last_to_first: f64,
}

#[derive(Debug, Serialize)]
struct Checkpoint {
    circuits: usize,
    /// The load's PUTs just before this size.
    put_latency: Summary,
    write: Summary,
    list_page: PageCost,
    get: GetLoad,
    list_all: ListAll,
    memory: Memory,
}

#[derive(Debug, Serialize)]
struct Restart {
    seconds_to_first_get: f64,
    circuits_listed: usize,
    list_seconds: f64,
}

#[derive(Debug, Serialize)]
struct Target {
    name: String,
    value: f64,
    goal: String,
    met: bool,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(mut args: Args) -> Result<()> {
    if args.circuits == 0 || args.resource_groups == 0 || !(1..900).contains(&args.subscriptions) {
        bail!("--circuits and --resource-groups must be at least 1, --subscriptions 1 to 899");
    }
    args.checkpoints.retain(|&c| c > 0 && c < args.circuits);
    args.checkpoints.push(args.circuits);
    args.checkpoints.sort_unstable();
    args.checkpoints.dedup();
    let (data_dir, temporary) = prepare_data_dir(args.data_dir.as_deref())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    eprintln!(
        "starting {} on 127.0.0.1:{port}, data in {}",
        args.causeway.display(),
        data_dir.display()
    );
    if args.replicas > 1
        && !args
            .store
            .as_deref()
            .is_some_and(|s| s.starts_with("postgres"))
    {
        bail!("--replicas above 1 needs --store postgres://…");
    }
    let (mut server, first_start) = Server::start(
        &args.causeway,
        &data_dir,
        port,
        args.store.clone(),
        args.replicas as usize,
    )?;
    let report = measure_all(&args, &mut server, first_start.as_secs_f64());
    let report = server.explain(report)?;
    server.stop()?;
    print_table(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if temporary {
        std::fs::remove_dir_all(&data_dir).ok();
    }
    Ok(())
}

/// The given data dir (which must be new or empty), or a fresh temporary one.
fn prepare_data_dir(given: Option<&Path>) -> Result<(PathBuf, bool)> {
    let (dir, temporary) = match given {
        Some(d) => (d.to_owned(), false),
        None => (
            std::env::temp_dir().join(format!("causeway-control-bench-{}", std::process::id())),
            true,
        ),
    };
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!(
            "data dir {} is not empty; the benchmark needs a fresh store",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok((dir, temporary))
}

fn measure_all(args: &Args, server: &mut Server, first_start_seconds: f64) -> Result<Report> {
    let layout = Layout {
        subscriptions: args.subscriptions,
        resource_groups: args.resource_groups,
    };
    let mut rng = Rng::new(args.seed);
    let mut loader = Loader::default();
    let mut checkpoints = Vec::new();
    let mut peak_rss_mib: f64 = 0.0;
    for &size in &args.checkpoints {
        let bench = Bench {
            api: server.api(),
            layout,
        };
        eprintln!("loading up to {size} circuits");
        bench.load_until(&mut loader, args.clients, size)?;
        eprintln!("measuring at {size} circuits");
        let c = checkpoint(args, server, &bench, &loader, &mut rng)?;
        peak_rss_mib = peak_rss_mib.max(c.memory.peak_rss_mib);
        checkpoints.push(c);
    }
    let window = RATE_WINDOW.min(loader.puts.len() / 2);
    let (first, last) = loader.rates(window);
    let load = Load {
        circuits: loader.done,
        clients: args.clients,
        seconds: loader.clock,
        rate_window: window,
        first_per_second: first,
        last_per_second: last,
        last_to_first: if first > 0.0 { last / first } else { 0.0 },
    };

    eprintln!("restarting (SIGTERM)");
    let restart = restart(server, layout, args.circuits)?;
    let mut durability = Vec::new();
    for round in 0..args.kill_rounds {
        eprintln!("durability round {} of {}", round + 1, args.kill_rounds);
        let r = measure::kill_round(server, &layout, args.circuits, round, &mut rng)?;
        peak_rss_mib = peak_rss_mib.max(server.memory()?.peak_rss_mib);
        durability.push(r);
    }
    if args.kill_rounds > 0 {
        let bench = Bench {
            api: server.api(),
            layout,
        };
        bench
            .list_all(args.circuits)
            .context("after the kill rounds")?;
    }
    let (lab, changes) = (args.edge_circuits, args.edge_changes);
    let mut edge = None;
    if lab > 0 {
        eprintln!("edge follow with {lab} lab circuits");
        let api = server.api();
        edge = Some(measure::edge_follow(
            &api,
            args.clients,
            lab,
            changes,
            &mut rng,
        )?);
    }
    peak_rss_mib = peak_rss_mib.max(server.memory()?.peak_rss_mib);
    let mut report = Report {
        config: args.clone(),
        first_start_seconds,
        load,
        checkpoints,
        restart,
        durability,
        edge,
        peak_rss_mib,
        targets: Vec::new(),
    };
    report.targets = targets(&report);
    Ok(report)
}

/// Everything measured at one store size.
fn checkpoint(
    args: &Args,
    server: &Server,
    b: &Bench,
    loader: &Loader,
    rng: &mut Rng,
) -> Result<Checkpoint> {
    let size = loader.done;
    Ok(Checkpoint {
        circuits: size,
        put_latency: loader.recent_latency(LATENCY_WINDOW.min(size.div_ceil(2))),
        write: b.write_cost(size, args.writes, rng)?,
        list_page: b.page_cost(args.page_samples)?,
        get: b.get_load(size, args.get_connections, args.get_seconds, rng.next_u64())?,
        list_all: b.list_all(size)?,
        memory: server.memory()?,
    })
}

/// SIGTERM, start again, time to the first GET, and every circuit must still be listed.
fn restart(server: &mut Server, layout: Layout, circuits: usize) -> Result<Restart> {
    server.stop()?;
    let took = server.restart()?;
    let bench = Bench {
        api: server.api(),
        layout,
    };
    let listed = bench.list_all(circuits).context("after the restart")?;
    Ok(Restart {
        seconds_to_first_get: took.as_secs_f64(),
        circuits_listed: listed.circuits_listed,
        list_seconds: listed.seconds,
    })
}

/// The goals of the scaling work, checked against the largest checkpoint.
fn targets(r: &Report) -> Vec<Target> {
    let mut t = vec![(
        "PUT rate, last/first window",
        r.load.last_to_first,
        ">= 0.70",
    )];
    if let Some(c) = r.checkpoints.last() {
        t.push(("GET p99 (ms)", c.get.latency.p99_ms, "< 2"));
        t.push(("GET/s", c.get.per_second, ">= 10000"));
        t.push(("list all (s)", c.list_all.seconds, "< 10 (at 100k)"));
    }
    t.push((
        "restart to first GET (s)",
        r.restart.seconds_to_first_get,
        "< 5",
    ));
    t.push(("peak RSS (MiB)", r.peak_rss_mib, "< 1024"));
    if !r.durability.is_empty() {
        let lost: usize = r
            .durability
            .iter()
            .map(|k| k.lost_creates + k.lost_updates)
            .sum();
        t.push(("acknowledged PUTs lost", lost as f64, "= 0"));
    }
    if let Some(e) = &r.edge {
        t.push(("edge follow p99 (ms)", e.latency.p99_ms, "<= 100"));
    }
    t.into_iter()
        .map(|(name, value, goal)| Target::new(name, value, goal))
        .collect()
}

impl Target {
    /// `goal` is an operator and a number ("< 2", ">= 0.70"), optionally followed by a note.
    fn new(name: &str, value: f64, goal: &str) -> Target {
        let mut words = goal.split_whitespace();
        let (op, bound) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let bound: f64 = bound.parse().unwrap_or(f64::NAN);
        let met = match op {
            "<" => value < bound,
            "<=" => value <= bound,
            ">=" => value >= bound,
            _ => value == bound,
        };
        Target {
            name: name.to_owned(),
            value,
            goal: goal.to_owned(),
            met,
        }
    }
}

fn print_table(r: &Report) {
    let l = &r.load;
    println!(
        "\nLoad: {} circuits by {} clients in {:.1} s; PUT/s first {w}: {:.1}, last {w}: {:.1} (last/first {:.2})\n",
        l.circuits,
        l.clients,
        l.seconds,
        l.first_per_second,
        l.last_per_second,
        l.last_to_first,
        w = l.rate_window
    );
    println!(
        "| circuits | load PUT p50/p99 ms | write p50/p99 ms | page start p50/p99 ms | page middle p50/p99 ms | page end p50/p99 ms | GET/s | GET p50/p99 ms | list all s (pages) | RSS / peak MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let pp = |s: &Summary| format!("{:.2} / {:.2}", s.p50_ms, s.p99_ms);
    for c in &r.checkpoints {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {} | {:.2} ({}) | {:.0} / {:.0} |",
            c.circuits,
            pp(&c.put_latency),
            pp(&c.write),
            pp(&c.list_page.start),
            pp(&c.list_page.middle),
            pp(&c.list_page.end),
            c.get.per_second,
            pp(&c.get.latency),
            c.list_all.seconds,
            c.list_all.pages,
            c.memory.rss_mib,
            c.memory.peak_rss_mib
        );
    }
    if let Some(c) = r.checkpoints.last() {
        println!(
            "\nList pages sampled from subscription 1: {} circuits in {} pages.",
            c.list_page.subscription_circuits, c.list_page.pages
        );
    }
    println!(
        "Restart (SIGTERM, same data): first GET after {:.2} s (first start {:.2} s); {} circuits listed in {:.2} s.",
        r.restart.seconds_to_first_get,
        r.first_start_seconds,
        r.restart.circuits_listed,
        r.restart.list_seconds
    );
    for k in &r.durability {
        println!(
            "Kill -9 round {}: after {} ms; acknowledged {} creates, {} updates ({} circuits); lost {} creates, {} updates; restart {:.2} s.",
            k.round + 1,
            k.killed_after_ms,
            k.acknowledged_creates,
            k.acknowledged_updates,
            k.updated_circuits,
            k.lost_creates,
            k.lost_updates,
            k.restart_seconds
        );
    }
    if let Some(e) = &r.edge {
        println!(
            "Edge follow ({} lab circuits, {} in the desired state): {} changes, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms.",
            e.circuits,
            e.desired_circuits,
            e.changes,
            e.latency.p50_ms,
            e.latency.p99_ms,
            e.latency.max_ms
        );
    }
    println!("\n| target | value | goal | met |\n|---|---:|---|---|");
    for t in &r.targets {
        println!(
            "| {} | {:.2} | {} | {} |",
            t.name,
            t.value,
            t.goal,
            if t.met { "yes" } else { "NO" }
        );
    }
}
