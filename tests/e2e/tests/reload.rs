//! Config reload on SIGHUP changes only what changed, and each change costs what it should:
//! a fixed peer comes up without waiting out its backoff, a new MD5 key resets the session
//! with Cease / Other Configuration Change.

use std::time::Duration;

use e2e::mrt::{SeenNotification, notifications_received};
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

/// The edge's backoff after the wrong-AS errors below: far longer than the test waits for the
/// fixed session.
const LONG_BACKOFF: u32 = 90;
/// How long the fixed session may take to establish: a reconnect and an OPEN exchange, well
/// under [`LONG_BACKOFF`].
const WITHOUT_BACKOFF: Duration = Duration::from_secs(20);

#[test]
fn fixing_a_wrong_peer_as_brings_the_session_up_without_waiting_out_the_backoff() {
    let test = "fixing_a_wrong_peer_as_brings_the_session_up_without_waiting_out_the_backoff";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let bird_ns = Netns::new(test, "bird");
    let l = link(&edge_ns, &bird_ns, 1);
    let [peer, _] = l.edge_peers("a", 65001);
    // Misconfigured: BIRD is AS 65001, the edge expects 65099 and refuses its OPEN.
    let wrong = peer
        .clone()
        .remote_as(65099)
        .error_wait(LONG_BACKOFF, 2 * LONG_BACKOFF);
    let mut edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(EdgeDomain::new("d").peer(wrong)),
    );
    let [session, _] = l.bird_sessions("edge");
    let bird = Bird::start(
        &bird_ns,
        "bird",
        BirdSpec::new(65001, l.peer_v4).session(session),
    );

    let refused = wait_for(
        CONVERGE,
        "the edge to refuse BIRD's OPEN (bad peer AS)",
        || {
            let p = edge.peer("d", "a-v4")?;
            match &p.last_error {
                Some(e) if e.contains("Bad Peer AS") && p.state == "Idle" => Ok(p),
                other => Err(format!("{} (last_error {other:?})", p.state)),
            }
        },
    );
    assert_ne!(refused.state, "Established");

    // The operator fixes the AS; the edge is in a 90 s backoff, but the change ends it.
    let fixed = peer.error_wait(LONG_BACKOFF, 2 * LONG_BACKOFF);
    edge.reload(EdgeSpec::new().domain(EdgeDomain::new("d").peer(fixed)));
    wait_for(
        WITHOUT_BACKOFF,
        "the fixed session to establish without waiting out the backoff",
        || edge.established("d", "a-v4"),
    );
    wait_for(WITHOUT_BACKOFF, "BIRD to see the session up", || {
        bird.established("edge_v4")
    });
}

/// The NOTIFICATIONs BIRD received so far (from its MRT dump).
fn received_by_bird(mrt: &std::path::Path) -> Vec<SeenNotification> {
    notifications_received(&std::fs::read(mrt).unwrap_or_default())
}

#[test]
fn a_new_md5_key_resets_the_session_with_cease_other_configuration_change() {
    let test = "a_new_md5_key_resets_the_session_with_cease_other_configuration_change";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let bird_ns = Netns::new(test, "bird");
    let l = link(&edge_ns, &bird_ns, 1);
    let [peer, _] = l.edge_peers("a", 65001);
    let spec = |key: &str| EdgeSpec::new().domain(EdgeDomain::new("d").peer(peer.clone().md5(key)));
    let mut edge = Edge::start(&edge_ns, spec("old-key"));
    let [session, _] = l.bird_sessions("edge");
    let mrt = bird_ns.dir().join("bird.mrt");
    let bird_spec = |key: &str| {
        BirdSpec::new(65001, l.peer_v4)
            .session(session.clone().password(key))
            .mrtdump(&mrt)
    };
    let mut bird = Bird::start(&bird_ns, "bird", bird_spec("old-key"));
    wait_for(CONVERGE, "the keyed session to establish", || {
        edge.established("d", "a-v4")
    });
    assert!(
        received_by_bird(&mrt).is_empty(),
        "{:?}",
        received_by_bird(&mrt)
    );

    edge.reload(spec("new-key"));
    let n = wait_for(CONVERGE, "BIRD to receive the edge's Cease", || {
        received_by_bird(&mrt)
            .into_iter()
            .next()
            .ok_or_else(|| "no NOTIFICATION yet".to_string())
    });
    assert_eq!(
        (n.code, n.subcode),
        (6, 6),
        "Cease / Other Configuration Change (RFC 4486), not Administrative Shutdown: {n:?}"
    );
    // BIRD names it too.
    let info = wait_for(CONVERGE, "BIRD to report why the session went down", || {
        let p = bird.protocol("edge_v4")?;
        if p.info.contains("configuration change") {
            Ok(p.info)
        } else {
            Err(p.info)
        }
    });
    assert!(info.contains("Received"), "{info}");

    // The customer's router takes the new key; the session comes back with it.
    bird.reconfigure(bird_spec("new-key"));
    wait_for(
        CONVERGE,
        "the session to establish with the new key",
        || edge.established("d", "a-v4"),
    );
}
