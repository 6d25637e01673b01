//! Arista EOS: configuration-mode commands, pasted after `configure`.
//!
//! Syntax: EOS manual "Subinterfaces" (routed parent `no switchport`, `interface EthN.M`,
//! `encapsulation dot1q vlan C` or `encapsulation dot1q vlan S inner C`), "BFD" (`bfd
//! interval … min-rx … multiplier …`, `neighbor … bfd`), "BGP" (`router bgp`, `router-id`,
//! `neighbor … remote-as | password 0 | timers | local-as … no-prepend replace-as`,
//! `address-family`, `network`, `neighbor … prefix-list … out`, `neighbor … route-map …
//! in`), `ip prefix-list`, `ipv6 prefix-list` (its own mode) and `ip route … Null0`.

use std::fmt::Write;

use super::{Encapsulation, Md5, Plan, Vendor};

pub fn render(plan: &Plan) -> String {
    let mut c = String::new();
    for l in plan.header(Vendor::Eos) {
        let _ = writeln!(c, "! {l}");
    }
    c.push_str("!\n");
    if plan.peerings.iter().any(|p| p.has_v6()) {
        c.push_str("ipv6 unicast-routing\n!\n");
    }
    let bfd = format!(
        "   bfd interval {ms} min-rx {ms} multiplier {m}",
        ms = plan.bfd.interval_ms,
        m = plan.bfd.multiplier
    );
    for l in &plan.links {
        let _ = writeln!(c, "interface {}", l.interface);
        let _ = writeln!(
            c,
            "   description {} {} link, edge {}",
            plan.circuit,
            l.role.as_str(),
            l.edge
        );
        c.push_str("   no switchport\n");
        if let Encapsulation::Qinq { .. } = l.encapsulation {
            c.push_str(
                "   ! the provider's S-tag is 802.1ad (TPID 0x88a8): match it on this port\n",
            );
        }
        if l.encapsulation == Encapsulation::Untagged {
            for (i, p) in plan.peerings.iter().enumerate() {
                addresses(&mut c, p, l.role, i > 0);
            }
            let _ = writeln!(c, "{bfd}");
            c.push_str("!\n");
            continue;
        }
        c.push_str("!\n");
        for p in &plan.peerings {
            let Some(t) = l.tags(p) else { continue };
            let _ = writeln!(c, "interface {}.{}", l.interface, t.ctag);
            let _ = writeln!(c, "   description {} {} link", p.name, l.role.as_str());
            match t.stag {
                None => {
                    let _ = writeln!(c, "   encapsulation dot1q vlan {}", t.ctag);
                }
                Some(s) => {
                    let _ = writeln!(c, "   encapsulation dot1q vlan {s} inner {}", t.ctag);
                }
            }
            addresses(&mut c, p, l.role, false);
            let _ = writeln!(c, "{bfd}");
            c.push_str("!\n");
        }
    }

    let (a4, a6) = plan.anchors();
    for n in &a4 {
        let _ = writeln!(c, "ip route {n} Null0");
    }
    for n in &a6 {
        let _ = writeln!(c, "ipv6 route {n} Null0");
    }
    if !a4.is_empty() || !a6.is_empty() {
        c.push_str("!\n");
    }
    for p in &plan.peerings {
        let name = p.prefix_list(false);
        if p.announce_v4.is_empty() {
            let _ = writeln!(c, "ip prefix-list {name} seq 10 deny 0.0.0.0/0 le 32");
        }
        for (i, n) in p.announce_v4.iter().enumerate() {
            let _ = writeln!(c, "ip prefix-list {name} seq {} permit {n}", (i + 1) * 10);
        }
        if p.has_v6() {
            let _ = writeln!(c, "ipv6 prefix-list {}", p.prefix_list(true));
            if p.announce_v6.is_empty() {
                c.push_str("   seq 10 deny ::/0 le 128\n");
            }
            for (i, n) in p.announce_v6.iter().enumerate() {
                let _ = writeln!(c, "   seq {} permit {n}", (i + 1) * 10);
            }
        }
        c.push_str("!\n");
    }
    c.push_str("route-map CW-AZURE-IN permit 10\n!\n");

    let router_as = plan.router_as();
    let _ = writeln!(c, "router bgp {router_as}");
    let _ = writeln!(c, "   router-id {}", plan.router_id());
    c.push_str("   no bgp default ipv4-unicast\n");
    for p in &plan.peerings {
        for s in &p.sessions {
            let n = s.neighbor;
            let _ = writeln!(c, "   neighbor {n} remote-as {}", plan.azure_as);
            let _ = writeln!(
                c,
                "   neighbor {n} description {} {} link",
                p.name,
                s.role.as_str()
            );
            if p.customer_as != router_as {
                let _ = writeln!(
                    c,
                    "   neighbor {n} local-as {} no-prepend replace-as",
                    p.customer_as
                );
            }
            let _ = writeln!(
                c,
                "   neighbor {n} timers {} {}",
                plan.keepalive_secs, plan.hold_secs
            );
            let _ = writeln!(c, "   neighbor {n} bfd");
            match &p.md5 {
                Md5::None => {}
                Md5::Withheld => {
                    let _ = writeln!(
                        c,
                        "   ! neighbor {n} password 0 …  (withheld: generate with --with-secrets)"
                    );
                }
                Md5::Key(k) => {
                    let _ = writeln!(c, "   neighbor {n} password 0 {k}");
                }
            }
        }
    }
    for six in [false, true] {
        let sessions: Vec<_> = plan
            .peerings
            .iter()
            .flat_map(|p| p.sessions.iter().map(move |s| (p, s)))
            .filter(|(_, s)| s.v6() == six)
            .collect();
        if sessions.is_empty() {
            continue;
        }
        c.push_str("   !\n");
        let _ = writeln!(c, "   address-family {}", if six { "ipv6" } else { "ipv4" });
        for (p, s) in sessions {
            let n = s.neighbor;
            let _ = writeln!(c, "      neighbor {n} activate");
            let _ = writeln!(c, "      neighbor {n} route-map CW-AZURE-IN in");
            let _ = writeln!(
                c,
                "      neighbor {n} prefix-list {} out",
                p.prefix_list(six)
            );
        }
        if six {
            for n in &a6 {
                let _ = writeln!(c, "      network {n}");
            }
        } else {
            for n in &a4 {
                let _ = writeln!(c, "      network {n}");
            }
        }
    }
    c.push_str("!\n");
    c
}

/// A (sub)interface's addresses for one peering on one link; the IPv4 address is a
/// `secondary` one when another peering's shares the (untagged) interface.
fn addresses(c: &mut String, p: &super::PeeringPlan, role: api::Role, secondary: bool) {
    for s in p.sessions_on(role) {
        let family = if s.v6() { "ipv6" } else { "ip" };
        let extra = if secondary && !s.v6() {
            " secondary"
        } else {
            ""
        };
        let _ = writeln!(c, "   {family} address {}{extra}", s.local_cidr());
    }
}
