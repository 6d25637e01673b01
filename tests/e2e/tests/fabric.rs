//! The virtual network's fabric and its gateway, in the kernel.
//!
//! - A fabric segment that spans hosts: three simulated hosts (underlay namespaces on one
//!   switch, `e2e::lab::Underlay`) carry the two lab edges and the gateway host, each with
//!   its VXLAN tunnel endpoint in the inventory (`causeway serve --inventory`). `causeway lab`
//!   then builds a whole topology on top; the test checks each host's own fabric namespace
//!   and tunnel, sends traffic across the underlay (and counts it there), cuts a link under
//!   traffic, and takes the lab down again, leaving no fabric namespace on any host.
//! - The gateway's choice between circuits: two circuits connected to one virtual network
//!   with different `routingWeight`s, both announcing the same customer prefix; the
//!   gateway's FIB follows the weights (the heavier connection's two edges, ECMP over both
//!   circuits when equal).
//!
//! Each test runs its own serve and its own names (process id in every namespace and lab
//! name), so tests may run in parallel; everything is removed on drop, also on failure.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use e2e::control::{ServeFlags, ip};
use e2e::lab::{CausewayLab, ONPREM_HOST, ProbeResult, Underlay, VNET_HOST};
use e2e::netns::{WORK_ROOT, namespaces};
use e2e::{
    Bird, BirdSession, BirdSpec, CONVERGE, Circuit, Control, ControlOptions, CustomerLink, EDGE_AS,
    PrivatePeering, customer_link, hold_for, require_root, wait_for,
};
use serde_json::Value;

const SUB: &str = "aaaaaaaa-0000-4000-8000-0000000000fa";
const ROLES: [&str; 2] = ["primary", "secondary"];
/// Probes: flows and the interval between one flow's packets.
const FLOWS: u16 = 8;
const INTERVAL_MS: f64 = 1.0;
/// One probe datagram on the underlay: its 8-byte payload in UDP, IPv4 and Ethernet (50
/// bytes), in VXLAN, UDP, IPv4 and Ethernet again (50 more).
const UNDERLAY_PROBE_FRAME: u64 = 100;

/// Gate, plus what these tests need beyond the rest of the suite.
fn gate(test: &str) -> bool {
    if !require_root(test) {
        return false;
    }
    for (tool, args) in [("ping", &["-V"][..]), ("bridge", &["-V"][..])] {
        let ok = Command::new(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "{test}: `{tool}` is not installed; run scripts/test, which installs it"
        );
    }
    true
}

/// `ping -c 3` from namespace `ns` to `to`.
fn ping(ns: &str, to: &str) -> Result<String, String> {
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", to,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ping: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "ping from {ns} to {to} failed ({}):\n{text}",
            out.status
        ))
    }
}

/// Sleeps until `offset` after `start`: the schedule of a fault during a probe, never a
/// wait for a state.
fn at(start: Instant, offset: Duration) {
    if let Some(left) = (start + offset).checked_duration_since(Instant::now()) {
        thread::sleep(left);
    }
}

/// Prints a probe's measurement for the record and returns its outage.
fn report(what: &str, r: &ProbeResult) -> f64 {
    eprintln!(
        "MEASURED outage_ms={} {what} (lost {} of {}, per flow {:?})",
        r.outage_ms, r.lost, r.sent, r.flow_outage_ms
    );
    r.outage_ms
}

