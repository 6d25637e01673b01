//! `GET /metrics`: Prometheus text from the edges' reports, for the admin only.

mod common;

use api::{CircuitReport, EdgeReport, GatewayReport, PeeringReport, RouteReport, SessionReport};
use common::*;

fn session(neighbor: &str, state: &str, family: &str, bfd: Option<&str>) -> SessionReport {
    SessionReport {
        neighbor: neighbor.into(),
        remote_as: 65001,
        state: state.into(),
        uptime_secs: (state == "Established").then_some(120),
        prefixes_received: 4,
        prefixes_accepted: 3,
        prefixes_advertised: 2,
        last_error: None,
        family: family.into(),
        bfd: bfd.map(str::to_owned),
    }
}

fn report() -> EdgeReport {
    EdgeReport {
        edge: "lab-edge-1".into(),
        generation: 1,
        net_admin: true,
        circuits: vec![CircuitReport {
            service_key: "sk-1".into(),
            peerings: vec![
                PeeringReport {
                    name: "AzurePrivatePeering".into(),
                    sessions: vec![
                        session("192.168.15.17", "Established", "ipv4", Some("Up")),
                        session("2001:db8::1", "Active", "ipv6", None),
                    ],
                    bytes_in: 1000,
                    bytes_out: 2000,
                    fib_routes: Some(7),
                    ..Default::default()
                },
                PeeringReport {
                    name: "MicrosoftPeering".into(),
                    sessions: vec![session("123.0.0.1", "Idle", "ipv4", None)],
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        gateways: vec![GatewayReport {
            id: "/subscriptions/s/…/gw".into(),
            namespace: "cwg-0001".into(),
            sessions: vec![session("10.1.255.5", "Established", "ipv4", None)],
            routes: vec![RouteReport::default(); 2],
            fib_routes: Some(2),
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn metrics_answer_the_admin_from_the_edges_reports() {
    let env = Env::new();
    env.create_circuit(&env.a, SUB_A, "rg", "er1").await;
    env.service
        .edge_report("lab-edge-1", report())
        .expect("report");

    let r = env
        .raw("GET", "/metrics", Some(&env.admin), None, &[])
        .await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4")
    );
    let lines: Vec<&str> = r.text.lines().collect();
    let private = r#"edge="lab-edge-1",circuit="sk-1",peering="AzurePrivatePeering""#;
    let v4 = format!(r#"{private},neighbor="192.168.15.17""#);
    let v6 = format!(r#"{private},neighbor="2001:db8::1""#);
    let gw = r#"edge="lab-edge-1",gateway="cwg-0001""#;
    for want in [
        "# TYPE causeway_circuits gauge".to_owned(),
        "causeway_circuits 1".to_owned(),
        "# TYPE causeway_edge_report_age_seconds gauge".to_owned(),
        format!("causeway_bgp_session_established{{{v4},remote_as=\"65001\"}} 1"),
        format!("causeway_bgp_session_established{{{v6},remote_as=\"65001\"}} 0"),
        format!("causeway_bgp_session_state{{{v4},state=\"Established\"}} 1"),
        format!("causeway_bgp_session_state{{{v6},state=\"Active\"}} 1"),
        format!("causeway_bgp_session_uptime_seconds{{{v4}}} 120"),
        format!("causeway_bgp_session_uptime_seconds{{{v6}}} 0"),
        format!("causeway_bgp_prefixes_received{{{v4},afi=\"ipv4\"}} 4"),
        format!("causeway_bgp_prefixes_accepted{{{v6},afi=\"ipv6\"}} 3"),
        format!("causeway_bgp_prefixes_advertised{{{v4},afi=\"ipv4\"}} 2"),
        format!("causeway_bfd_session_up{{{v4}}} 1"),
        format!("causeway_bfd_session_state{{{v4},state=\"Up\"}} 1"),
        format!("causeway_link_receive_bytes_total{{{private}}} 1000"),
        format!("causeway_link_transmit_bytes_total{{{private}}} 2000"),
        format!("causeway_fib_routes{{{private}}} 7"),
        r#"causeway_link_receive_bytes_total{edge="lab-edge-1",circuit="sk-1",peering="MicrosoftPeering"} 0"#.to_owned(),
        format!(
            "causeway_bgp_session_established{{{gw},neighbor=\"10.1.255.5\",remote_as=\"65001\"}} 1"
        ),
        format!("causeway_gateway_routes{{{gw}}} 2"),
        format!("causeway_fib_routes{{{gw}}} 2"),
    ] {
        assert!(lines.contains(&want.as_str()), "missing {want} in\n{}", r.text);
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(r#"causeway_edge_report_age_seconds{edge="lab-edge-1"} "#)),
        "{}",
        r.text
    );
    // BFD only where it runs, FIB only where it is reported; HELP and TYPE once per family.
    assert!(!r.text.contains(&format!("causeway_bfd_session_up{{{v6}}}")));
    assert_eq!(
        lines
            .iter()
            .filter(|l| **l == "# TYPE causeway_bgp_session_established gauge")
            .count(),
        1
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("causeway_fib_routes{"))
            .count(),
        2
    );
}

#[tokio::test]
async fn metrics_need_the_admin_token() {
    let env = Env::new();
    let r = env.raw("GET", "/metrics", None, None, &[]).await;
    r.expect(401);
    assert_eq!(r.code(), "AuthenticationFailed");
    env.raw("GET", "/metrics", Some("cw_nope"), None, &[])
        .await
        .expect(401);
    for token in [&env.a, &env.lab] {
        let r = env.raw("GET", "/metrics", Some(token), None, &[]).await;
        r.expect(403);
        assert_eq!(r.code(), "AuthorizationFailed");
    }
}

#[tokio::test]
async fn metrics_without_reports_list_only_the_circuits() {
    let env = Env::new();
    let r = env
        .raw("GET", "/metrics", Some(&env.admin), None, &[])
        .await;
    r.expect(200);
    assert_eq!(
        r.text,
        "# HELP causeway_circuits Circuits in the store.\n\
         # TYPE causeway_circuits gauge\n\
         causeway_circuits 0\n"
    );
}
