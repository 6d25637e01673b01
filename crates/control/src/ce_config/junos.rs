//! Junos: a hierarchical configuration for `load merge terminal` (or `load merge FILE`).
//!
//! Syntax: Junos OS "Interfaces" (`vlan-tagging`, `stacked-vlan-tagging`, `unit N { vlan-id;
//! vlan-tags outer TPID.S inner C; family inet | inet6 { address; } }`), "Routing options"
//! (`static route … discard`, `rib inet6.0 static`), "Policy" (`policy-options prefix-list`,
//! `policy-statement … term … from prefix-list … then accept`) and "BGP" (`group`, `type
//! external`, `peer-as`, `local-as`, `local-address`, `hold-time`, `authentication-key`,
//! `bfd-liveness-detection { minimum-interval; multiplier; }`, `export`).

use std::fmt::Write;

use super::{Encapsulation, Md5, Plan, Vendor};

pub fn render(plan: &Plan) -> String {
    let mut c = String::from("/*\n");
    for l in plan.header(Vendor::Junos) {
        let _ = writeln!(c, " * {l}");
    }
    c.push_str(" */\n");

    c.push_str("interfaces {\n");
    for l in &plan.links {
        let _ = writeln!(c, "    {} {{", l.interface);
        let _ = writeln!(
            c,
            "        description \"{} {} link, edge {}\";",
            plan.circuit,
            l.role.as_str(),
            l.edge
        );
        match l.encapsulation {
            Encapsulation::Untagged => {}
            Encapsulation::Dot1q => c.push_str("        vlan-tagging;\n"),
            Encapsulation::Qinq { .. } => c.push_str("        stacked-vlan-tagging;\n"),
        }
        for p in &plan.peerings {
            let unit = match l.tags(p) {
                None => 0,
                Some(t) => t.ctag,
            };
            let _ = writeln!(c, "        unit {unit} {{");
            let _ = writeln!(c, "            description \"{}\";", p.name);
            match l.tags(p) {
                None => {}
                Some(t) => match t.stag {
                    None => {
                        let _ = writeln!(c, "            vlan-id {};", t.ctag);
                    }
                    Some(s) => {
                        let _ = writeln!(
                            c,
                            "            vlan-tags outer 0x88a8.{s} inner {};",
                            t.ctag
                        );
                    }
                },
            }
            for s in p.sessions_on(l.role) {
                let family = if s.v6() { "inet6" } else { "inet" };
                let _ = writeln!(
                    c,
                    "            family {family} {{\n                address {};\n            }}",
                    s.local_cidr()
                );
            }
            c.push_str("        }\n");
        }
        c.push_str("    }\n");
    }
    c.push_str("}\n");

    let (v4, v6) = plan.anchors();
    let router_as = plan.router_as();
    let _ = writeln!(
        c,
        "routing-options {{\n    router-id {};\n    autonomous-system {router_as};",
        plan.router_id()
    );
    if !v4.is_empty() || !v6.is_empty() {
        c.push_str("    /* The announced prefixes, anchored to discard routes. */\n");
    }
    if !v4.is_empty() {
        c.push_str("    static {\n");
        for n in &v4 {
            let _ = writeln!(c, "        route {n} discard;");
        }
        c.push_str("    }\n");
    }
    if !v6.is_empty() {
        c.push_str("    rib inet6.0 {\n        static {\n");
        for n in &v6 {
            let _ = writeln!(c, "            route {n} discard;");
        }
        c.push_str("        }\n    }\n");
    }
    c.push_str("}\n");

    c.push_str("policy-options {\n");
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
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(c, "    prefix-list {} {{", p.prefix_list(v6));
            for n in list {
                let _ = writeln!(c, "        {n};");
            }
            c.push_str("    }\n");
        }
    }
    for p in &plan.peerings {
        let _ = writeln!(c, "    policy-statement {}-OUT {{", policy_stem(p));
        for (v6, has) in [
            (false, !p.announce_v4.is_empty()),
            (true, !p.announce_v6.is_empty()),
        ] {
            if has {
                let _ = writeln!(
                    c,
                    "        term announce-{} {{\n            from {{\n                family {};\n                prefix-list {};\n            }}\n            then accept;\n        }}",
                    if v6 { "v6" } else { "v4" },
                    if v6 { "inet6" } else { "inet" },
                    p.prefix_list(v6)
                );
            }
        }
        c.push_str("        then reject;\n    }\n");
    }
    c.push_str("    policy-statement CW-AZURE-IN {\n        then accept;\n    }\n");
    c.push_str("}\n");

    c.push_str("protocols {\n    bgp {\n");
    for p in &plan.peerings {
        for v6 in [false, true] {
            let sessions: Vec<_> = p.sessions.iter().filter(|s| s.v6() == v6).collect();
            if sessions.is_empty() {
                continue;
            }
            let _ = writeln!(
                c,
                "        group {}-{} {{",
                policy_stem(p),
                if v6 { "V6" } else { "V4" }
            );
            let _ = writeln!(c, "            description \"{}\";", p.name);
            c.push_str("            type external;\n");
            let _ = writeln!(c, "            peer-as {};", plan.azure_as);
            if p.customer_as != router_as {
                let _ = writeln!(c, "            local-as {} private;", p.customer_as);
            }
            let _ = writeln!(c, "            hold-time {};", plan.hold_secs);
            c.push_str("            import CW-AZURE-IN;\n");
            let _ = writeln!(c, "            export {}-OUT;", policy_stem(p));
            match &p.md5 {
                Md5::None => {}
                Md5::Withheld => c.push_str(
                    "            /* authentication-key \"…\"; withheld: generate with --with-secrets */\n",
                ),
                Md5::Key(k) => {
                    let _ = writeln!(c, "            authentication-key \"{k}\";");
                }
            }
            let _ = writeln!(
                c,
                "            bfd-liveness-detection {{\n                minimum-interval {};\n                multiplier {};\n            }}",
                plan.bfd.interval_ms, plan.bfd.multiplier
            );
            for s in sessions {
                let _ = writeln!(
                    c,
                    "            neighbor {} {{\n                description \"{} link\";\n                local-address {};\n            }}",
                    s.neighbor,
                    s.role.as_str(),
                    s.local
                );
            }
            c.push_str("        }\n");
        }
    }
    c.push_str("    }\n}\n");
    c
}

/// `CW-PRIVATE`, `CW-MICROSOFT`.
fn policy_stem(p: &super::PeeringPlan) -> String {
    format!("CW-{}", p.kind.short().to_ascii_uppercase())
}
