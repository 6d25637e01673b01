//! Routes through a domain: from one customer router to another, with the edge's AS
//! prepended and itself as next hop; and never from one domain into another.

use e2e::{
    Bird, BirdSpec, CONVERGE, Edge, EdgeDomain, EdgeSpec, Gobgp, GobgpSpec, Netns, SeenRoute,
    absent, find_route, link, require_root, wait_for,
};

#[test]
fn routes_flow_from_one_peer_to_another_through_a_domain() {
    let test = "routes_flow_from_one_peer_to_another_through_a_domain";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let a_ns = Netns::new(test, "bird");
    let b_ns = Netns::new(test, "gobgp");
    let la = link(&edge_ns, &a_ns, 1);
    let lb = link(&edge_ns, &b_ns, 2);

    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(
            EdgeDomain::new("a")
                .originate(&["10.100.0.0/16", "2001:db8:100::/48"])
                .peers(la.edge_peers("a", 65001))
                .peers(lb.edge_peers("b", 65002)),
        ),
    );
    let mut a = Bird::start(
        &a_ns,
        "bird-a",
        BirdSpec::new(65001, la.peer_v4)
            .sessions(la.bird_sessions("edge"))
            .announce(&[
                "10.1.0.0/24",
                "10.1.1.0/24",
                "2001:db8:1::/48",
                "2001:db8:1:1::/64",
            ]),
    );
    let b = Gobgp::start(
        &b_ns,
        "gobgp-b",
        GobgpSpec::new(65002, lb.peer_v4).neighbors(lb.gobgp_neighbors()),
    );
    for peer in ["a-v4", "a-v6", "b-v4", "b-v6"] {
        wait_for(CONVERGE, &format!("edge peer {peer} to establish"), || {
            edge.established("a", peer)
        });
    }

    // A → edge → B, IPv4 and IPv6.
    let b_sees = |prefix: &str| -> Result<SeenRoute, String> {
        let family = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        find_route(&b.routes(family)?, prefix).cloned()
    };
    for (prefix, next_hop) in [
        ("10.1.0.0/24", lb.edge_v4.to_string()),
        ("10.1.1.0/24", lb.edge_v4.to_string()),
        ("2001:db8:1::/48", lb.edge_v6.to_string()),
        ("2001:db8:1:1::/64", lb.edge_v6.to_string()),
    ] {
        let r = wait_for(
            CONVERGE,
            &format!("GoBGP (B) to learn {prefix} from A"),
            || b_sees(prefix),
        );
        assert_eq!(r.as_path, "12076 65001", "AS path of {prefix} at B");
        assert_eq!(r.next_hop, next_hop, "next hop of {prefix} at B");
    }
    // The edge's own view agrees: the route came from A with A's path.
    let in_rib = wait_for(CONVERGE, "the edge's Loc-RIB to hold 10.1.0.0/24", || {
        edge.routes("a")?
            .into_iter()
            .find(|r| r.prefix == "10.1.0.0/24")
            .ok_or_else(|| "10.1.0.0/24 not in /routes?domain=a".to_string())
    });
    assert_eq!(in_rib.peer.as_deref(), Some("a-v4"));
    assert_eq!(in_rib.as_path, "65001");
    assert!(
        in_rib.best,
        "the only path to 10.1.0.0/24 is best: {in_rib:?}"
    );

    // B → edge → A.
    b.announce("10.2.0.0/24");
    b.announce("2001:db8:2::/48");
    for (proto, prefix, next_hop) in [
        ("edge_v4", "10.2.0.0/24", la.edge_v4.to_string()),
        ("edge_v6", "2001:db8:2::/48", la.edge_v6.to_string()),
    ] {
        let r = wait_for(
            CONVERGE,
            &format!("BIRD (A) to learn {prefix} from B"),
            || find_route(&a.routes(proto)?, prefix).cloned(),
        );
        assert_eq!(r.as_path, "12076 65002", "AS path of {prefix} at A");
        assert_eq!(r.next_hop, next_hop, "next hop of {prefix} at A");
    }

    // The domain's own prefixes reach both sides with the edge's AS alone.
    for (proto, prefix, next_hop) in [
        ("edge_v4", "10.100.0.0/16", la.edge_v4.to_string()),
        ("edge_v6", "2001:db8:100::/48", la.edge_v6.to_string()),
    ] {
        let r = wait_for(
            CONVERGE,
            &format!("BIRD (A) to learn originated {prefix}"),
            || find_route(&a.routes(proto)?, prefix).cloned(),
        );
        assert_eq!(r.as_path, "12076");
        assert_eq!(r.next_hop, next_hop);
    }
    for (prefix, next_hop) in [
        ("10.100.0.0/16", lb.edge_v4.to_string()),
        ("2001:db8:100::/48", lb.edge_v6.to_string()),
    ] {
        let r = wait_for(
            CONVERGE,
            &format!("GoBGP (B) to learn originated {prefix}"),
            || b_sees(prefix),
        );
        assert_eq!(r.as_path, "12076");
        assert_eq!(r.next_hop, next_hop);
    }

    // Withdrawals propagate both ways.
    a.announce(&["10.1.0.0/24", "2001:db8:1::/48"]);
    for prefix in ["10.1.1.0/24", "2001:db8:1:1::/64"] {
        let family = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        wait_for(
            CONVERGE,
            &format!("B to drop {prefix} withdrawn at A"),
            || absent(&b.routes(family)?, prefix),
        );
    }
    assert!(
        b_sees("10.1.0.0/24").is_ok(),
        "withdrawing one prefix kept the others"
    );
    b.withdraw("10.2.0.0/24");
    b.withdraw("2001:db8:2::/48");
    wait_for(CONVERGE, "A to drop 10.2.0.0/24 withdrawn at B", || {
        absent(&a.routes("edge_v4")?, "10.2.0.0/24")
    });
    wait_for(CONVERGE, "A to drop 2001:db8:2::/48 withdrawn at B", || {
        absent(&a.routes("edge_v6")?, "2001:db8:2::/48")
    });
}

