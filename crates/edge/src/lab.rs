//! Kernel plumbing for circuits: namespaces, cross-connects and port attachments, addresses,
//! interface counters and neighbour tables, through iproute2 (`ip`).
//!
//! Every function is idempotent (ensure / remove), so the agent can reconcile by calling them
//! again after a crash or restart, and every failure carries the command and what it said.

use std::net::IpAddr;
use std::process::Command;

use api::{ArpReport, Encapsulation};

#[derive(Debug, thiserror::Error)]
#[error("{command}: {message}")]
pub struct LabError {
    pub command: String,
    pub message: String,
}

type R<T> = Result<T, LabError>;

/// Runs `ip ARGS`; the error names the command and its stderr.
fn ip(args: &[&str]) -> R<String> {
    iproute2("ip", args)
}

/// Runs `bridge ARGS` (iproute2's bridge tool).
fn bridge_cmd(args: &[&str]) -> R<String> {
    iproute2("bridge", args)
}

fn iproute2(program: &str, args: &[&str]) -> R<String> {
    let command = || format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| LabError {
            command: command(),
            message: format!("cannot run {program}: {e}"),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError {
            command: command(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

pub fn namespace_exists(name: &str) -> bool {
    crate::netns::path(name).exists()
}

/// Creates a namespace with its loopback up (nothing when it exists; another process
/// creating it at the same moment is fine).
pub fn ensure_namespace(name: &str) -> R<()> {
    if !namespace_exists(name)
        && let Err(e) = ip(&["netns", "add", name])
        && !namespace_exists(name)
    {
        return Err(e);
    }
    ip(&["-n", name, "link", "set", "lo", "up"])?;
    Ok(())
}

/// Deletes a namespace and everything in it (nothing when it is gone).
pub fn delete_namespace(name: &str) -> R<()> {
    if namespace_exists(name) {
        ip(&["netns", "del", name])?;
    }
    Ok(())
}

pub fn link_exists(ns: &str, ifname: &str) -> bool {
    ip(&["-n", ns, "link", "show", "dev", ifname]).is_ok()
}

/// A veth cross-connect: `edge_if` in `edge_ns`, `customer_if` in `customer_ns`, both up.
pub fn ensure_cross_connect(
    edge_ns: &str,
    edge_if: &str,
    customer_ns: &str,
    customer_if: &str,
) -> R<()> {
    if link_exists(edge_ns, edge_if) && link_exists(customer_ns, customer_if) {
        return set_up(edge_ns, edge_if);
    }
    // A half-made pair from an interrupted run is removed first.
    remove_link(edge_ns, edge_if)?;
    remove_link(customer_ns, customer_if)?;
    let tmp = temp_name();
    let tmp_peer = temp_name();
    ip(&[
        "link", "add", &tmp, "type", "veth", "peer", "name", &tmp_peer,
    ])?;
    let moved = ip(&[
        "link", "set", "dev", &tmp, "netns", edge_ns, "name", edge_if,
    ])
    .and_then(|_| {
        ip(&[
            "link",
            "set",
            "dev",
            &tmp_peer,
            "netns",
            customer_ns,
            "name",
            customer_if,
        ])
    });
    if let Err(e) = moved {
        let _ = ip(&["link", "del", &tmp]);
        return Err(e);
    }
    set_up(customer_ns, customer_if)?;
    set_up(edge_ns, edge_if)
}

/// Moves a port (or a VLAN subinterface of it, per the encapsulation) into `ns` as `name`.
pub fn ensure_port_attachment(
    ns: &str,
    name: &str,
    port: &str,
    encapsulation: Encapsulation,
    vlan: u16,
) -> R<()> {
    if link_exists(ns, name) {
        return set_up(ns, name);
    }
    match encapsulation {
        Encapsulation::Untagged => {
            ip(&["link", "set", "dev", port, "netns", ns, "name", name])?;
        }
        Encapsulation::Dot1q => {
            let tmp = temp_name();
            let vid = vlan.to_string();
            ip(&[
                "link", "add", "link", port, "name", &tmp, "type", "vlan", "id", &vid,
            ])
            .map_err(explain_vlan)?;
            ip(&["link", "set", "dev", &tmp, "netns", ns, "name", name])?;
        }
        Encapsulation::Qinq { stag } => {
            let outer = format!("{port}.{stag}");
            if ip(&["link", "show", "dev", &outer]).is_err() {
                let s = stag.to_string();
                ip(&[
                    "link", "add", "link", port, "name", &outer, "type", "vlan", "proto",
                    "802.1ad", "id", &s,
                ])
                .map_err(explain_vlan)?;
                ip(&["link", "set", "dev", &outer, "up"])?;
            }
            let tmp = temp_name();
            let vid = vlan.to_string();
            ip(&[
                "link", "add", "link", &outer, "name", &tmp, "type", "vlan", "id", &vid,
            ])
            .map_err(explain_vlan)?;
            ip(&["link", "set", "dev", &tmp, "netns", ns, "name", name])?;
        }
    }
    set_up(ns, name)
}

fn explain_vlan(mut e: LabError) -> LabError {
    if e.message.contains("Unknown device type") || e.message.contains("not supported") {
        e.message = format!(
            "{} (this kernel lacks 802.1Q VLAN support: module 8021q)",
            e.message
        );
    }
    e
}

/// A bridge `name` in `ns`, up (the lab's layer-2 segments: a virtual network's fabric,
/// its hosts).
pub fn ensure_bridge(ns: &str, name: &str) -> R<()> {
    if !link_exists(ns, name)
        && let Err(e) = ip(&["-n", ns, "link", "add", name, "type", "bridge"])
        && !link_exists(ns, name)
    {
        return Err(e);
    }
    set_up(ns, name)
}

/// Joins `member_ns` to the bridge `bridge` of `bridge_ns` with a veth: `member_if` in
/// `member_ns`, `port_if` on the bridge.
pub fn ensure_bridge_member(
    member_ns: &str,
    member_if: &str,
    bridge_ns: &str,
    bridge: &str,
    port_if: &str,
) -> R<()> {
    ensure_bridge(bridge_ns, bridge)?;
    ensure_cross_connect(member_ns, member_if, bridge_ns, port_if)?;
    ip(&[
        "-n", bridge_ns, "link", "set", "dev", port_if, "master", bridge, "up",
    ])
    .map(|_| ())
}

/// The VXLAN device `vx0` of a fabric segment on bridge `bridge` of `ns`: VNI `vni`, UDP
/// 4789, its tunnel socket in `underlay` (the host's namespace when `None`, where `local`
/// lives), flooding to every remote tunnel endpoint (head-end replication) and learning the
/// rest. MTU 1500 inside: the underlay must carry 1550-byte frames.
pub fn ensure_vxlan(
    ns: &str,
    bridge: &str,
    vni: u32,
    local: IpAddr,
    underlay: Option<&str>,
    remotes: &[IpAddr],
) -> R<()> {
    const DEV: &str = "vx0";
    let under = |args: &[&str]| -> R<String> {
        match underlay {
            Some(u) => {
                let mut all = vec!["-n", u];
                all.extend_from_slice(args);
                ip(&all)
            }
            None => ip(args),
        }
    };
    if !link_exists(ns, DEV) {
        let tmp = temp_name();
        let (id, local) = (vni.to_string(), local.to_string());
        under(&[
            "link", "add", &tmp, "type", "vxlan", "id", &id, "local", &local, "dstport", "4789",
        ])?;
        // The tunnel socket stays in the namespace the device was made in.
        if let Err(e) = under(&["link", "set", "dev", &tmp, "netns", ns, "name", DEV]) {
            let _ = under(&["link", "del", &tmp]);
            return Err(e);
        }
        ip(&["-n", ns, "link", "set", "dev", DEV, "mtu", "1500"])?;
    }
    ensure_bridge(ns, bridge)?;
    ip(&["-n", ns, "link", "set", "dev", DEV, "master", bridge, "up"])?;
    // The flood list: one all-zero entry per remote endpoint, stale ones removed.
    let out = bridge_cmd(&["-n", ns, "-j", "fdb", "show", "dev", DEV])?;
    let entries: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let present: Vec<String> = entries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["mac"] == "00:00:00:00:00:00")
        .filter_map(|e| e["dst"].as_str().map(str::to_owned))
        .collect();
    for r in remotes {
        let r = r.to_string();
        if !present.contains(&r) {
            bridge_cmd(&[
                "-n",
                ns,
                "fdb",
                "append",
                "00:00:00:00:00:00",
                "dev",
                DEV,
                "dst",
                &r,
            ])?;
        }
    }
    for p in present {
        if !remotes.iter().any(|r| r.to_string() == p) {
            bridge_cmd(&[
                "-n",
                ns,
                "fdb",
                "del",
                "00:00:00:00:00:00",
                "dev",
                DEV,
                "dst",
                &p,
            ])?;
        }
    }
    Ok(())
}

/// The ports of a bridge.
pub fn bridge_ports(ns: &str, bridge: &str) -> R<Vec<String>> {
    let out = ip(&["-n", ns, "-j", "link", "show", "master", bridge])?;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["ifname"].as_str().map(str::to_owned))
        .collect())
}

/// Turns a namespace into a router: IPv4 and IPv6 forwarding on, multipath hashed on the
/// layer-4 ports too (so flows spread over equal-cost links), no ICMP redirects.
pub fn ensure_router(ns: &str) -> R<()> {
    sysctl(
        ns,
        &[
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv4.fib_multipath_hash_policy=1",
            "net.ipv6.fib_multipath_hash_policy=1",
            "net.ipv4.conf.all.send_redirects=0",
        ],
    )
}

/// Enslaves `ifname` to bridge `master`, or frees it (`None`): a silent cut of a bridged
/// link, carrier up on both sides.
pub fn set_master(ns: &str, ifname: &str, master: Option<&str>) -> R<()> {
    match master {
        Some(m) => ip(&["-n", ns, "link", "set", "dev", ifname, "master", m]),
        None => ip(&["-n", ns, "link", "set", "dev", ifname, "nomaster"]),
    }
    .map(|_| ())
}

/// The bridge `ifname` is a port of, if any.
pub fn master_of(ns: &str, ifname: &str) -> R<Option<String>> {
    let out = ip(&["-n", ns, "-j", "link", "show", "dev", ifname])?;
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| LabError {
        command: format!("ip -n {ns} -j link show dev {ifname}"),
        message: format!("unreadable JSON: {e}"),
    })?;
    Ok(v[0]["master"].as_str().map(str::to_owned))
}

