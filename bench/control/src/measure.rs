//! The measurements, one function each. Every request's status is checked; a failure stops
//! the run with the request that failed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::layout::{self, Layout};
use crate::server::Server;
use crate::stats::{Rng, Summary};

/// Runs `work(t)` on `n` threads while `meanwhile` runs on this one: every thread's result,
/// or the first error.
fn on_threads<T: Send>(
    n: usize,
    work: impl Fn(usize) -> Result<T> + Sync,
    meanwhile: impl FnOnce() -> Result<()>,
) -> Result<Vec<T>> {
    std::thread::scope(|s| {
        let work = &work;
        let handles: Vec<_> = (0..n.max(1)).map(|t| s.spawn(move || work(t))).collect();
        let side = meanwhile();
        let all = handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("a client thread panicked"))?);
        let all = all.collect::<Result<Vec<T>>>();
        side.and(all)
    })
}

/// Runs `work(api, i)` for every `i` in `items` on `clients` threads, each with its own
/// connection; stops at the first error. Results come in no particular order.
pub fn parallel<T: Send>(
    api: &Api,
    clients: usize,
    items: std::ops::Range<usize>,
    work: impl Fn(&Api, usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let (next, failed) = (AtomicUsize::new(items.start), AtomicBool::new(false));
    let per_thread = |_| {
        let (api, mut out) = (api.fork(), Vec::new());
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= items.end || failed.load(Ordering::Relaxed) {
                return Ok(out);
            }
            let t = work(&api, i).inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
            out.push(t);
        }
    };
    Ok(on_threads(clients, per_thread, || Ok(()))?
        .into_iter()
        .flatten()
        .collect())
}

/// One acknowledged load PUT: when it completed on the load clock (seconds of loading,
/// pauses for checkpoint measurements excluded) and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Put {
    pub end: f64,
    pub latency: Duration,
}

/// The load so far: circuits `0..done`, their PUTs in completion order.
#[derive(Debug, Default)]
pub struct Loader {
    pub done: usize,
    pub clock: f64,
    pub puts: Vec<Put>,
}

impl Loader {
    /// PUT rate of the first and the last `window` PUTs of the load, per second.
    pub fn rates(&self, window: usize) -> (f64, f64) {
        let (p, n) = (&self.puts, self.puts.len());
        if window == 0 || n <= window {
            return (0.0, 0.0);
        }
        let first = window as f64 / p[window - 1].end.max(1e-9);
        (
            first,
            window as f64 / (p[n - 1].end - p[n - 1 - window].end).max(1e-9),
        )
    }

    /// Latency of the last `window` PUTs.
    pub fn recent_latency(&self, window: usize) -> Summary {
        let recent = &self.puts[self.puts.len().saturating_sub(window)..];
        Summary::of(&recent.iter().map(|p| p.latency).collect::<Vec<_>>())
    }
}

/// A full listing via nextLink: every page's link (the first is the plain path) and every id.
pub fn list(api: &Api, first: &str) -> Result<(Vec<String>, Vec<String>)> {
    let (mut links, mut ids) = (vec![first.to_owned()], Vec::new());
    loop {
        let page = api.get(&links[links.len() - 1])?;
        let value = page["value"]
            .as_array()
            .ok_or_else(|| anyhow!("a list page has no 'value'"))?;
        ids.extend(
            value
                .iter()
                .filter_map(|c| c["id"].as_str())
                .map(str::to_ascii_lowercase),
        );
        match page["nextLink"].as_str() {
            Some(next) if !next.is_empty() => links.push(next.to_owned()),
            _ => return Ok((links, ids)),
        }
    }
}

/// Single list pages: their latency at the start, middle and end of a listing.
#[derive(Debug, Serialize)]
pub struct PageCost {
    pub subscription_circuits: usize,
    pub pages: usize,
    pub start: Summary,
    pub middle: Summary,
    pub end: Summary,
}

/// Every subscription listed completely, one after the other.
#[derive(Debug, Serialize)]
pub struct ListAll {
    pub circuits_listed: usize,
    pub pages: usize,
    pub seconds: f64,
}

/// GETs of random existing circuits: throughput and latency.
#[derive(Debug, Serialize)]
pub struct GetLoad {
    pub connections: usize,
    pub seconds: f64,
    pub count: usize,
    pub per_second: f64,
    pub latency: Summary,
}

/// The server (one connection of it) and where the loaded circuits live: what the
/// measurements at a checkpoint need.
#[derive(Debug)]
pub struct Bench {
    pub api: Api,
    pub layout: Layout,
}

