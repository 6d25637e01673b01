//! Cisco IOS XE: configuration-mode commands, pasted after `configure terminal`.
//!
//! Syntax: IOS XE "IEEE 802.1Q-in-Q VLAN Tag Termination" (`encapsulation dot1Q S
//! second-dot1q C`, `dot1q tunneling ethertype 0x88A8` on the main interface), "BFD"
//! (`bfd interval … min_rx … multiplier …`, `neighbor … fall-over bfd`), "BGP" (`router bgp`,
//! `neighbor … remote-as | password | timers | local-as … no-prepend replace-as`,
//! `address-family ipv4 | ipv6`, `network … mask …`, `neighbor … prefix-list … out`,
//! `neighbor … route-map … in`), `ip prefix-list`, `ipv6 prefix-list`, `ip route … Null0`.
//! The layout follows Microsoft's ExpressRoute router configuration samples for IOS XE.

use std::fmt::Write;

use super::{Encapsulation, Md5, Plan, Vendor, netmask};

pub fn render(plan: &Plan) -> String {
    let mut c = String::new();
    for l in plan.header(Vendor::IosXe) {
        let _ = writeln!(c, "! {l}");
    }
    c.push_str("!\n");
    let v6 = plan.peerings.iter().any(|p| p.has_v6());
    if v6 {
        c.push_str("ipv6 unicast-routing\n!\n");
    }
    let bfd = format!(
        " bfd interval {ms} min_rx {ms} multiplier {m}",
        ms = plan.bfd.interval_ms,
        m = plan.bfd.multiplier
    );
    for l in &plan.links {
        let _ = writeln!(c, "interface {}", l.interface);
        let _ = writeln!(
            c,
            " description {} {} link, edge {}",
            plan.circuit,
            l.role.as_str(),
            l.edge
        );
        if l.encapsulation == Encapsulation::Untagged {
            for (i, p) in plan.peerings.iter().enumerate() {
                addresses(&mut c, p, l.role, i > 0);
            }
            let _ = writeln!(c, "{bfd}");
            c.push_str(" no shutdown\n!\n");
            continue;
        }
        c.push_str(" no ip address\n");
        if let Encapsulation::Qinq { .. } = l.encapsulation {
            c.push_str(" dot1q tunneling ethertype 0x88A8\n");
        }
        c.push_str(" no shutdown\n!\n");
        for p in &plan.peerings {
            let Some(t) = l.tags(p) else { continue };
            let _ = writeln!(c, "interface {}.{}", l.interface, t.ctag);
            let _ = writeln!(c, " description {} {} link", p.name, l.role.as_str());
            match t.stag {
                None => {
                    let _ = writeln!(c, " encapsulation dot1Q {}", t.ctag);
                }
                Some(s) => {
                    let _ = writeln!(c, " encapsulation dot1Q {s} second-dot1q {}", t.ctag);
                }
            }
            addresses(&mut c, p, l.role, false);
            let _ = writeln!(c, "{bfd}");
            c.push_str(" no shutdown\n!\n");
        }
    }

    let (a4, a6) = plan.anchors();
    for n in &a4 {
        let _ = writeln!(
            c,
            "ip route {} {} Null0",
            n.network(),
            netmask(n.prefix_len())
        );
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
            let _ = writeln!(c, "ip prefix-list {name} seq 5 deny 0.0.0.0/0 le 32");
        }
        for (i, n) in p.announce_v4.iter().enumerate() {
            let _ = writeln!(c, "ip prefix-list {name} seq {} permit {n}", (i + 1) * 5);
        }
        if p.has_v6() {
            let name = p.prefix_list(true);
            if p.announce_v6.is_empty() {
                let _ = writeln!(c, "ipv6 prefix-list {name} seq 5 deny ::/0 le 128");
            }
            for (i, n) in p.announce_v6.iter().enumerate() {
                let _ = writeln!(c, "ipv6 prefix-list {name} seq {} permit {n}", (i + 1) * 5);
            }
        }
        c.push_str("!\n");
    }
    c.push_str("route-map CW-AZURE-IN permit 10\n!\n");

    let router_as = plan.router_as();
    let _ = writeln!(c, "router bgp {router_as}");
    let _ = writeln!(c, " bgp router-id {}", plan.router_id());
    c.push_str(" bgp log-neighbor-changes\n no bgp default ipv4-unicast\n");
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
            let _ = writeln!(
                c,
                " neighbor {n} timers {} {}",
                plan.keepalive_secs, plan.hold_secs
            );
            let _ = writeln!(c, " neighbor {n} fall-over bfd");
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
        c.push_str(" !\n");
        if six {
            c.push_str(" address-family ipv6\n");
            for n in &a6 {
                let _ = writeln!(c, "  network {n}");
            }
        } else {
            c.push_str(" address-family ipv4\n");
            for n in &a4 {
                let _ = writeln!(
                    c,
                    "  network {} mask {}",
                    n.network(),
                    netmask(n.prefix_len())
                );
            }
        }
        for (p, s) in sessions {
            let n = s.neighbor;
            let _ = writeln!(c, "  neighbor {n} activate");
            let _ = writeln!(c, "  neighbor {n} soft-reconfiguration inbound");
            let _ = writeln!(c, "  neighbor {n} route-map CW-AZURE-IN in");
            let _ = writeln!(c, "  neighbor {n} prefix-list {} out", p.prefix_list(six));
        }
        c.push_str(" exit-address-family\n");
    }
    c.push_str("!\n");
    c
}

/// A (sub)interface's addresses for one peering on one link; the IPv4 address is a
/// `secondary` one when another peering's shares the (untagged) interface.
fn addresses(c: &mut String, p: &super::PeeringPlan, role: api::Role, secondary: bool) {
    for s in p.sessions_on(role) {
        match s.local {
            std::net::IpAddr::V4(a) => {
                let extra = if secondary { " secondary" } else { "" };
                let _ = writeln!(c, " ip address {a} {}{extra}", netmask(s.prefix_len));
            }
            std::net::IpAddr::V6(_) => {
                let _ = writeln!(c, " ipv6 address {}", s.local_cidr());
            }
        }
    }
}
