//! Prometheus metrics of the whole deployment (`GET /metrics`, admin only), from the edges'
//! latest reports: per edge, circuit and peering the BGP and BFD sessions, bytes per link
//! and FIB routes; per hosted gateway its sessions and routes; and how old each report is.

use std::time::Duration;

use api::metrics::{
    BFD_SESSION_STATE, BFD_SESSION_UP, BGP_PREFIXES_ACCEPTED, BGP_PREFIXES_ADVERTISED,
    BGP_PREFIXES_RECEIVED, BGP_SESSION_ESTABLISHED, BGP_SESSION_STATE, BGP_SESSION_UPTIME,
    Exposition, FIB_ROUTES, Family, LINK_RECEIVE_BYTES, LINK_TRANSMIT_BYTES, join,
};
use api::{EdgeReport, SessionReport};

use crate::edges::REPORT_TTL;

const REPORT_AGE: Family = Family::gauge(
    "causeway_edge_report_age_seconds",
    "Seconds since the edge last reported (its report is ignored past 15).",
);
const CIRCUITS: Family = Family::gauge("causeway_circuits", "Circuits in the store.");
const GATEWAY_ROUTES: Family = Family::gauge(
    "causeway_gateway_routes",
    "Routes a virtual network gateway has learned from the edges.",
);

/// The exposition text of the edges' reports (`(edge, report, age)`, as
/// [`crate::edges::EdgeHub::reports`] gives them; stale ones only show their age) and of the
/// number of circuits, when known.
pub fn render(reports: &[(String, EdgeReport, Duration)], circuits: Option<u64>) -> String {
    let mut e = Exposition::new();
    if let Some(n) = circuits {
        e.sample(&CIRCUITS, &[], n);
    }
    for (edge, _, age) in reports {
        e.sample(
            &REPORT_AGE,
            &[("edge", edge)],
            format!("{:.3}", age.as_secs_f64()),
        );
    }
    for (edge, report, _) in reports.iter().filter(|(_, _, age)| *age <= REPORT_TTL) {
        for c in &report.circuits {
            for p in &c.peerings {
                let link = [
                    ("edge", edge.as_str()),
                    ("circuit", c.service_key.as_str()),
                    ("peering", p.name.as_str()),
                ];
                for s in &p.sessions {
                    sessions(&mut e, &link, s);
                }
                e.sample(&LINK_RECEIVE_BYTES, &link, p.bytes_in);
                e.sample(&LINK_TRANSMIT_BYTES, &link, p.bytes_out);
                if let Some(n) = p.fib_routes {
                    e.sample(&FIB_ROUTES, &link, n);
                }
            }
        }
        for g in &report.gateways {
            let gateway = [("edge", edge.as_str()), ("gateway", g.namespace.as_str())];
            for s in &g.sessions {
                sessions(&mut e, &gateway, s);
            }
            e.sample(&GATEWAY_ROUTES, &gateway, g.routes.len());
            if let Some(n) = g.fib_routes {
                e.sample(&FIB_ROUTES, &gateway, n);
            }
        }
    }
    e.render()
}

/// One session's samples: `base` labels, then `neighbor` (and the family's own).
fn sessions(e: &mut Exposition, base: &[(&str, &str)], s: &SessionReport) {
    let mut labels = base.to_vec();
    labels.push(("neighbor", &s.neighbor));
    let established = s.state == "Established";
    let remote_as = s.remote_as.to_string();
    e.sample(
        &BGP_SESSION_ESTABLISHED,
        &join(&labels, &[("remote_as", &remote_as)]),
        u8::from(established),
    );
    e.sample(
        &BGP_SESSION_STATE,
        &join(&labels, &[("state", &s.state)]),
        1,
    );
    let uptime = if established {
        s.uptime_secs.unwrap_or(0)
    } else {
        0
    };
    e.sample(&BGP_SESSION_UPTIME, &labels, uptime);
    let afi = join(&labels, &[("afi", &s.family)]);
    e.sample(&BGP_PREFIXES_RECEIVED, &afi, s.prefixes_received);
    e.sample(&BGP_PREFIXES_ACCEPTED, &afi, s.prefixes_accepted);
    e.sample(&BGP_PREFIXES_ADVERTISED, &afi, s.prefixes_advertised);
    if let Some(bfd) = &s.bfd {
        e.sample(&BFD_SESSION_UP, &labels, u8::from(bfd == "Up"));
        e.sample(&BFD_SESSION_STATE, &join(&labels, &[("state", bfd)]), 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_report_shows_only_its_age() {
        let report = EdgeReport {
            edge: "e1".into(),
            circuits: vec![api::CircuitReport {
                service_key: "sk".into(),
                peerings: vec![api::PeeringReport {
                    name: "AzurePrivatePeering".into(),
                    bytes_in: 5,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let fresh = render(
            &[("e1".into(), report.clone(), Duration::from_millis(1500))],
            None,
        );
        assert!(fresh.contains("causeway_edge_report_age_seconds{edge=\"e1\"} 1.500\n"));
        assert!(fresh.contains(
            "causeway_link_receive_bytes_total{edge=\"e1\",circuit=\"sk\",peering=\"AzurePrivatePeering\"} 5\n"
        ));
        let stale = render(&[("e1".into(), report, Duration::from_secs(20))], None);
        assert_eq!(
            stale,
            "# HELP causeway_edge_report_age_seconds Seconds since the edge last reported (its report is ignored past 15).\n\
             # TYPE causeway_edge_report_age_seconds gauge\n\
             causeway_edge_report_age_seconds{edge=\"e1\"} 20.000\n"
        );
    }
}
