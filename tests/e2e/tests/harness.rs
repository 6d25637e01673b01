//! The harness itself: BIRD and GoBGP peer directly, without Causeway, so a failure in the
//! edge tests can be told apart from a broken lab.

use e2e::{
    Bird, BirdSession, BirdSpec, CONVERGE, Gobgp, GobgpNeighbor, GobgpSpec, Netns, absent,
    find_route, require_root, veth, wait_for,
};

#[test]
fn bird_and_gobgp_peer_with_each_other_in_namespaces() {
    let test = "bird_and_gobgp_peer_with_each_other_in_namespaces";
    if !require_root(test) {
        return;
    }
    let a = Netns::new(test, "bird");
    let b = Netns::new(test, "gobgp");
    veth(
        &a,
        "c0",
        &["10.0.1.1/30", "fd00:1::1/126"],
        &b,
        "c1",
        &["10.0.1.2/30", "fd00:1::2/126"],
    );
    let bird = Bird::start(
        &a,
        "bird",
        BirdSpec::new(65001, "10.0.1.1".parse().expect("literal"))
            .session(BirdSession::new("g4", [10, 0, 1, 1], [10, 0, 1, 2], 65002).password("k1"))
            .session(BirdSession::new(
                "g6",
                "fd00:1::1".parse::<std::net::Ipv6Addr>().expect("literal"),
                "fd00:1::2".parse::<std::net::Ipv6Addr>().expect("literal"),
                65002,
            ))
            .announce(&["10.1.0.0/24", "2001:db8:1::/48"]),
    );
    let gobgp = Gobgp::start(
        &b,
        "gobgp",
        GobgpSpec::new(65002, "10.0.1.2".parse().expect("literal"))
            .neighbor(GobgpNeighbor::new([10, 0, 1, 1], [10, 0, 1, 2], 65001).password("k1"))
            .neighbor(GobgpNeighbor::new(
                "fd00:1::1".parse::<std::net::Ipv6Addr>().expect("literal"),
                "fd00:1::2".parse::<std::net::Ipv6Addr>().expect("literal"),
                65001,
            )),
    );

    wait_for(CONVERGE, "BIRD's MD5 IPv4 session to establish", || {
        bird.established("g4")
    });
    wait_for(CONVERGE, "BIRD's IPv6 session to establish", || {
        bird.established("g6")
    });

    for (family, prefix, next_hop) in [
        ("ipv4", "10.1.0.0/24", "10.0.1.1"),
        ("ipv6", "2001:db8:1::/48", "fd00:1::1"),
    ] {
        let r = wait_for(CONVERGE, &format!("GoBGP to learn {prefix}"), || {
            find_route(&gobgp.routes(family)?, prefix).cloned()
        });
        assert_eq!(r.as_path, "65001");
        assert_eq!(r.next_hop, next_hop);
    }

    gobgp.announce("10.2.0.0/24");
    gobgp.announce("2001:db8:2::/48");
    for (proto, prefix, next_hop) in [
        ("g4", "10.2.0.0/24", "10.0.1.2"),
        ("g6", "2001:db8:2::/48", "fd00:1::2"),
    ] {
        let r = wait_for(CONVERGE, &format!("BIRD to learn {prefix}"), || {
            find_route(&bird.routes(proto)?, prefix).cloned()
        });
        assert_eq!(r.as_path, "65002");
        assert_eq!(r.next_hop, next_hop);
    }

    gobgp.withdraw("10.2.0.0/24");
    wait_for(CONVERGE, "BIRD to drop the withdrawn 10.2.0.0/24", || {
        absent(&bird.routes("g4")?, "10.2.0.0/24")
    });
}