#[test]
fn two_domains_with_the_same_prefixes_stay_apart() {
    let test = "two_domains_with_the_same_prefixes_stay_apart";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let a1_ns = Netns::new(test, "a1");
    let a2_ns = Netns::new(test, "a2");
    let b1_ns = Netns::new(test, "b1");
    let b2_ns = Netns::new(test, "b2");
    let l_a1 = link(&edge_ns, &a1_ns, 1);
    let l_a2 = link(&edge_ns, &a2_ns, 2);
    let l_b1 = link(&edge_ns, &b1_ns, 3);
    let l_b2 = link(&edge_ns, &b2_ns, 4);

    let [a1_peer, _] = l_a1.edge_peers("a1", 65001);
    let [a2_peer, _] = l_a2.edge_peers("a2", 65002);
    let [b1_peer, _] = l_b1.edge_peers("b1", 65003);
    let [b2_peer, _] = l_b2.edge_peers("b2", 65004);
    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new()
            .domain(
                EdgeDomain::new("a")
                    .originate(&["10.100.0.0/16"])
                    .peer(a1_peer)
                    .peer(a2_peer),
            )
            .domain(
                EdgeDomain::new("b")
                    .originate(&["10.101.0.0/16"])
                    .peer(b1_peer)
                    .peer(b2_peer),
            ),
    );
    let [s, _] = l_a1.bird_sessions("edge");
    let _a1 = Bird::start(
        &a1_ns,
        "bird-a1",
        BirdSpec::new(65001, l_a1.peer_v4)
            .session(s)
            .announce(&["10.20.0.0/24", "10.21.0.0/24"]),
    );
    let [n, _] = l_a2.gobgp_neighbors();
    let a2 = Gobgp::start(
        &a2_ns,
        "gobgp-a2",
        GobgpSpec::new(65002, l_a2.peer_v4).neighbor(n),
    );
    let [s, _] = l_b1.bird_sessions("edge");
    let mut b1 = Bird::start(
        &b1_ns,
        "bird-b1",
        BirdSpec::new(65003, l_b1.peer_v4).session(s),
    );
    let [n, _] = l_b2.gobgp_neighbors();
    let b2 = Gobgp::start(
        &b2_ns,
        "gobgp-b2",
        GobgpSpec::new(65004, l_b2.peer_v4).neighbor(n),
    );

    for (domain, peer) in [
        ("a", "a1-v4"),
        ("a", "a2-v4"),
        ("b", "b1-v4"),
        ("b", "b2-v4"),
    ] {
        wait_for(
            CONVERGE,
            &format!("edge peer {domain}/{peer} to establish"),
            || edge.established(domain, peer),
        );
    }
    // Domain a converges first: a2 learns both of a1's prefixes.
    for prefix in ["10.20.0.0/24", "10.21.0.0/24"] {
        wait_for(CONVERGE, &format!("a2 to learn {prefix} from a1"), || {
            find_route(&a2.routes("ipv4")?, prefix).cloned()
        });
    }
    // Then b1 announces the same 10.20.0.0/24 with its own AS.
    b1.announce(&["10.20.0.0/24"]);
    let at_b2 = wait_for(CONVERGE, "b2 to learn 10.20.0.0/24 from b1", || {
        find_route(&b2.routes("ipv4")?, "10.20.0.0/24").cloned()
    });
    assert_eq!(at_b2.as_path, "12076 65003", "b2 sees b1's path, not a1's");
    wait_for(CONVERGE, "b2 to learn domain b's own 10.101.0.0/16", || {
        find_route(&b2.routes("ipv4")?, "10.101.0.0/16").cloned()
    });

    let b2_routes = b2.routes("ipv4").unwrap_or_else(|e| panic!("{e}"));
    for leaked in ["10.21.0.0/24", "10.100.0.0/16"] {
        assert!(
            absent(&b2_routes, leaked).is_ok(),
            "domain a's {leaked} reached b2: {b2_routes:?}"
        );
    }
    let paths_to_shared: Vec<&SeenRoute> = b2_routes
        .iter()
        .filter(|r| r.prefix == "10.20.0.0/24")
        .collect();
    assert!(
        paths_to_shared.iter().all(|r| r.as_path == "12076 65003"),
        "b2 has a path to 10.20.0.0/24 that is not b1's: {paths_to_shared:?}"
    );
    let a2_routes = a2.routes("ipv4").unwrap_or_else(|e| panic!("{e}"));
    let a2_shared: Vec<&SeenRoute> = a2_routes
        .iter()
        .filter(|r| r.prefix == "10.20.0.0/24")
        .collect();
    assert!(
        !a2_shared.is_empty() && a2_shared.iter().all(|r| r.as_path == "12076 65001"),
        "a2 must see only a1's path to 10.20.0.0/24: {a2_shared:?}"
    );
    assert!(
        absent(&a2_routes, "10.101.0.0/16").is_ok(),
        "domain b's prefix reached a2"
    );

    // The edge's own Loc-RIBs agree.
    let rib_b = edge.routes("b").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rib_b
            .iter()
            .all(|r| r.prefix != "10.21.0.0/24" && r.peer.as_deref() != Some("a1-v4")),
        "domain b's Loc-RIB holds domain a's routes: {rib_b:?}"
    );
}