impl Bench {
    /// PUTs circuits `loader.done..upto` with `clients` concurrent clients.
    pub fn load_until(&self, loader: &mut Loader, clients: usize, upto: usize) -> Result<()> {
        let (api, layout) = (&self.api, &self.layout);
        let (offset, started) = (loader.clock, Instant::now());
        let body = layout::circuit_body("Equinix", "Amsterdam", json!({"bench": "load"}));
        let mut puts = parallel(api, clients, loader.done..upto, |api, i| {
            let t0 = Instant::now();
            api.put(&layout.circuit(i), &body)?;
            let (latency, end) = (t0.elapsed(), offset + started.elapsed().as_secs_f64());
            if (i + 1) % 5000 == 0 {
                eprintln!("  loaded {} circuits ({end:.0} s of loading)", i + 1);
            }
            Ok(Put { end, latency })
        })?;
        puts.sort_by(|a, b| a.end.total_cmp(&b.end));
        loader.puts.extend(puts);
        loader.clock = offset + started.elapsed().as_secs_f64();
        loader.done = upto;
        Ok(())
    }

    /// The cost of one write: sequential PUTs that change the tags of random existing circuits.
    pub fn write_cost(&self, size: usize, writes: usize, rng: &mut Rng) -> Result<Summary> {
        let (api, layout) = (&self.api, &self.layout);
        let mut latencies = Vec::with_capacity(writes);
        for k in 0..writes {
            let tags = json!({"bench": "write", "w": k.to_string()});
            let body = layout::circuit_body("Equinix", "Amsterdam", tags);
            let path = layout.circuit(rng.below(size));
            let t0 = Instant::now();
            let answer = api.expect("PUT", &path, Some(&body), &[200])?;
            latencies.push(t0.elapsed());
            ensure!(
                answer["tags"] == body["tags"],
                "PUT {path} answered other tags"
            );
        }
        Ok(Summary::of(&latencies))
    }

    /// Latency of single list pages at the start, middle and end of subscription 1's listing.
    pub fn page_cost(&self, samples: usize) -> Result<PageCost> {
        let (api, layout) = (&self.api, &self.layout);
        let (links, ids) = list(api, &layout.list(1))?;
        let picks = [0, links.len() / 2, links.len() - 1];
        let mut latencies = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..samples {
            for (pick, lat) in picks.iter().zip(&mut latencies) {
                let t0 = Instant::now();
                let page = api.get(&links[*pick])?;
                lat.push(t0.elapsed());
                ensure!(
                    page["value"].is_array(),
                    "page {pick} of the listing has no 'value'"
                );
            }
        }
        let [start, middle, end] = latencies.map(|l| Summary::of(&l));
        Ok(PageCost {
            subscription_circuits: ids.len(),
            pages: links.len(),
            start,
            middle,
            end,
        })
    }

    /// Lists every circuit of the layout; fails unless exactly `expected` distinct ones come back.
    pub fn list_all(&self, expected: usize) -> Result<ListAll> {
        let (api, layout) = (&self.api, &self.layout);
        let started = Instant::now();
        let (mut pages, mut listed, mut unique) = (0, 0, HashSet::new());
        for sub in 1..=layout.subscriptions {
            let (links, ids) = list(api, &layout.list(sub))?;
            (pages, listed) = (pages + links.len(), listed + ids.len());
            unique.extend(ids);
        }
        let seconds = started.elapsed().as_secs_f64();
        let distinct = unique.len();
        ensure!(
            listed == expected && distinct == expected,
            "listing found {listed} circuits ({distinct} distinct), expected {expected}"
        );
        Ok(ListAll {
            circuits_listed: listed,
            pages,
            seconds,
        })
    }

    /// Throughput and latency of GETs of random existing circuits.
    pub fn get_load(&self, size: usize, conns: usize, seconds: f64, seed: u64) -> Result<GetLoad> {
        let (api, layout) = (&self.api, &self.layout);
        let (run, started) = (Duration::from_secs_f64(seconds), Instant::now());
        let per_thread = |t: usize| -> Result<Vec<Duration>> {
            let (api, mut rng, mut lat) =
                (api.fork(), Rng::new(seed ^ ((t as u64) << 32)), Vec::new());
            while started.elapsed() < run {
                let path = layout.circuit(rng.below(size));
                let t0 = Instant::now();
                // Only the status is checked: parsing every body would cost the client's CPU.
                let (status, body) = api.send("GET", &path, None)?;
                lat.push(t0.elapsed());
                ensure!(
                    status == 200,
                    "GET {path}: unexpected status {status}: {body}"
                );
            }
            Ok(lat)
        };
        let latencies: Vec<Duration> = on_threads(conns, per_thread, || Ok(()))?.concat();
        let elapsed = started.elapsed().as_secs_f64();
        Ok(GetLoad {
            connections: conns,
            seconds: elapsed,
            count: latencies.len(),
            per_second: latencies.len() as f64 / elapsed,
            latency: Summary::of(&latencies),
        })
    }
}

