//! BIRD 2: a complete `bird.conf`. BIRD does not create interfaces, so the Linux commands
//! that make the (sub)interfaces and give them the customer's addresses come first, as
//! comments to run once.
//!
//! Syntax: BIRD 2 user's guide, chapters "Configuration" (router id, define, filters and
//! prefix sets `net ~ [ … ]`), "Protocols / BFD" (`interface "…" { min rx interval; min tx
//! interval; multiplier; }`), "Protocols / BGP" (`local … as`, `neighbor … as`, `bfd on`,
//! `password`, `hold time`, `keepalive time`, channels) and "Protocols / Static"
//! (`route … blackhole`).

use std::fmt::Write;

use super::{Md5, Plan, Vendor, linux_ifname, linux_setup};

pub fn render(plan: &Plan) -> String {
    let mut c = String::new();
    for l in plan.header(Vendor::Bird) {
        let _ = writeln!(c, "# {l}");
    }
    c.push_str("#\n# Interfaces (BIRD does not create them): run once on the router\n");
    for cmd in linux_setup(plan) {
        let _ = writeln!(c, "#   {cmd}");
    }
    let _ = writeln!(c, "\nrouter id {};\n", plan.router_id());
    c.push_str("protocol device {\n}\n\n");

    let (v4, v6) = plan.anchors();
    if !v4.is_empty() || !v6.is_empty() {
        c.push_str(
            "# The announced prefixes, anchored to discard routes: BGP announces them whatever\n\
             # the state of the networks behind them.\n",
        );
    }
    for (name, channel, nets) in [
        (
            "cw_announce_v4",
            "ipv4",
            v4.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ),
        (
            "cw_announce_v6",
            "ipv6",
            v6.iter().map(ToString::to_string).collect(),
        ),
    ] {
        if nets.is_empty() {
            continue;
        }
        let _ = writeln!(c, "protocol static {name} {{\n    {channel};");
        for n in nets {
            let _ = writeln!(c, "    route {n} blackhole;");
        }
        c.push_str("}\n\n");
    }

    let _ = writeln!(
        c,
        "# BFD toward both edges: {} ms x {}.",
        plan.bfd.interval_ms, plan.bfd.multiplier
    );
    c.push_str("protocol bfd cw_bfd {\n");
    let mut ifaces: Vec<String> = Vec::new();
    for p in &plan.peerings {
        for l in &plan.links {
            let i = linux_ifname(l, l.tags(p));
            if !ifaces.contains(&i) {
                ifaces.push(i);
            }
        }
    }
    for i in ifaces {
        let _ = writeln!(
            c,
            "    interface \"{i}\" {{\n        min rx interval {ms} ms;\n        min tx interval {ms} ms;\n        multiplier {m};\n    }};",
            ms = plan.bfd.interval_ms,
            m = plan.bfd.multiplier
        );
    }
    c.push_str("}\n\n");

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
            let _ = writeln!(
                c,
                "# What {} announces over IPv{}.",
                p.name,
                if v6 { 6 } else { 4 }
            );
            let _ = writeln!(c, "define {} = [", p.prefix_list(v6).replace('-', "_"));
            let n = list.len();
            for (i, net) in list.iter().enumerate() {
                let sep = if i + 1 < n { "," } else { "" };
                let _ = writeln!(c, "    {net}{sep}");
            }
            c.push_str("];\n\n");
        }
    }

    let _ = writeln!(
        c,
        "template bgp cw_azure {{\n    bfd on;\n    hold time {};\n    keepalive time {};\n    connect retry time 5;\n    error wait time 5, 60;\n}}\n",
        plan.hold_secs, plan.keepalive_secs
    );
    for p in &plan.peerings {
        for s in &p.sessions {
            let link = plan.link(s.role);
            let _ = writeln!(c, "protocol bgp {} from cw_azure {{", p.session_ident(s));
            let _ = writeln!(
                c,
                "    description \"{} {} link, edge {}\";",
                p.name,
                s.role.as_str(),
                link.edge
            );
            let _ = writeln!(c, "    local {} as {};", s.local, p.customer_as);
            let _ = writeln!(c, "    neighbor {} as {};", s.neighbor, plan.azure_as);
            match &p.md5 {
                Md5::None => {}
                Md5::Withheld => {
                    c.push_str("    # password \"…\";  (withheld: generate with --with-secrets)\n")
                }
                Md5::Key(k) => {
                    let _ = writeln!(c, "    password \"{}\";", escape(k));
                }
            }
            let (channel, has) = if s.v6() {
                ("ipv6", !p.announce_v6.is_empty())
            } else {
                ("ipv4", !p.announce_v4.is_empty())
            };
            let export = if has {
                format!(
                    "export where net ~ {};",
                    p.prefix_list(s.v6()).replace('-', "_")
                )
            } else {
                "export none;".to_owned()
            };
            let _ = writeln!(
                c,
                "    {channel} {{\n        import all;\n        {export}\n    }};"
            );
            c.push_str("}\n\n");
        }
    }
    c.truncate(c.trim_end().len());
    c.push('\n');
    c
}

/// A BIRD string literal's content.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