/// The namespace's default route via `gateway`.
pub fn ensure_default_route(ns: &str, gateway: IpAddr) -> R<()> {
    let via = gateway.to_string();
    let family = if gateway.is_ipv6() { "-6" } else { "-4" };
    ip(&["-n", ns, family, "route", "replace", "default", "via", &via]).map(|_| ())
}

fn sysctl(ns: &str, settings: &[&str]) -> R<()> {
    let mut args = vec!["netns", "exec", ns, "sysctl", "-q", "-w"];
    args.extend_from_slice(settings);
    ip(&args).map(|_| ())
}

fn set_up(ns: &str, ifname: &str) -> R<()> {
    ip(&["-n", ns, "link", "set", "dev", ifname, "up"]).map(|_| ())
}

/// Removes an interface (nothing when it is gone).
pub fn remove_link(ns: &str, ifname: &str) -> R<()> {
    if namespace_exists(ns) && link_exists(ns, ifname) {
        ip(&["-n", ns, "link", "del", "dev", ifname])?;
    }
    Ok(())
}

/// Makes `addr/len` an address of `ifname` (IPv6 without duplicate address detection, so the
/// session can start at once).
pub fn ensure_address(ns: &str, ifname: &str, addr: IpAddr, len: u8) -> R<()> {
    let cidr = format!("{addr}/{len}");
    let mut args = vec!["-n", ns, "addr", "replace", cidr.as_str(), "dev", ifname];
    if addr.is_ipv6() {
        args.push("nodad");
    }
    ip(&args).map(|_| ())
}

