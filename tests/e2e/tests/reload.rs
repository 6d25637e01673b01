//! Config reload on SIGHUP changes only what changed.

use e2e::{
    Bird, BirdSpec, CONVERGE, Edge, EdgeDomain, EdgeSpec, Gobgp, GobgpSpec, Netns, find_route,
    link, require_root, wait_for,
};

#[test]
fn sighup_reload_adds_a_peer_without_resetting_the_others() {
    let test = "sighup_reload_adds_a_peer_without_resetting_the_others";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let a_ns = Netns::new(test, "bird");
    let b_ns = Netns::new(test, "gobgp");
    let la = link(&edge_ns, &a_ns, 1);
    let lb = link(&edge_ns, &b_ns, 2);
    let [a_peer, _] = la.edge_peers("a", 65001);
    let [b_peer, _] = lb.edge_peers("b", 65002);

    let before = EdgeSpec::new().domain(EdgeDomain::new("d").peer(a_peer.clone()));
    let mut edge = Edge::start(&edge_ns, before);
    let [session, _] = la.bird_sessions("edge");
    let bird = Bird::start(
        &a_ns,
        "bird",
        BirdSpec::new(65001, la.peer_v4)
            .session(session)
            .announce(&["10.1.0.0/24"]),
    );
    let [neighbor, _] = lb.gobgp_neighbors();
    let gobgp = Gobgp::start(
        &b_ns,
        "gobgp",
        GobgpSpec::new(65002, lb.peer_v4).neighbor(neighbor),
    );

    // Let the existing session age a little, so that a reset would show as uptime going down.
    let first_uptime = wait_for(CONVERGE, "peer a to be up for 2 s", || {
        let p = edge.established("d", "a-v4")?;
        match p.uptime_secs {
            Some(u) if u >= 2 => Ok(u),
            other => Err(format!("uptime {other:?}")),
        }
    });
    let bird_since = bird
        .established("edge_v4")
        .unwrap_or_else(|e| panic!("{e}"))
        .since;

    // The same config plus one peer.
    edge.reload(EdgeSpec::new().domain(EdgeDomain::new("d").peer(a_peer).peer(b_peer)));

    let last_uptime = std::cell::Cell::new(first_uptime);
    let a_still_up = || {
        let p = edge
            .established("d", "a-v4")
            .unwrap_or_else(|e| panic!("the untouched peer was disturbed by the reload: {e}"));
        let uptime = p.uptime_secs.unwrap_or(0);
        assert!(
            uptime >= last_uptime.get(),
            "the untouched peer's uptime went from {} to {uptime}: its session was reset",
            last_uptime.get()
        );
        last_uptime.set(uptime);
        uptime
    };
    wait_for(CONVERGE, "the added peer to establish", || {
        a_still_up();
        edge.established("d", "b-v4")?;
        gobgp.established(lb.edge_v4.into())
    });
    // The new peer is in business: it learns A's route through the domain.
    wait_for(CONVERGE, "the added peer to learn 10.1.0.0/24", || {
        a_still_up();
        find_route(&gobgp.routes("ipv4")?, "10.1.0.0/24").cloned()
    });
    // And the old session keeps ageing.
    let reloaded_at = last_uptime.get();
    wait_for(
        CONVERGE,
        "the untouched peer's uptime to keep growing",
        || {
            let u = a_still_up();
            if u > reloaded_at {
                Ok(())
            } else {
                Err(format!("uptime {u}"))
            }
        },
    );
    let bird_after = bird
        .established("edge_v4")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bird_after.since, bird_since,
        "BIRD saw its session restart across the edge's reload"
    );
}
