//! FRR: an integrated `frr.conf` (zebra, staticd, bfdd and bgpd sections), loaded with
//! `vtysh -f` or as /etc/frr/frr.conf. Zebra sets the addresses; it does not create VLAN
//! interfaces, so the Linux commands that make them come first, as comments.
//!
//! Syntax: FRR user guide, "Zebra" (`interface`, `ip address`, `ipv6 address`), "Static"
//! (`ip route … blackhole`), "BFD" (`bfd`, `profile`, `detect-multiplier`,
//! `receive-interval`, `transmit-interval`; `neighbor … bfd profile`), "BGP" (`router bgp`,
//! `neighbor … remote-as | password | timers | local-as … no-prepend replace-as`,
//! `address-family`, `network`, `neighbor … prefix-list … out`, `neighbor … route-map … in`)
//! and "Filtering" (`ip prefix-list`, `ipv6 prefix-list`). Every eBGP session has a policy
//! in and out, as `bgp ebgp-requires-policy` (RFC 8212, on by default) wants.

use std::fmt::Write;

use super::{Md5, Plan, Tags, Vendor, linux_ifname, linux_setup};

const BFD_PROFILE: &str = "cw-azure";
const IMPORT: &str = "CW-AZURE-IN";

pub fn render(plan: &Plan) -> String {
    let mut c = String::new();
    for l in plan.header(Vendor::Frr) {
        let _ = writeln!(c, "! {l}");
    }
    let vlans = plan
        .links
        .iter()
        .any(|l| plan.peerings.iter().any(|p| l.tags(p).is_some()));
    if vlans {
        c.push_str("!\n! VLAN interfaces (zebra does not create them): run once on the router\n");
        for cmd in linux_setup(plan)
            .into_iter()
            .filter(|c| c.starts_with("ip link add"))
        {
            let _ = writeln!(c, "!   {cmd}");
        }
    }
    c.push_str("!\nfrr defaults traditional\n!\n");

    for p in &plan.peerings {
        for l in &plan.links {
            let tags: Option<Tags> = l.tags(p);
            let _ = writeln!(c, "interface {}", linux_ifname(l, tags));
            let _ = writeln!(
                c,
                " description {} {} {} link, edge {}",
                plan.circuit,
                p.name,
                l.role.as_str(),
                l.edge
            );
            for s in p.sessions_on(l.role) {
                let family = if s.v6() { "ipv6" } else { "ip" };
                let _ = writeln!(c, " {family} address {}", s.local_cidr());
            }
            c.push_str("exit\n!\n");
        }
    }

    let (v4, v6) = plan.anchors();
    for n in &v4 {
        let _ = writeln!(c, "ip route {n} blackhole");
    }
    for n in &v6 {
        let _ = writeln!(c, "ipv6 route {n} blackhole");
    }
    if !v4.is_empty() || !v6.is_empty() {
        c.push_str("!\n");
    }

    for p in &plan.peerings {
        for (v6, list) in [
            (
                false,
                p.announce_v4
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            ),
            (
                true,
                p.announce_v6.iter().map(ToString::to_string).collect(),
            ),
        ] {
            if v6 && !p.has_v6() {
                continue;
            }
            let family = if v6 { "ipv6" } else { "ip" };
            let name = p.prefix_list(v6);
            if list.is_empty() {
                let _ = writeln!(c, "{family} prefix-list {name} seq 5 deny any");
            }
            for (i, net) in list.iter().enumerate() {
                let _ = writeln!(
                    c,
                    "{family} prefix-list {name} seq {} permit {net}",
                    (i + 1) * 5
                );
            }
            c.push_str("!\n");
        }
    }

    let _ = writeln!(
        c,
        "bfd\n profile {BFD_PROFILE}\n  detect-multiplier {}\n  receive-interval {}\n  transmit-interval {}\n exit\n !\nexit\n!",
        plan.bfd.multiplier, plan.bfd.interval_ms, plan.bfd.interval_ms
    );

    let router_as = plan.router_as();
    let _ = writeln!(c, "router bgp {router_as}");
    let _ = writeln!(c, " bgp router-id {}", plan.router_id());
    c.push_str(" no bgp default ipv4-unicast\n");
    for p in &plan.peerings {
        for s in &p.sessions {
            let n = s.neighbor;
            let _ = writeln!(c, " neighbor {n} remote-as {}", plan.azure_as);
            let _ = writeln!(
                c,
                " neighbor {n} description {} {} link",
                p.name,
                s.role.as_str()
            );
            if p.customer_as != router_as {
                let _ = writeln!(
                    c,
                    " neighbor {n} local-as {} no-prepend replace-as",
                    p.customer_as
                );
            }
            let _ = writeln!(
                c,
                " neighbor {n} timers {} {}",
                plan.keepalive_secs, plan.hold_secs
            );
            let _ = writeln!(c, " neighbor {n} bfd profile {BFD_PROFILE}");
            match &p.md5 {
                Md5::None => {}
                Md5::Withheld => {
                    let _ = writeln!(
                        c,
                        "! neighbor {n} password …  (withheld: generate with --with-secrets)"
                    );
                }
                Md5::Key(k) => {
                    let _ = writeln!(c, " neighbor {n} password {k}");
                }
            }
        }
    }
    for v6 in [false, true] {
        let sessions: Vec<_> = plan
            .peerings
            .iter()
            .flat_map(|p| p.sessions.iter().map(move |s| (p, s)))
            .filter(|(_, s)| s.v6() == v6)
            .collect();
        if sessions.is_empty() {
            continue;
        }
        c.push_str(" !\n");
        let _ = writeln!(
            c,
            " address-family {} unicast",
            if v6 { "ipv6" } else { "ipv4" }
        );
        if v6 {
            for n in &v6_anchors(plan) {
                let _ = writeln!(c, "  network {n}");
            }
        } else {
            for n in &v4 {
                let _ = writeln!(c, "  network {n}");
            }
        }
        for (p, s) in sessions {
            let n = s.neighbor;
            let _ = writeln!(c, "  neighbor {n} activate");
            let _ = writeln!(c, "  neighbor {n} route-map {IMPORT} in");
            let _ = writeln!(c, "  neighbor {n} prefix-list {} out", p.prefix_list(v6));
        }
        c.push_str(" exit-address-family\n");
    }
    c.push_str("exit\n!\n");
    let _ = writeln!(
        c,
        "! Accept what Azure announces (the edges already hold to the circuit's limits).\nroute-map {IMPORT} permit 10\nexit\n!"
    );
    c
}

fn v6_anchors(plan: &Plan) -> Vec<String> {
    plan.anchors().1.iter().map(ToString::to_string).collect()
}
