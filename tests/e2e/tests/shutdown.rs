//! Stopping the edge as a router stops: every peer is told why (Cease / Administrative
//! Shutdown with an RFC 9003 shutdown communication), and the routes stay in the kernel so
//! that forwarding carries on until the next start relearns them.

use std::time::Duration;

use e2e::mrt::notifications_received;
use e2e::{
    Bird, BirdSpec, CONVERGE, Edge, EdgeDomain, EdgeSpec, Netns, link, require_root, wait_for,
};

/// The shutdown communication `causeway edge` sends on SIGTERM.
const MESSAGE: &str = "Causeway edge shutting down";
/// SIGTERM to exit: the edge waits at most 2 s for its NOTIFICATIONs to be written.
const EXIT: Duration = Duration::from_secs(10);

/// The proto-186 (BGP) routes in `ns`'s main table, one `ip route` line each.
fn bgp_routes(ns: &Netns) -> Result<String, String> {
    ns.output("ip", &["-4", "route", "show", "proto", "186"])
}

#[test]
fn sigterm_sends_every_peer_an_administrative_shutdown_and_leaves_the_routes_in_the_kernel() {
    let test =
        "sigterm_sends_every_peer_an_administrative_shutdown_and_leaves_the_routes_in_the_kernel";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let bird_ns = Netns::new(test, "bird");
    let l = link(&edge_ns, &bird_ns, 1);
    let [peer, _] = l.edge_peers("a", 65001);
    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(EdgeDomain::new("d").fib().peer(peer)),
    );
    let [session, _] = l.bird_sessions("edge");
    let mrt = bird_ns.dir().join("bird.mrt");
    let bird = Bird::start(
        &bird_ns,
        "bird",
        BirdSpec::new(65001, l.peer_v4)
            .session(session)
            .announce(&["10.1.0.0/24"])
            .mrtdump(&mrt),
    );
    let installed = wait_for(CONVERGE, "the edge to install 10.1.0.0/24", || {
        let routes = bgp_routes(&edge_ns)?;
        if routes.contains("10.1.0.0/24") {
            Ok(routes)
        } else {
            Err(routes)
        }
    });

    let status = edge.terminate(EXIT);
    assert!(
        status.success(),
        "the edge exits cleanly on SIGTERM: {status}"
    );

    let n = wait_for(
        CONVERGE,
        "BIRD to have received the edge's NOTIFICATION",
        || {
            notifications_received(&std::fs::read(&mrt).unwrap_or_default())
                .into_iter()
                .next()
                .ok_or_else(|| "no NOTIFICATION in BIRD's MRT dump".to_string())
        },
    );
    assert_eq!(
        (n.code, n.subcode),
        (6, 2),
        "Cease / Administrative Shutdown: {n:?}"
    );
    assert_eq!(n.shutdown_communication().as_deref(), Some(MESSAGE));
    let info = wait_for(CONVERGE, "BIRD to report the shutdown", || {
        let p = bird.protocol("edge_v4")?;
        if p.info.contains("Administrative shutdown") {
            Ok(p.info)
        } else {
            Err(p.info)
        }
    });
    assert!(info.contains("Received"), "{info}");

    // The process is gone; its routes are not.
    let after = bgp_routes(&edge_ns).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        after, installed,
        "the kernel routes must survive the edge's shutdown"
    );
}