/// Bytes received and sent on an interface.
pub fn counters(ns: &str, ifname: &str) -> R<(u64, u64)> {
    let out = ip(&["-n", ns, "-s", "-j", "link", "show", "dev", ifname])?;
    let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| LabError {
        command: format!("ip -n {ns} -s -j link show dev {ifname}"),
        message: format!("unreadable JSON: {e}"),
    })?;
    let stats = &v[0]["stats64"];
    Ok((
        stats["rx"]["bytes"].as_u64().unwrap_or(0),
        stats["tx"]["bytes"].as_u64().unwrap_or(0),
    ))
}

/// Bytes received and sent on every interface of a namespace but `lo`: (name, rx, tx).
pub fn interfaces(ns: &str) -> R<Vec<(String, u64, u64)>> {
    let out = ip(&["-n", ns, "-s", "-j", "link", "show"])?;
    parse_interfaces(&out).map_err(|e| LabError {
        command: format!("ip -n {ns} -s -j link show"),
        message: format!("unreadable JSON: {e}"),
    })
}

fn parse_interfaces(json: &str) -> Result<Vec<(String, u64, u64)>, serde_json::Error> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let name = l["ifname"].as_str().filter(|n| *n != "lo")?;
            let stats = &l["stats64"];
            Some((
                name.to_owned(),
                stats["rx"]["bytes"].as_u64().unwrap_or(0),
                stats["tx"]["bytes"].as_u64().unwrap_or(0),
            ))
        })
        .collect())
}

/// The neighbour (ARP / ND) table of an interface.
pub fn neighbours(ns: &str, ifname: &str) -> R<Vec<ArpReport>> {
    let out = ip(&["-n", ns, "-j", "-s", "neigh", "show", "dev", ifname])?;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    let mut entries = Vec::new();
    for n in v.as_array().into_iter().flatten() {
        let (Some(ip), Some(mac)) = (n["dst"].as_str(), n["lladdr"].as_str()) else {
            continue;
        };
        let age_secs = n["used"]
            .as_array()
            .and_then(|u| u.first())
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        entries.push(ArpReport {
            ip_address: ip.to_owned(),
            mac_address: mac.to_owned(),
            interface: ifname.to_owned(),
            age_secs: u32::try_from(age_secs).unwrap_or(u32::MAX),
        });
    }
    Ok(entries)
}

fn temp_name() -> String {
    let mut b = [0u8; 5];
    getrandom::fill(&mut b).expect("invariant: the OS random source is available");
    format!(
        "cwt{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_counters_skip_the_loopback() {
        let json = r#"[{"ifindex":1,"ifname":"lo","stats64":{"rx":{"bytes":5},"tx":{"bytes":5}}},
            {"ifindex":7,"ifname":"cust0","stats64":{"rx":{"bytes":1200,"packets":3},"tx":{"bytes":3400}}},
            {"ifindex":8,"ifname":"vn0001"}]"#;
        assert_eq!(
            parse_interfaces(json).expect("parse"),
            vec![
                ("cust0".to_owned(), 1200, 3400),
                ("vn0001".to_owned(), 0, 0)
            ]
        );
        assert!(parse_interfaces("not json").is_err());
    }
}