/// One crash: writers running, SIGKILL at a random moment, restart, every ack checked.
#[derive(Debug, Serialize)]
pub struct KillRound {
    pub round: usize,
    pub killed_after_ms: u64,
    pub acknowledged_creates: usize,
    /// Acknowledged updates, and the distinct circuits they touched (each checked for the
    /// last version acknowledged to it).
    pub acknowledged_updates: usize,
    pub updated_circuits: usize,
    pub lost_creates: usize,
    pub lost_updates: usize,
    pub restart_seconds: f64,
}

/// What one writer got acknowledged: created paths, the number of updates and per updated
/// circuit the last version (tag `kr`) acknowledged.
#[derive(Debug, Default)]
struct Acks {
    created: Vec<String>,
    updates: usize,
    updated: HashMap<usize, u64>,
}

const WRITERS: usize = 4;

/// Writer `w` alternates creating circuits and updating its own share of the loaded ones
/// (`i % WRITERS == w`, so versions per circuit only grow) until the server goes away.
fn writer(
    api: &Api,
    layout: &Layout,
    n: usize,
    round: usize,
    w: usize,
    killed: &AtomicBool,
) -> Result<Acks> {
    let (mut rng, mut acks) = (Rng::new((round * WRITERS + w) as u64 + 7), Acks::default());
    for k in 1u64.. {
        let version = (round as u64 + 1) * 1_000_000_000 + k;
        let tags = json!({"bench": "durability", "kr": version.to_string()});
        let (path, update) = if k % 2 == 0 {
            (layout::durability_circuit(round, w, k), None)
        } else {
            let i = w + WRITERS * rng.below(n / WRITERS);
            (layout.circuit(i), Some(i))
        };
        match (
            api.put(&path, &layout::circuit_body("Equinix", "Amsterdam", tags)),
            update,
        ) {
            (Ok(_), Some(i)) => {
                acks.updates += 1;
                acks.updated.insert(i, version);
            }
            (Ok(_), None) => acks.created.push(path),
            (Err(_), _) if killed.load(Ordering::SeqCst) => break,
            (Err(e), _) => return Err(e.context("a durability writer failed before the kill")),
        }
    }
    Ok(acks)
}