/// Runs `bridge ARGS`; stdout, or what went wrong.
fn bridge(args: &[&str]) -> Result<String, String> {
    let out = Command::new("bridge")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run bridge: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`bridge {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The word after `key` in `text` ("vxlan id 1234 local …" → `id` → "1234").
fn word_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == key).map(|w| w[1])
}

/// The namespaces of one virtual network's fabric (`cwf-<vnet8>` and `cwf-<vnet8>-*`) and
/// its gateway (`cwg-<vnet8>`) that exist now.
fn vnet_namespaces(vnet8: &str) -> Vec<String> {
    let fabric = format!("cwf-{vnet8}");
    let gateway = format!("cwg-{vnet8}");
    let mut left: Vec<String> = namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&fabric) || *n == gateway)
        .collect();
    left.sort();
    left
}

#[test]
fn a_vnet_fabric_spans_hosts_over_vxlan() {
    let test = "a_vnet_fabric_spans_hosts_over_vxlan";
    if !gate(test) {
        return;
    }
    // Three hosts on one switch: lab-edge-1, lab-edge-2 and the gateway host, all run by
    // one serve, each with its tunnel endpoint in its own underlay namespace.
    let underlay = Underlay::new(3);
    let inventory = std::path::Path::new(WORK_ROOT)
        .join(format!("fabric-inventory-{}.toml", std::process::id()));
    std::fs::create_dir_all(WORK_ROOT).expect("the work root");
    std::fs::write(&inventory, underlay.lab_inventory())
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", inventory.display()));
    let ctl = Control::start_with_flags(
        test,
        ControlOptions::default(),
        ServeFlags::lab().inventory(&inventory),
    );
    let _ = std::fs::remove_file(&inventory);
    let lab = CausewayLab::up(&ctl, &format!("fab{}", std::process::id() % 100_000), None);
    let vnet8 = lab.gateway_ns["cwg-".len()..].to_string();
    underlay.sweep(&format!("cwf-{vnet8}"));

    // Packets both ways, across the underlay.
    ping(&lab.ns("host"), VNET_HOST).unwrap_or_else(|e| panic!("{e}"));
    ping(&lab.ns("vm"), ONPREM_HOST).unwrap_or_else(|e| panic!("{e}"));

    // The segment as the control plane hands it out: one VNI, all three tunnel endpoints.
    let desired = ctl.edge_desired("lab-gateway");
    let fabric = &desired["gateways"][0]["fabric"];
    let vni = fabric["vni"]
        .as_u64()
        .unwrap_or_else(|| panic!("no VNI in the gateway host's desired state: {desired}"));
    let mut vteps: Vec<String> = fabric["vteps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    vteps.sort();
    let mut endpoints: Vec<String> = underlay
        .hosts
        .iter()
        .map(|h| h.address.to_string())
        .collect();
    endpoints.sort();
    assert_eq!(vteps, endpoints, "the segment's tunnel endpoints: {fabric}");

    // Each host has its own fabric namespace, tunnelled from its own underlay to the others.
    let fabrics: Vec<String> = vnet_namespaces(&vnet8)
        .into_iter()
        .filter(|n| n.starts_with("cwf-"))
        .collect();
    assert_eq!(
        fabrics.len(),
        3,
        "one fabric namespace per host (cwf-{vnet8}-<4 hex>): {fabrics:?}"
    );
    let mut locals = Vec::new();
    for ns in &fabrics {
        let suffix = ns
            .strip_prefix(&format!("cwf-{vnet8}-"))
            .unwrap_or_else(|| panic!("{ns}: not cwf-{vnet8}-<4 hex> (a shared segment?)"));
        assert!(
            suffix.len() == 4 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
            "{ns}: not cwf-{vnet8}-<4 hex>"
        );
        let vx = ip(&["-n", ns, "-d", "link", "show", "dev", "vx0"])
            .unwrap_or_else(|e| panic!("{ns} has no VXLAN device: {e}"));
        assert!(vx.contains(&format!("vxlan id {vni} ")), "{ns}: {vx}");
        assert!(vx.contains("master br0"), "{ns}: vx0 is not on br0: {vx}");
        let local = word_after(&vx, "local")
            .unwrap_or_else(|| panic!("{ns}: vx0 has no local address: {vx}"))
            .to_string();
        let host = underlay
            .host(&local)
            .unwrap_or_else(|| panic!("{ns}: vx0's local {local} is no host's: {vx}"));
        assert_eq!(
            word_after(&vx, "link-netns"),
            Some(host.namespace.as_str()),
            "{ns}: vx0's tunnel socket must live in its host's underlay: {vx}"
        );
        // Head-end replication: a flood entry toward each other endpoint, and only those.
        let fdb =
            bridge(&["-n", ns, "fdb", "show", "dev", "vx0"]).unwrap_or_else(|e| panic!("{e}"));
        let mut floods: Vec<String> = fdb
            .lines()
            .filter(|l| l.starts_with("00:00:00:00:00:00 "))
            .filter_map(|l| word_after(l, "dst").map(str::to_string))
            .collect();
        floods.sort();
        let others: Vec<String> = endpoints.iter().filter(|e| **e != local).cloned().collect();
        assert_eq!(floods, others, "{ns}: flood entries of vx0:\n{fdb}");
        locals.push(local);
    }
    locals.sort();
    assert_eq!(locals, endpoints, "the fabric namespaces' tunnel endpoints");

    // Traffic really crosses the underlay: every echoed probe datagram left an edge host
    // and reached the gateway host, and came back, encapsulated.
    let before: Vec<(u64, u64)> = (0..3).map(|i| underlay.counters(i)).collect();
    let r = lab.probe(2.0, FLOWS, INTERVAL_MS);
    let after: Vec<(u64, u64)> = (0..3).map(|i| underlay.counters(i)).collect();
    report("no fault, across the underlay", &r);
    assert!(
        r.received * 10 >= r.sent * 9,
        "the probe across the underlay lost too much: {r:?}"
    );
    let delta = |i: usize| (after[i].0 - before[i].0, after[i].1 - before[i].1);
    let (edges_rx, edges_tx) = (delta(0).0 + delta(1).0, delta(0).1 + delta(1).1);
    let (gateway_rx, gateway_tx) = delta(2);
    let volume = r.received * UNDERLAY_PROBE_FRAME;
    eprintln!(
        "underlay bytes during the probe (rx, tx): edge hosts {:?} {:?}, gateway host {:?}; \
         echoed volume {volume}",
        delta(0),
        delta(1),
        delta(2)
    );
    for (what, bytes) in [
        ("edge hosts sent", edges_tx),
        ("edge hosts received", edges_rx),
        ("the gateway host sent", gateway_tx),
        ("the gateway host received", gateway_rx),
    ] {
        assert!(
            bytes >= volume,
            "{what} {bytes} bytes on the underlay during a probe that echoed {} datagrams \
             ({volume} bytes encapsulated): before {before:?}, after {after:?}",
            r.received
        );
    }

    // A silent cut of the primary link under traffic: BFD notices, both sides move to the
    // secondary link, the gateway over the tunnel to the other host.
    wait_for(CONVERGE, "BFD Up on both customer sessions", || {
        let sessions = lab.customer_sessions()?;
        if sessions.iter().all(|s| s["bfd"] == "Up") {
            Ok(())
        } else {
            Err(format!("{sessions:?}"))
        }
    });
    let probe = lab.spawn_probe(5.0, FLOWS, INTERVAL_MS);
    let start = Instant::now();
    at(start, Duration::from_millis(1500));
    lab.fail("primary");
    let cut_at = start.elapsed();
    let r = probe.finish();
    let outage = report("bfd=300x3 across the underlay", &r);
    assert!(
        cut_at < Duration::from_secs(3),
        "the cut came {cut_at:?} into a 5 s probe: too late to measure recovery"
    );
    assert!(
        outage > 0.0,
        "no flow lost a packet: the cut {cut_at:?} into the probe went unseen ({r:?})"
    );
    assert!(
        outage < 1500.0,
        "cutting the primary link across the underlay cost {outage} ms: {r:?}"
    );

    // Down: every host removes its fabric namespace, the gateway host its gateway.
    lab.run(&["down"]);
    wait_for(
        Duration::from_secs(20),
        &format!("no cwf-{vnet8}* or cwg-{vnet8} namespace after lab down"),
        || match vnet_namespaces(&vnet8) {
            left if left.is_empty() => Ok(()),
            left => Err(format!("left: {left:?}")),
        },
    );
}

// ===== the gateway's choice between circuits =====

/// The prefix both circuits' customers announce.
const CUSTOMER_PREFIX: &str = "192.168.77.0/24";

/// One customer BIRD on `link` (AS `asn`, no MD5) announcing [`CUSTOMER_PREFIX`].
fn customer_bird(link: &CustomerLink, asn: u32, label: &str) -> Bird {
    let spec = BirdSpec::new(asn, link.customer_v4)
        .session(BirdSession::new(
            "edge4",
            link.customer_v4,
            link.edge_v4,
            EDGE_AS,
        ))
        .announce(&[CUSTOMER_PREFIX]);
    Bird::start(&link.ns, label, spec)
}

/// The next hops of the BGP route (protocol 186) for `prefix` in namespace `ns`, sorted.
fn bgp_next_hops(ns: &str, prefix: &str) -> Result<Vec<String>, String> {
    let out = ip(&[
        "-n", ns, "-j", "route", "show", "exact", prefix, "proto", "186",
    ])?;
    let routes: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    let mut hops = Vec::new();
    for r in routes.as_array().into_iter().flatten() {
        if let Some(g) = r["gateway"].as_str() {
            hops.push(g.to_string());
        }
        for n in r["nexthops"].as_array().into_iter().flatten() {
            if let Some(g) = n["gateway"].as_str() {
                hops.push(g.to_string());
            }
        }
    }
    hops.sort();
    Ok(hops)
}

/// Polls until the gateway routes [`CUSTOMER_PREFIX`] over exactly `want`.
fn wait_gateway_hops(gateway_ns: &str, want: &[String], what: &str) {
    wait_for(CONVERGE, what, || {
        let hops = bgp_next_hops(gateway_ns, CUSTOMER_PREFIX)?;
        if hops == want {
            Ok(())
        } else {
            Err(format!(
                "{gateway_ns} routes {CUSTOMER_PREFIX} via {hops:?}, want {want:?}"
            ))
        }
    });
}

/// Per neighbor of the gateway in `gateway_ns`: (session established, prefixes accepted),
/// from the control plane's metrics.
fn gateway_sessions(ctl: &Control, gateway_ns: &str) -> BTreeMap<String, (bool, u64)> {
    let mut out: BTreeMap<String, (bool, u64)> = BTreeMap::new();
    let gateway = format!("gateway=\"{gateway_ns}\"");
    for line in ctl.metrics().lines() {
        if !line.contains(&gateway) {
            continue;
        }
        let Some((name, rest)) = line.split_once('{') else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let Some(neighbor) = labels
            .split(',')
            .find_map(|l| l.strip_prefix("neighbor=\""))
            .map(|n| n.trim_end_matches('"').to_string())
        else {
            continue;
        };
        let value: u64 = value.trim().parse().unwrap_or(0);
        let entry = out.entry(neighbor).or_default();
        match name {
            "causeway_bgp_session_established" => entry.0 = value == 1,
            "causeway_bgp_prefixes_accepted" => entry.1 += value,
            _ => {}
        }
    }
    out
}

/// GET of a connection; its `routingWeight`.
fn routing_weight(ctl: &Control, connection: &str) -> Value {
    let r = ctl.get(connection);
    r.expect(&[200]);
    r.json()["properties"]["routingWeight"].clone()
}

#[test]
fn the_gateway_prefers_the_connection_with_the_higher_routing_weight() {
    let test = "the_gateway_prefers_the_connection_with_the_higher_routing_weight";
    if !require_root(test) {
        return;
    }
    let ctl = Control::start_with_flags(test, ControlOptions::default(), ServeFlags::lab());
    // Two circuits of one customer, own /30s and ASNs, the same prefix behind both.
    let a = ctl.create_circuit(SUB, "rg-e2e", "er-weight-a");
    let b = ctl.create_circuit(SUB, "rg-e2e", "er-weight-b");
    let pa = PrivatePeering::new(65001, 21);
    let pb = PrivatePeering::new(65002, 22);
    for (c, p) in [(&a, &pa), (&b, &pb)] {
        ctl.provision(c);
        ctl.put_peering(c, p);
    }
    let mut running: Vec<(&Circuit, CustomerLink, Bird)> = Vec::new();
    for (c, p, tag) in [(&a, &pa, "a"), (&b, &pb, "b")] {
        for role in ROLES {
            let link = customer_link(c, p, role);
            let bird = customer_bird(&link, p.peer_asn, &format!("bird-{tag}-{role}"));
            running.push((c, link, bird));
        }
    }
    for (c, link, bird) in &running {
        wait_for(
            CONVERGE,
            &format!("the {} session of {} to establish", link.role, c.sk8()),
            || {
                bird.established("edge4")?;
                ctl.established(c, &link.role, &link.customer_v4.to_string())
            },
        );
    }

    // One virtual network, one gateway, a connection to each circuit: A's first (weight
    // 10), then B's (weight 0). Fabric addresses: the gateway at GatewaySubnet + 4, A's
    // edges at + 5 and + 6, B's at + 7 and + 8.
    let gateway_subnet = Ipv4Addr::new(10, 70, 255, 0);
    let cloud = ctl
        .connect_virtual_network(
            &a,
            "rg-e2e-weights",
            "vnet-weights",
            "10.70.0.0/16",
            &format!("{gateway_subnet}/27"),
        )
        .unwrap_or_else(|| panic!("{test}: the control plane does not serve virtualNetworks"));
    ctl.put_connection(&cloud.connection, &cloud.gateway, &a, 10);
    assert_eq!(routing_weight(&ctl, &cloud.connection), 10);
    let conn_b = ctl.add_connection(&cloud, "vnet-weights-conn-b", &b, 0);
    assert_eq!(routing_weight(&ctl, &conn_b), 0);
    let segment = |n: u32| Ipv4Addr::from(u32::from(gateway_subnet) + n).to_string();
    let a_hops = vec![segment(5), segment(6)];
    let b_hops = vec![segment(7), segment(8)];
    let all_hops = vec![segment(5), segment(6), segment(7), segment(8)];

    let vnet = ctl.get(&cloud.vnet);
    vnet.expect(&[200]);
    let guid = vnet.json()["properties"]["resourceGuid"]
        .as_str()
        .unwrap_or_else(|| panic!("the virtual network has no resourceGuid: {}", vnet.text))
        .to_string();
    let gateway_ns = format!(
        "cwg-{}",
        guid.chars()
            .filter(char::is_ascii_hexdigit)
            .take(8)
            .collect::<String>()
    );

    // The gateway hears the prefix from all four edges, and routes over A's two only.
    wait_for(
        CONVERGE,
        &format!("{gateway_ns} to learn {CUSTOMER_PREFIX} from all four edges"),
        || {
            let sessions = gateway_sessions(&ctl, &gateway_ns);
            let learned = all_hops
                .iter()
                .all(|h| sessions.get(h).is_some_and(|(up, n)| *up && *n >= 1));
            if learned {
                Ok(())
            } else {
                Err(format!(
                    "gateway sessions (established, accepted): {sessions:?}"
                ))
            }
        },
    );
    wait_gateway_hops(
        &gateway_ns,
        &a_hops,
        "the gateway to route over circuit A's edges only (weight 10 against 0)",
    );
    hold_for(
        Duration::from_secs(2),
        "the gateway routing over circuit A's edges only",
        || match bgp_next_hops(&gateway_ns, CUSTOMER_PREFIX)? {
            hops if hops == a_hops => Ok(()),
            hops => Err(format!("next hops {hops:?}")),
        },
    );

    // Equal weights: ECMP over both circuits' edges.
    ctl.put_connection(&cloud.connection, &cloud.gateway, &a, 0);
    assert_eq!(routing_weight(&ctl, &cloud.connection), 0);
    wait_gateway_hops(
        &gateway_ns,
        &all_hops,
        "the gateway to route over all four edges (weights 0 and 0)",
    );

    // B heavier: B's two edges only.
    ctl.put_connection(&conn_b, &cloud.gateway, &b, 20);
    assert_eq!(routing_weight(&ctl, &conn_b), 20);
    wait_gateway_hops(
        &gateway_ns,
        &b_hops,
        "the gateway to route over circuit B's edges only (weight 20 against 0)",
    );
}
