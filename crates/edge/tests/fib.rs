//! The FIB writer against a real kernel: each test makes its own network namespace with a
//! veth pair carrying addresses, drives a [`Fib`] in it and reads the result back with
//! `ip -j route`. Needs root (CAP_NET_ADMIN) and iproute2; without them the tests skip with a
//! message, or fail when `CI=true`.

use std::net::IpAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use edge::fib::{Fib, FibRoute, METRIC, RTPROT_BGP};
use serde_json::Value;

/// Whether this test can run; false (after saying why) when it should skip.
fn privileged(test: &str) -> bool {
    let problem = if !edge::netns::have_net_admin() {
        Some("needs root (CAP_NET_ADMIN)".to_owned())
    } else {
        match Command::new("ip").args(["netns", "list"]).output() {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "`ip netns` fails: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Some(format!("cannot run ip: {e}")),
        }
    };
    match problem {
        None => true,
        Some(p) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: {p}; under CI=true this test must run, not skip")
        }
        Some(p) => {
            eprintln!("SKIPPED {test}: {p}");
            false
        }
    }
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A namespace of its own with a veth pair `a0` (10.1.0.1/24, 2001:db8:1::1/64) and `b0`
/// (10.2.0.1/24, 2001:db8:2::1/64), both up; deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "cwt-fib-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        let n = ns.name.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"]);
        ip(&[
            "-n", n, "link", "add", "a0", "type", "veth", "peer", "name", "b0",
        ]);
        for (dev, v4, v6) in [
            ("a0", "10.1.0.1/24", "2001:db8:1::1/64"),
            ("b0", "10.2.0.1/24", "2001:db8:2::1/64"),
        ] {
            ip(&["-n", n, "addr", "add", v4, "dev", dev]);
            ip(&["-n", n, "-6", "addr", "add", v6, "dev", dev, "nodad"]);
            ip(&["-n", n, "link", "set", dev, "up"]);
        }
        ns
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// The main table's routes of one family (all protocols).
    fn routes(&self, v6: bool) -> Vec<Value> {
        let family = if v6 { "-6" } else { "-4" };
        let out = ip(&[
            "-n", &self.name, family, "-j", "route", "show", "table", "main",
        ]);
        serde_json::from_str(&out).expect("ip -j route output")
    }

    /// `ip route show proto 186` of one family.
    fn bgp_routes(&self, v6: bool) -> Vec<Value> {
        let family = if v6 { "-6" } else { "-4" };
        let proto = RTPROT_BGP.to_string();
        let out = ip(&[
            "-n", &self.name, family, "-j", "route", "show", "proto", &proto,
        ]);
        serde_json::from_str(&out).expect("ip -j route output")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Polls until `check` holds, failing with what was last seen after a deadline.
async fn eventually<T: std::fmt::Debug>(
    what: &str,
    mut probe: impl FnMut() -> T,
    check: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = probe();
        if check(&seen) {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; last seen: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn dst(r: &Value) -> &str {
    r["dst"].as_str().unwrap_or_default()
}

fn with_dst<'a>(routes: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    routes.iter().filter(|r| dst(r) == prefix).collect()
}

/// The gateways of a route: its own, or those of its `nexthops`.
fn gateways(r: &Value) -> Vec<String> {
    let mut gws: Vec<String> = match r["nexthops"].as_array() {
        Some(hops) => hops
            .iter()
            .filter_map(|h| h["gateway"].as_str().map(str::to_owned))
            .collect(),
        None => r["gateway"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect(),
    };
    gws.sort();
    gws
}

fn is_bgp(r: &Value) -> bool {
    matches!(r["protocol"].as_str(), Some("bgp" | "186"))
}

fn route(prefix: &str, next_hops: &[&str]) -> FibRoute {
    FibRoute::new(
        prefix.parse().expect("prefix"),
        next_hops
            .iter()
            .map(|h| h.parse::<IpAddr>().expect("next hop")),
    )
}

fn delete(prefix: &str) -> FibRoute {
    FibRoute::delete(prefix.parse().expect("prefix"))
}

#[tokio::test]
async fn ipv4_route_single_then_ecmp_then_single_then_deleted() {
    if !privileged("ipv4_route_single_then_ecmp_then_single_then_deleted") {
        return;
    }
    let ns = Netns::new();
    let fib = Fib::spawn(Some(ns.name())).expect("spawn");
    let p = "10.9.0.0/24";

    // (1) One next hop: a plain route, protocol bgp, our metric.
    fib.apply(vec![route(p, &["10.1.0.2"])]);
    let routes = eventually(
        "the single-next-hop route",
        || ns.routes(false),
        |rs| with_dst(rs, p).len() == 1,
    )
    .await;
    let r = with_dst(&routes, p)[0];
    assert!(is_bgp(r), "{r:#}");
    assert_eq!(r["gateway"], "10.1.0.2", "{r:#}");
    assert_eq!(r["dev"], "a0", "{r:#}");
    assert_eq!(r["metric"], METRIC, "{r:#}");
    assert_eq!(ns.bgp_routes(false).len(), 1, "{:#?}", ns.bgp_routes(false));

    // (2) Two next hops: one multipath route with both gateways.
    fib.apply(vec![route(p, &["10.1.0.2", "10.2.0.2"])]);
    let routes = eventually(
        "the ECMP route",
        || ns.bgp_routes(false),
        |rs| with_dst(rs, p).len() == 1 && with_dst(rs, p)[0]["nexthops"].is_array(),
    )
    .await;
    assert_eq!(routes.len(), 1, "{routes:#?}");
    assert_eq!(
        gateways(&routes[0]),
        ["10.1.0.2", "10.2.0.2"],
        "{routes:#?}"
    );
    let weights: Vec<&Value> = routes[0]["nexthops"]
        .as_array()
        .expect("nexthops")
        .iter()
        .map(|h| &h["weight"])
        .collect();
    assert!(weights.iter().all(|w| **w == 1), "{routes:#?}");

    // (3) Back to one next hop: replaced in place, still one route.
    fib.apply(vec![route(p, &["10.2.0.2"])]);
    let routes = eventually(
        "the route back to one next hop",
        || ns.bgp_routes(false),
        |rs| rs.iter().any(|r| dst(r) == p && r["nexthops"].is_null()),
    )
    .await;
    assert_eq!(routes.len(), 1, "{routes:#?}");
    assert_eq!(gateways(&routes[0]), ["10.2.0.2"], "{routes:#?}");
    assert_eq!(routes[0]["dev"], "b0", "{routes:#?}");
    fib.settled().await;
    assert_eq!(fib.installed(), 1);
    assert_eq!(fib.errors(), 0);

    // (4) Deleted.
    fib.apply(vec![delete(p)]);
    eventually(
        "the route deleted",
        || ns.bgp_routes(false),
        |rs| with_dst(rs, p).is_empty(),
    )
    .await;
    fib.settled().await;
    assert_eq!(fib.installed(), 0);
    assert_eq!(fib.errors(), 0, "deleting is not an error");

    // Deleting what is not there is not an error either.
    fib.apply(vec![delete(p)]);
    fib.settled().await;
    assert_eq!(fib.errors(), 0);
}

#[tokio::test]
async fn queued_changes_coalesce_per_prefix() {
    if !privileged("queued_changes_coalesce_per_prefix") {
        return;
    }
    let ns = Netns::new();
    let fib = Fib::spawn(Some(ns.name())).expect("spawn");
    fib.apply(vec![route("10.7.0.0/24", &["10.1.0.2"])]);
    fib.apply(vec![
        route("10.7.0.0/24", &["10.1.0.2", "10.2.0.2"]),
        route("10.6.0.0/24", &["10.2.0.2"]),
    ]);
    fib.apply(vec![
        delete("10.6.0.0/24"),
        route("10.5.0.0/16", &["10.1.0.2"]),
    ]);
    eventually(
        "the last state of each prefix",
        || ns.bgp_routes(false),
        |rs| with_dst(rs, "10.5.0.0/16").len() == 1 && with_dst(rs, "10.7.0.0/24").len() == 1,
    )
    .await;
    fib.settled().await;
    let routes = ns.bgp_routes(false);
    assert_eq!(routes.len(), 2, "{routes:#?}");
    assert_eq!(
        gateways(with_dst(&routes, "10.7.0.0/24")[0]),
        ["10.1.0.2", "10.2.0.2"]
    );
    assert_eq!(fib.installed(), 2);
}

#[tokio::test]
async fn reconcile_removes_only_stale_bgp_routes() {
    if !privileged("reconcile_removes_only_stale_bgp_routes") {
        return;
    }
    let ns = Netns::new();
    let n = ns.name();
    // What a previous run left, and a route somebody else owns.
    ip(&[
        "-n",
        n,
        "route",
        "add",
        "10.20.0.0/24",
        "via",
        "10.1.0.2",
        "proto",
        "186",
    ]);
    ip(&[
        "-n",
        n,
        "route",
        "add",
        "10.21.0.0/24",
        "via",
        "10.1.0.2",
        "proto",
        "186",
    ]);
    ip(&[
        "-n",
        n,
        "route",
        "add",
        "10.22.0.0/24",
        "via",
        "10.2.0.2",
        "proto",
        "static",
    ]);
    ip(&[
        "-n",
        n,
        "-6",
        "route",
        "add",
        "2001:db8:20::/48",
        "via",
        "2001:db8:1::2",
        "proto",
        "186",
        "metric",
        "20",
    ]);
    ip(&[
        "-n",
        n,
        "-6",
        "route",
        "add",
        "2001:db8:21::/48",
        "via",
        "2001:db8:1::2",
        "proto",
        "186",
    ]);

    let fib = Fib::spawn(Some(n)).expect("spawn");
    fib.apply(vec![
        route("10.20.0.0/24", &["10.2.0.2"]),
        route("2001:db8:20::/48", &["2001:db8:2::2"]),
    ]);
    // Until the reconcile ends, stale routes keep forwarding.
    fib.settled().await;
    let before = ns.bgp_routes(false);
    assert_eq!(with_dst(&before, "10.21.0.0/24").len(), 1, "{before:#?}");
    fib.sync();

    let v4 = eventually(
        "the stale IPv4 route gone",
        || ns.routes(false),
        |rs| with_dst(rs, "10.21.0.0/24").is_empty(),
    )
    .await;
    let v6 = eventually(
        "the stale IPv6 route gone",
        || ns.routes(true),
        |rs| with_dst(rs, "2001:db8:21::/48").is_empty(),
    )
    .await;
    fib.settled().await;

    // The re-applied prefix: one route, ours, with the new next hop (the old one, at the
    // kernel's default metric, is gone too).
    let kept = with_dst(&v4, "10.20.0.0/24");
    assert_eq!(kept.len(), 1, "{v4:#?}");
    assert!(is_bgp(kept[0]), "{v4:#?}");
    assert_eq!(gateways(kept[0]), ["10.2.0.2"], "{v4:#?}");
    assert_eq!(kept[0]["metric"], METRIC, "{v4:#?}");
    let kept6 = with_dst(&v6, "2001:db8:20::/48");
    assert_eq!(kept6.len(), 1, "{v6:#?}");
    assert_eq!(gateways(kept6[0]), ["2001:db8:2::2"], "{v6:#?}");
    // Another protocol's route is never touched.
    let other = with_dst(&v4, "10.22.0.0/24");
    assert_eq!(other.len(), 1, "{v4:#?}");
    assert_eq!(other[0]["protocol"], "static", "{v4:#?}");
    assert_eq!(fib.errors(), 0);
    assert_eq!(fib.installed(), 2);
}

#[tokio::test]
async fn ipv6_ecmp_route() {
    if !privileged("ipv6_ecmp_route") {
        return;
    }
    let ns = Netns::new();
    let fib = Fib::spawn(Some(ns.name())).expect("spawn");
    let p = "2001:db8:9::/48";
    fib.apply(vec![route(p, &["2001:db8:2::2", "2001:db8:1::2"])]);
    let routes = eventually(
        "the IPv6 ECMP route",
        || ns.bgp_routes(true),
        |rs| with_dst(rs, p).len() == 1 && gateways(with_dst(rs, p)[0]).len() == 2,
    )
    .await;
    assert_eq!(routes.len(), 1, "{routes:#?}");
    assert_eq!(gateways(&routes[0]), ["2001:db8:1::2", "2001:db8:2::2"]);
    assert_eq!(routes[0]["metric"], METRIC, "{routes:#?}");
    let all = ns.routes(true);
    assert!(is_bgp(with_dst(&all, p)[0]), "{all:#?}");

    // Down to one next hop and back up: always one route.
    fib.apply(vec![route(p, &["2001:db8:2::2"])]);
    let routes = eventually(
        "the IPv6 route with one next hop",
        || ns.bgp_routes(true),
        |rs| with_dst(rs, p).len() == 1 && gateways(with_dst(rs, p)[0]) == ["2001:db8:2::2"],
    )
    .await;
    assert_eq!(routes.len(), 1, "{routes:#?}");
    fib.apply(vec![route(p, &["2001:db8:1::2", "2001:db8:2::2"])]);
    eventually(
        "the IPv6 route with two next hops again",
        || ns.bgp_routes(true),
        |rs| rs.len() == 1 && gateways(&rs[0]).len() == 2,
    )
    .await;

    fib.apply(vec![delete(p)]);
    eventually(
        "the IPv6 route deleted",
        || ns.bgp_routes(true),
        Vec::is_empty,
    )
    .await;
    fib.settled().await;
    assert_eq!(fib.errors(), 0);
    assert_eq!(fib.installed(), 0);
}

#[tokio::test]
async fn an_unreachable_gateway_is_counted_and_does_not_block_the_rest() {
    if !privileged("an_unreachable_gateway_is_counted_and_does_not_block_the_rest") {
        return;
    }
    let ns = Netns::new();
    let fib = Fib::spawn(Some(ns.name())).expect("spawn");
    fib.apply(vec![route("10.30.0.0/24", &["192.0.2.1"])]);
    fib.apply(vec![route("10.31.0.0/24", &["10.1.0.2"])]);
    eventually("an error counted", || fib.errors(), |e| *e >= 1).await;
    let routes = eventually(
        "the later route installed",
        || ns.bgp_routes(false),
        |rs| with_dst(rs, "10.31.0.0/24").len() == 1,
    )
    .await;
    assert!(with_dst(&routes, "10.30.0.0/24").is_empty(), "{routes:#?}");
    fib.settled().await;
    assert_eq!(fib.errors(), 1);
    assert_eq!(fib.installed(), 1);

    // Retried when applied again: once the gateway is reachable it goes in.
    ip(&[
        "-n",
        ns.name(),
        "addr",
        "add",
        "192.0.2.254/24",
        "dev",
        "a0",
    ]);
    fib.apply(vec![route("10.30.0.0/24", &["192.0.2.1"])]);
    eventually(
        "the retried route installed",
        || ns.bgp_routes(false),
        |rs| with_dst(rs, "10.30.0.0/24").len() == 1,
    )
    .await;
    fib.settled().await;
    assert_eq!(fib.installed(), 2);

    // A replacement that fails withdraws the route we had: it no longer leads where BGP goes.
    fib.apply(vec![route("10.31.0.0/24", &["198.51.100.1"])]);
    eventually(
        "the route whose new next hop fails withdrawn",
        || ns.bgp_routes(false),
        |rs| with_dst(rs, "10.31.0.0/24").is_empty(),
    )
    .await;
    fib.settled().await;
    assert_eq!(fib.errors(), 2);
    assert_eq!(fib.installed(), 1);
}

#[tokio::test]
async fn routes_stay_when_the_writer_ends_and_the_next_run_adopts_them() {
    if !privileged("routes_stay_when_the_writer_ends_and_the_next_run_adopts_them") {
        return;
    }
    let ns = Netns::new();
    let fib = Fib::spawn(Some(ns.name())).expect("spawn");
    fib.apply(vec![
        route("10.40.0.0/24", &["10.1.0.2", "10.2.0.2"]),
        route("10.41.0.0/24", &["10.1.0.2"]),
    ]);
    fib.settled().await;
    drop(fib);
    eventually(
        "both routes installed",
        || ns.bgp_routes(false),
        |rs| rs.len() == 2,
    )
    .await;

    // A restarted edge relearns one of them; the reconcile removes the other.
    let fib = Fib::spawn(Some(ns.name())).expect("spawn again");
    fib.apply(vec![route("10.40.0.0/24", &["10.1.0.2", "10.2.0.2"])]);
    fib.sync();
    let routes = eventually(
        "only the relearned route left",
        || ns.bgp_routes(false),
        |rs| rs.len() == 1,
    )
    .await;
    assert_eq!(dst(&routes[0]), "10.40.0.0/24", "{routes:#?}");
    assert_eq!(gateways(&routes[0]), ["10.1.0.2", "10.2.0.2"]);
    fib.settled().await;
    assert_eq!(fib.errors(), 0);
}

#[tokio::test]
async fn a_missing_namespace_is_an_error() {
    if !privileged("a_missing_namespace_is_an_error") {
        return;
    }
    let err = Fib::spawn(Some("cwt-fib-no-such-namespace")).expect_err("no namespace");
    assert!(
        err.to_string().contains("cwt-fib-no-such-namespace"),
        "{err}"
    );
}

#[tokio::test]
async fn a_full_burst_is_installed() {
    if !privileged("a_full_burst_is_installed") {
        return;
    }
    let ns = Netns::new();
    let fib = Fib::spawn(Some(ns.name())).expect("spawn");
    let count = 5000u32;
    let routes: Vec<FibRoute> = (0..count)
        .map(|i| {
            let prefix = format!("10.{}.{}.0/24", 100 + i / 256, i % 256);
            route(&prefix, &["10.1.0.2", "10.2.0.2"])
        })
        .collect();
    let started = std::time::Instant::now();
    for chunk in routes.chunks(100) {
        fib.apply(chunk.to_vec());
    }
    fib.settled().await;
    eprintln!("{count} ECMP routes written in {:?}", started.elapsed());
    assert_eq!(fib.errors(), 0);
    assert_eq!(fib.installed(), count as usize);
    let seen = eventually(
        "every route in the kernel",
        || ns.bgp_routes(false),
        |rs| rs.len() == count as usize,
    )
    .await;
    assert!(seen.iter().all(|r| gateways(r).len() == 2));
}

#[test]
fn without_a_namespace_the_writer_uses_its_own() {
    if !privileged("without_a_namespace_the_writer_uses_its_own") {
        return;
    }
    let ns = Netns::new();
    // A thread inside the namespace runs a runtime whose writer is given no namespace.
    let (errors, installed) = edge::netns::run_in(Some(ns.name()), || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let fib = Fib::spawn(None)?;
            fib.apply(vec![route("10.50.0.0/24", &["10.1.0.2"])]);
            fib.settled().await;
            Ok((fib.errors(), fib.installed()))
        })
    })
    .expect("writer in the namespace");
    assert_eq!((errors, installed), (0, 1));
    let routes = ns.bgp_routes(false);
    assert_eq!(with_dst(&routes, "10.50.0.0/24").len(), 1, "{routes:#?}");
}
