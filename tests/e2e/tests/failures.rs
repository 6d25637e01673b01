//! Sessions that go wrong: a peer over its prefix limit, a peer that stops talking.

use e2e::{
    Bird, BirdSpec, CONVERGE, Edge, EdgeDomain, EdgeSpec, Netns, link, require_root, wait_for,
};

#[test]
fn a_peer_over_its_prefix_limit_is_dropped_and_returns_under_it() {
    let test = "a_peer_over_its_prefix_limit_is_dropped_and_returns_under_it";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let bird_ns = Netns::new(test, "bird");
    let l = link(&edge_ns, &bird_ns, 1);
    let [peer, _] = l.edge_peers("cust", 65001);
    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(EdgeDomain::new("a").peer(peer.max_prefixes_ipv4(5))),
    );
    let [session, _] = l.bird_sessions("edge");
    let eight: Vec<String> = (0..8).map(|i| format!("10.30.{i}.0/24")).collect();
    let eight: Vec<&str> = eight.iter().map(String::as_str).collect();
    let mut bird = Bird::start(
        &bird_ns,
        "bird",
        BirdSpec::new(65001, l.peer_v4)
            .session(session)
            .announce(&eight),
    );

    // 8 > 5: the edge sends Cease / Maximum Number of Prefixes Reached (RFC 4486 subcode 1).
    let dropped = wait_for(CONVERGE, "the edge to drop the peer over its limit", || {
        let p = edge.peer("a", "cust-v4")?;
        match &p.last_error {
            Some(e) if e.contains("Maximum Number of Prefixes") && p.state != "Established" => {
                Ok(p)
            }
            _ => Err(format!("state {}, last_error {:?}", p.state, p.last_error)),
        }
    });
    assert!(
        dropped
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("Cease")),
        "the error names the Cease: {:?}",
        dropped.last_error
    );
    let seen_by_bird = wait_for(CONVERGE, "BIRD to report the Cease it received", || {
        let p = bird.protocol("edge_v4")?;
        if p.info
            .contains("Received: Maximum number of prefixes reached")
        {
            Ok(p)
        } else {
            Err(format!("{p:?}"))
        }
    });
    assert_ne!(seen_by_bird.bgp_state, "Established");

    // Back under the limit: the edge retries (with backoff) and the session returns with
    // all 3 prefixes accepted.
    bird.announce(&["10.30.0.0/24", "10.30.1.0/24", "10.30.2.0/24"]);
    let back = wait_for(
        CONVERGE,
        "the session to return once under the limit",
        || {
            let p = edge.established("a", "cust-v4")?;
            bird.established("edge_v4")?;
            match p.prefixes.ipv4.as_ref().map(|c| c.accepted) {
                Some(3) => Ok(p),
                other => Err(format!("established, ipv4 accepted {other:?}")),
            }
        },
    );
    assert_eq!(back.prefixes.ipv4.map(|c| c.received), Some(3));
}

#[test]
fn a_frozen_peer_is_declared_dead_at_hold_time_expiry() {
    let test = "a_frozen_peer_is_declared_dead_at_hold_time_expiry";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let bird_ns = Netns::new(test, "bird");
    let l = link(&edge_ns, &bird_ns, 1);
    let [peer, _] = l.edge_peers("cust", 65001);
    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(EdgeDomain::new("a").peer(peer.hold_time(3))),
    );
    let [session, _] = l.bird_sessions("edge");
    let bird = Bird::start(
        &bird_ns,
        "bird",
        BirdSpec::new(65001, l.peer_v4)
            .session(session.hold_time(3))
            .announce(&["10.40.0.0/24"]),
    );
    wait_for(CONVERGE, "the session to establish", || {
        edge.established("a", "cust-v4")?;
        bird.established("edge_v4").map(|_| ())
    });

    // SIGSTOP: the TCP connection stays open, but no KEEPALIVE comes any more.
    bird.freeze();
    let dead = wait_for(CONVERGE, "the edge to declare the frozen peer dead", || {
        let p = edge.peer("a", "cust-v4")?;
        match &p.last_error {
            Some(e) if e.contains("Hold Timer Expired") && p.state != "Established" => Ok(p),
            _ => Err(format!("state {}, last_error {:?}", p.state, p.last_error)),
        }
    });
    wait_for(
        CONVERGE,
        "the dead peer's routes to leave the Loc-RIB",
        || {
            let routes = edge.routes("a")?;
            match routes.iter().find(|r| r.prefix == "10.40.0.0/24") {
                Some(r) => Err(format!("still there: {r:?} ({dead:?})")),
                None => Ok(()),
            }
        },
    );

    // Thawed, the peer comes back.
    bird.thaw();
    wait_for(
        CONVERGE,
        "the session to re-establish after SIGCONT",
        || {
            edge.established("a", "cust-v4")?;
            bird.established("edge_v4").map(|_| ())
        },
    );
}
