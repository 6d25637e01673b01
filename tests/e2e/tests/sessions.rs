//! Sessions: real routers establish with the edge, with and without TCP MD5 (RFC 2385), and
//! a wrong key never gets a session up.

use std::time::Duration;

use e2e::{
    Bird, BirdSpec, CONVERGE, Edge, EdgeDomain, EdgeSpec, Gobgp, GobgpSpec, Netns, hold_for, link,
    require_root, wait_for,
};

#[test]
fn bird_session_establishes_with_and_without_md5() {
    let test = "bird_session_establishes_with_and_without_md5";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let plain_ns = Netns::new(test, "plain");
    let keyed_ns = Netns::new(test, "keyed");
    let plain = link(&edge_ns, &plain_ns, 1);
    let keyed = link(&edge_ns, &keyed_ns, 2);

    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(
            EdgeDomain::new("a")
                .peers(plain.edge_peers("plain", 65001))
                .peers(
                    keyed
                        .edge_peers("keyed", 65002)
                        .map(|p| p.md5("s3cret-bird")),
                ),
        ),
    );
    let plain_bird = Bird::start(
        &plain_ns,
        "bird-plain",
        BirdSpec::new(65001, plain.peer_v4).sessions(plain.bird_sessions("edge")),
    );
    let keyed_bird = Bird::start(
        &keyed_ns,
        "bird-keyed",
        BirdSpec::new(65002, keyed.peer_v4).sessions(
            keyed
                .bird_sessions("edge")
                .map(|s| s.password("s3cret-bird")),
        ),
    );

    for (bird, peer) in [(&plain_bird, "plain"), (&keyed_bird, "keyed")] {
        for family in ["v4", "v6"] {
            let name = format!("{peer}-{family}");
            let p = wait_for(CONVERGE, &format!("edge peer {name} to establish"), || {
                edge.established("a", &name)
            });
            assert_eq!(p.remote_as, if peer == "plain" { 65001 } else { 65002 });
            wait_for(
                CONVERGE,
                &format!("BIRD's session for {name} to establish"),
                || bird.established(&format!("edge_{family}")),
            );
        }
    }
}

#[test]
fn gobgp_session_establishes_with_and_without_md5() {
    let test = "gobgp_session_establishes_with_and_without_md5";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let plain_ns = Netns::new(test, "plain");
    let keyed_ns = Netns::new(test, "keyed");
    let plain = link(&edge_ns, &plain_ns, 1);
    let keyed = link(&edge_ns, &keyed_ns, 2);

    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(
            EdgeDomain::new("a")
                .peers(plain.edge_peers("plain", 65001))
                .peers(
                    keyed
                        .edge_peers("keyed", 65002)
                        .map(|p| p.md5("s3cret-gobgp")),
                ),
        ),
    );
    let plain_gobgp = Gobgp::start(
        &plain_ns,
        "gobgp-plain",
        GobgpSpec::new(65001, plain.peer_v4).neighbors(plain.gobgp_neighbors()),
    );
    let keyed_gobgp = Gobgp::start(
        &keyed_ns,
        "gobgp-keyed",
        GobgpSpec::new(65002, keyed.peer_v4)
            .neighbors(keyed.gobgp_neighbors().map(|n| n.password("s3cret-gobgp"))),
    );

    for (gobgp, l, peer) in [
        (&plain_gobgp, plain, "plain"),
        (&keyed_gobgp, keyed, "keyed"),
    ] {
        for (family, edge_addr) in [("v4", l.edge_v4.into()), ("v6", l.edge_v6.into())] {
            let name = format!("{peer}-{family}");
            wait_for(CONVERGE, &format!("edge peer {name} to establish"), || {
                edge.established("a", &name)
            });
            wait_for(
                CONVERGE,
                &format!("GoBGP's session for {name} to establish"),
                || gobgp.established(edge_addr),
            );
        }
    }
}

#[test]
fn an_md5_mismatch_never_establishes() {
    let test = "an_md5_mismatch_never_establishes";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let good_ns = Netns::new(test, "good");
    let bad_bird_ns = Netns::new(test, "badb");
    let bad_gobgp_ns = Netns::new(test, "badg");
    let good = link(&edge_ns, &good_ns, 1);
    let bad_b = link(&edge_ns, &bad_bird_ns, 2);
    let bad_g = link(&edge_ns, &bad_gobgp_ns, 3);

    let [good_peer, _] = good.edge_peers("good", 65001);
    let [bad_bird_peer, _] = bad_b.edge_peers("badbird", 65002);
    let [bad_gobgp_peer, _] = bad_g.edge_peers("badgobgp", 65003);
    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(
            EdgeDomain::new("a")
                .peer(good_peer.md5("right-key"))
                .peer(bad_bird_peer.md5("right-key"))
                .peer(bad_gobgp_peer.md5("right-key")),
        ),
    );
    let [good_session, _] = good.bird_sessions("edge");
    let good_bird = Bird::start(
        &good_ns,
        "bird-good",
        BirdSpec::new(65001, good.peer_v4).session(good_session.password("right-key")),
    );
    let [bad_session, _] = bad_b.bird_sessions("edge");
    let bad_bird = Bird::start(
        &bad_bird_ns,
        "bird-bad",
        BirdSpec::new(65002, bad_b.peer_v4).session(bad_session.password("wrong-key")),
    );
    let [bad_neighbor, _] = bad_g.gobgp_neighbors();
    let bad_gobgp = Gobgp::start(
        &bad_gobgp_ns,
        "gobgp-bad",
        GobgpSpec::new(65003, bad_g.peer_v4).neighbor(bad_neighbor.password("wrong-key")),
    );

    let mismatched_are_down = || -> Result<(), String> {
        for name in ["badbird-v4", "badgobgp-v4"] {
            let p = edge.peer("a", name)?;
            if p.state == "Established" {
                return Err(format!(
                    "edge peer {name} is Established despite the wrong key"
                ));
            }
        }
        if bad_bird.established("edge_v4").is_ok() {
            return Err("BIRD with the wrong key is Established".into());
        }
        if bad_gobgp.established(bad_g.edge_v4.into()).is_ok() {
            return Err("GoBGP with the wrong key is Established".into());
        }
        Ok(())
    };

    // The correct key establishes; that bounds how long the wrong ones have had to try.
    wait_for(CONVERGE, "the peer with the right key to establish", || {
        if let Err(e) = mismatched_are_down() {
            panic!("{e}");
        }
        edge.established("a", "good-v4")?;
        good_bird.established("edge_v4").map(|_| ())
    });
    // Absence over time is the property itself: several connect retries (1 s each on both
    // sides) must all fail.
    hold_for(
        Duration::from_secs(6),
        "the mismatched sessions to stay down",
        mismatched_are_down,
    );
}