pub fn kill_round(
    server: &mut Server,
    layout: &Layout,
    n: usize,
    round: usize,
    rng: &mut Rng,
) -> Result<KillRound> {
    ensure!(
        n >= WRITERS,
        "kill rounds need at least {WRITERS} loaded circuits"
    );
    let (api, killed) = (server.api(), AtomicBool::new(false));
    let delay = Duration::from_millis(300 + rng.below(2000) as u64);
    let acks = on_threads(
        WRITERS,
        |w| writer(&api.fork(), layout, n, round, w, &killed),
        || {
            std::thread::sleep(delay);
            killed.store(true, Ordering::SeqCst);
            server.crash()
        },
    )?;
    let restart = server.restart().context("restart after kill -9")?;
    let api = server.api();
    let (mut lost_creates, mut lost_updates) = (0, 0);
    for a in &acks {
        for path in &a.created {
            match api.send("GET", path, None)?.0 {
                200 => {}
                404 => lost_creates += 1,
                s => bail!("GET {path}: unexpected status {s}"),
            }
        }
        for (&i, &version) in &a.updated {
            let c = api.get(&layout.circuit(i))?;
            let have: u64 = c["tags"]["kr"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            lost_updates += usize::from(have < version);
        }
    }
    Ok(KillRound {
        round,
        killed_after_ms: delay.as_millis() as u64,
        acknowledged_creates: acks.iter().map(|a| a.created.len()).sum(),
        acknowledged_updates: acks.iter().map(|a| a.updates).sum(),
        updated_circuits: acks.iter().map(|a| a.updated.len()).sum(),
        lost_creates,
        lost_updates,
        restart_seconds: restart.as_secs_f64(),
    })
}

/// From a change's acknowledgement to a waiting edge long-poll showing it.
#[derive(Debug, Serialize)]
pub struct EdgeFollow {
    pub circuits: usize,
    /// Circuits with a private peering in the edge's first desired state.
    pub desired_circuits: usize,
    pub changes: usize,
    pub latency: Summary,
}

const EDGE: &str = "lab-edge-1";

/// One long-poll answer: when it arrived, and per service key whether the private peering
/// is enabled.
type Desired = (Instant, HashMap<String, bool>);

fn desired_states(d: &Value) -> Option<HashMap<String, bool>> {
    let states = d["circuits"].as_array()?.iter().filter_map(|c| {
        let peerings = c["peerings"].as_array()?;
        let private = peerings
            .iter()
            .find(|p| p["name"] == "AzurePrivatePeering")?;
        Some((
            c["service_key"].as_str()?.to_ascii_lowercase(),
            private["enabled"].as_bool()?,
        ))
    });
    Some(states.collect())
}

/// The edge's loop: long-poll `desired?after=<generation>` and pass every answer on.
fn follow(api: &Api, tx: &mpsc::Sender<Result<Desired>>, stop: &AtomicBool) {
    let mut path = format!("/edge/v1/{EDGE}/desired");
    while !stop.load(Ordering::SeqCst) {
        let answer = api.get(&path).and_then(|d| {
            let at = Instant::now();
            let generation = d["generation"].as_u64();
            let states = desired_states(&d);
            let (Some(g), Some(states)) = (generation, states) else {
                bail!("the edge's desired state lacks 'generation' or 'circuits'");
            };
            path = format!("/edge/v1/{EDGE}/desired?after={g}");
            Ok((at, states))
        });
        let failed = answer.is_err();
        if tx.send(answer).is_err() || failed {
            return;
        }
    }
}

/// Makes `n` provisioned lab circuits with a private peering; their service keys.
fn lab_circuits(api: &Api, clients: usize, n: usize) -> Result<Vec<String>> {
    let mut keys = parallel(api, clients, 0..n, |api, i| {
        let path = layout::edge_circuit(i);
        let c = api.put(
            &path,
            &layout::circuit_body("Causeway Lab", "Lab", json!({})),
        )?;
        let key = c["properties"]["serviceKey"].as_str();
        let key = key
            .ok_or_else(|| anyhow!("PUT {path}: no serviceKey"))?
            .to_ascii_lowercase();
        if c["properties"]["serviceProviderProvisioningState"] != "Provisioned" {
            let body = json!({"properties": {"serviceProviderProvisioningState": "Provisioned"}});
            api.put(&layout::cross_connection(&key), &body)?;
        }
        api.put(
            &format!("{path}/peerings/AzurePrivatePeering"),
            &layout::peering_body(true),
        )?;
        Ok((i, key))
    })?;
    keys.sort();
    Ok(keys.into_iter().map(|(_, k)| k).collect())
}

pub fn edge_follow(
    api: &Api,
    clients: usize,
    n: usize,
    changes: usize,
    rng: &mut Rng,
) -> Result<EdgeFollow> {
    let keys = lab_circuits(api, clients, n)?;
    let (tx, rx) = mpsc::channel();
    let stop = AtomicBool::new(false);
    let recv = |deadline: Instant| -> Result<Desired> {
        let left = deadline.saturating_duration_since(Instant::now());
        rx.recv_timeout(left)
            .map_err(|_| anyhow!("the edge's long poll showed nothing new in 10 s"))?
    };
    let mut enabled = vec![true; n];
    // Flips circuit j's private peering: when that was acknowledged, and the new state.
    let mut toggle = |j: usize| -> Result<(Instant, bool)> {
        enabled[j] = !enabled[j];
        let path = format!("{}/peerings/AzurePrivatePeering", layout::edge_circuit(j));
        api.put(&path, &layout::peering_body(enabled[j]))?;
        Ok((Instant::now(), enabled[j]))
    };
    let poller = api.fork();
    let mut result = None;
    let follower = |_| {
        follow(&poller, &tx, &stop);
        Ok(())
    };
    on_threads(1, follower, || {
        let measured = (|| -> Result<EdgeFollow> {
            let (_, first) = recv(Instant::now() + Duration::from_secs(10))?;
            let missing = keys.iter().filter(|k| first.get(*k) != Some(&true)).count();
            ensure!(
                missing == 0,
                "{missing} of the {n} lab circuits are missing for {EDGE}"
            );
            let mut latencies = Vec::with_capacity(changes);
            for _ in 0..changes {
                // Let the poller re-arm, so that the change meets a waiting long poll.
                std::thread::sleep(Duration::from_millis(50));
                while let Ok(m) = rx.try_recv() {
                    m?;
                }
                let j = rng.below(n);
                let (acked, want) = toggle(j)?;
                loop {
                    let (at, states) = recv(acked + Duration::from_secs(10))?;
                    if states.get(&keys[j]) == Some(&want) {
                        latencies.push(at.saturating_duration_since(acked));
                        break;
                    }
                }
            }
            let latency = Summary::of(&latencies);
            Ok(EdgeFollow {
                circuits: n,
                desired_circuits: first.len(),
                changes,
                latency,
            })
        })();
        // Stop the poller: one more change wakes it from its long poll.
        stop.store(true, Ordering::SeqCst);
        let woken = toggle(0);
        result = Some(measured?);
        woken.map(drop)
    })?;
    result.ok_or_else(|| anyhow!("the edge measurement did not run"))
}
