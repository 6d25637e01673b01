//! Prometheus metrics of one edge (`GET /metrics` on the status endpoint): BGP sessions and
//! their prefixes per peer, BFD, FIB routes per domain, bytes per link.

use api::metrics::{
    BFD_SESSION_STATE, BFD_SESSION_UP, BGP_PREFIXES_ACCEPTED, BGP_PREFIXES_ADVERTISED,
    BGP_PREFIXES_RECEIVED, BGP_SESSION_ESTABLISHED, BGP_SESSION_STATE, BGP_SESSION_UPTIME,
    Exposition, FIB_ERRORS, FIB_ROUTES, LINK_RECEIVE_BYTES, LINK_TRANSMIT_BYTES, join,
};

use crate::status::EdgeStatus;

/// Byte counters of one interface in a circuit's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCounters {
    pub namespace: String,
    pub ifname: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// The exposition text of an edge's status and its links' counters.
pub fn render(status: &EdgeStatus, links: &[LinkCounters]) -> String {
    let mut e = Exposition::new();
    for d in &status.domains {
        for p in &d.peers {
            let neighbor = p.address.to_string();
            let peer = [
                ("domain", d.name.as_str()),
                ("peer", p.name.as_str()),
                ("neighbor", neighbor.as_str()),
            ];
            let established = p.state == "Established";
            let remote_as = p.remote_as.to_string();
            e.sample(
                &BGP_SESSION_ESTABLISHED,
                &join(&peer, &[("remote_as", &remote_as)]),
                u8::from(established),
            );
            e.sample(&BGP_SESSION_STATE, &join(&peer, &[("state", &p.state)]), 1);
            let uptime = if established {
                p.uptime_secs.unwrap_or(0)
            } else {
                0
            };
            e.sample(&BGP_SESSION_UPTIME, &peer, uptime);
            for (afi, c) in [("ipv4", &p.prefixes.ipv4), ("ipv6", &p.prefixes.ipv6)] {
                let labels = join(&peer, &[("afi", afi)]);
                e.sample(&BGP_PREFIXES_RECEIVED, &labels, c.received);
                e.sample(&BGP_PREFIXES_ACCEPTED, &labels, c.accepted);
                e.sample(&BGP_PREFIXES_ADVERTISED, &labels, c.advertised);
            }
            if let Some(bfd) = &p.bfd {
                e.sample(&BFD_SESSION_UP, &peer, u8::from(bfd == "Up"));
                e.sample(&BFD_SESSION_STATE, &join(&peer, &[("state", bfd)]), 1);
            }
        }
        if let Some(n) = d.fib_routes {
            e.sample(&FIB_ROUTES, &[("domain", &d.name)], n);
        }
        if let Some(n) = d.fib_errors {
            e.sample(&FIB_ERRORS, &[("domain", &d.name)], n);
        }
    }
    for l in links {
        let labels = [
            ("namespace", l.namespace.as_str()),
            ("interface", &l.ifname),
        ];
        e.sample(&LINK_RECEIVE_BYTES, &labels, l.rx_bytes);
        e.sample(&LINK_TRANSMIT_BYTES, &labels, l.tx_bytes);
    }
    e.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{DomainStatus, FamilyCounters, PeerView, PrefixCounters};

    fn counters(received: u32, accepted: u32, advertised: u32) -> FamilyCounters {
        FamilyCounters {
            received,
            accepted,
            advertised,
        }
    }

    fn peer(name: &str, address: &str, state: &str, bfd: Option<&str>) -> PeerView {
        PeerView {
            name: name.into(),
            address: address.parse().expect("address"),
            remote_as: 65001,
            state: state.into(),
            uptime_secs: (state == "Established").then_some(42),
            last_error: None,
            hold_time: None,
            families: Vec::new(),
            prefixes: PrefixCounters {
                ipv4: counters(3, 2, 1),
                ipv6: counters(0, 0, 0),
            },
            bfd: bfd.map(str::to_owned),
        }
    }

    fn status() -> EdgeStatus {
        EdgeStatus {
            router_id: "192.0.2.1".parse().expect("address"),
            local_as: 12076,
            domains: vec![
                DomainStatus {
                    name: "sk/AzurePrivatePeering".into(),
                    peers: vec![
                        peer("primary-v4", "192.168.15.17", "Established", Some("Up")),
                        peer("primary-v6", "2001:db8::1", "Active", None),
                    ],
                    fib_routes: Some(5),
                    fib_errors: Some(1),
                },
                DomainStatus {
                    name: "we\"ird\\dom\nain".into(),
                    peers: vec![peer("p", "10.0.0.1", "Idle", Some("Down"))],
                    fib_routes: None,
                    fib_errors: None,
                },
            ],
        }
    }

    fn links() -> Vec<LinkCounters> {
        vec![LinkCounters {
            namespace: "cwe-lab-edge-1-abcd1234".into(),
            ifname: "cust0".into(),
            rx_bytes: 1200,
            tx_bytes: 3400,
        }]
    }

    #[test]
    fn samples_carry_the_expected_labels_and_values() {
        let text = render(&status(), &links());
        let lines: Vec<&str> = text.lines().collect();
        let p = r#"domain="sk/AzurePrivatePeering",peer="primary-v4",neighbor="192.168.15.17""#;
        let v6 = r#"domain="sk/AzurePrivatePeering",peer="primary-v6",neighbor="2001:db8::1""#;
        let weird = r#"domain="we\"ird\\dom\nain",peer="p",neighbor="10.0.0.1""#;
        for want in [
            format!("causeway_bgp_session_established{{{p},remote_as=\"65001\"}} 1"),
            format!("causeway_bgp_session_established{{{v6},remote_as=\"65001\"}} 0"),
            format!("causeway_bgp_session_established{{{weird},remote_as=\"65001\"}} 0"),
            format!("causeway_bgp_session_state{{{p},state=\"Established\"}} 1"),
            format!("causeway_bgp_session_state{{{v6},state=\"Active\"}} 1"),
            format!("causeway_bgp_session_uptime_seconds{{{p}}} 42"),
            format!("causeway_bgp_session_uptime_seconds{{{v6}}} 0"),
            format!("causeway_bgp_prefixes_received{{{p},afi=\"ipv4\"}} 3"),
            format!("causeway_bgp_prefixes_accepted{{{p},afi=\"ipv4\"}} 2"),
            format!("causeway_bgp_prefixes_advertised{{{p},afi=\"ipv4\"}} 1"),
            format!("causeway_bgp_prefixes_received{{{p},afi=\"ipv6\"}} 0"),
            format!("causeway_bfd_session_up{{{p}}} 1"),
            format!("causeway_bfd_session_state{{{p},state=\"Up\"}} 1"),
            format!("causeway_bfd_session_up{{{weird}}} 0"),
            format!("causeway_bfd_session_state{{{weird},state=\"Down\"}} 1"),
            r#"causeway_fib_routes{domain="sk/AzurePrivatePeering"} 5"#.to_owned(),
            r#"causeway_fib_errors_total{domain="sk/AzurePrivatePeering"} 1"#.to_owned(),
            r#"causeway_link_receive_bytes_total{namespace="cwe-lab-edge-1-abcd1234",interface="cust0"} 1200"#.to_owned(),
            r#"causeway_link_transmit_bytes_total{namespace="cwe-lab-edge-1-abcd1234",interface="cust0"} 3400"#.to_owned(),
        ] {
            assert!(lines.contains(&want.as_str()), "missing {want} in\n{text}");
        }
        // BFD only for peers running it, FIB only for domains with one.
        assert!(!text.contains(&format!("causeway_bfd_session_up{{{v6}}}")));
        assert!(!text.contains("causeway_fib_routes{domain=\"we"));
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("causeway_bgp_session_state{"))
                .count(),
            3,
            "one state sample per session"
        );
    }

    #[test]
    fn each_family_has_help_and_type_once_before_its_samples() {
        let text = render(&status(), &links());
        let families = [
            ("causeway_bgp_session_established", "gauge"),
            ("causeway_bgp_session_state", "gauge"),
            ("causeway_bgp_session_uptime_seconds", "gauge"),
            ("causeway_bgp_prefixes_received", "gauge"),
            ("causeway_bgp_prefixes_accepted", "gauge"),
            ("causeway_bgp_prefixes_advertised", "gauge"),
            ("causeway_bfd_session_up", "gauge"),
            ("causeway_bfd_session_state", "gauge"),
            ("causeway_fib_routes", "gauge"),
            ("causeway_fib_errors_total", "counter"),
            ("causeway_link_receive_bytes_total", "counter"),
            ("causeway_link_transmit_bytes_total", "counter"),
        ];
        let lines: Vec<&str> = text.lines().collect();
        for (name, kind) in families {
            let help = format!("# HELP {name} ");
            let ty = format!("# TYPE {name} {kind}");
            assert_eq!(
                lines.iter().filter(|l| l.starts_with(&help)).count(),
                1,
                "{name}"
            );
            assert_eq!(lines.iter().filter(|l| **l == ty).count(), 1, "{name}");
            // The family's samples form one block right after its TYPE line.
            let at = lines.iter().position(|l| *l == ty).expect("type line");
            let is_sample = |l: &str| l.split(['{', ' ']).next() == Some(name);
            let block = lines[at + 1..].iter().take_while(|l| is_sample(l)).count();
            assert!(block > 0, "{name} has samples");
            assert_eq!(
                lines.iter().filter(|l| is_sample(l)).count(),
                block,
                "{name}"
            );
        }
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("# TYPE ")).count(),
            families.len()
        );
    }

    /// `name{label="value",...} number`, per the 0.0.4 text format.
    fn parses(line: &str) -> bool {
        let is_name = |s: &str| {
            !s.is_empty()
                && s.chars().enumerate().all(|(i, c)| {
                    c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                })
        };
        let Some((series, value)) = line.rsplit_once(' ') else {
            return false;
        };
        if value.parse::<f64>().is_err() {
            return false;
        }
        let Some((name, rest)) = series.split_once('{') else {
            return is_name(series);
        };
        if !is_name(name) {
            return false;
        }
        let Some(mut labels) = rest.strip_suffix('}') else {
            return false;
        };
        while !labels.is_empty() {
            let Some((label, after)) = labels.split_once("=\"") else {
                return false;
            };
            if !is_name(label) || label.contains(':') {
                return false;
            }
            // The value runs to the first unescaped quote.
            let mut chars = after.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, '\\' | '"' | 'n')) => {}
                        _ => return false,
                    },
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    '\n' => return false,
                    _ => {}
                }
            }
            let Some(end) = end else {
                return false;
            };
            labels = &after[end + 1..];
            if let Some(more) = labels.strip_prefix(',') {
                labels = more;
            } else if !labels.is_empty() {
                return false;
            }
        }
        true
    }

    #[test]
    fn every_sample_line_parses() {
        let text = render(&status(), &links());
        assert!(text.ends_with('\n'));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(parses(line), "unparsable sample line: {line:?}");
        }
        assert!(!parses(r#"x{a="unterminated} 1"#));
        assert!(!parses(r#"x{a="b"} one"#));
        assert!(parses("x_total 3"));
    }

    #[test]
    fn an_edge_with_nothing_renders_nothing() {
        let empty = EdgeStatus {
            domains: Vec::new(),
            ..status()
        };
        assert_eq!(render(&empty, &[]), "");
    }
}
