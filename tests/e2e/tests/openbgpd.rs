//! OpenBGPD as a customer router: a fourth, independent BGP implementation.

use e2e::{
    Bird, BirdSpec, CONVERGE, Edge, EdgeDomain, EdgeSpec, Netns, Openbgpd, OpenbgpdSpec, absent,
    find_route, link, require_root, wait_for,
};

#[test]
fn openbgpd_peers_with_md5_and_exchanges_routes_through_a_domain() {
    let test = "openbgpd_peers_with_md5_and_exchanges_routes_through_a_domain";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let obgp_ns = Netns::new(test, "obgpd");
    let bird_ns = Netns::new(test, "bird");
    let lo = link(&edge_ns, &obgp_ns, 1);
    let lb = link(&edge_ns, &bird_ns, 2);
    let [o4, o6] = lo.edge_peers("obgpd", 65006);

    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(
            EdgeDomain::new("a")
                .originate(&["10.100.0.0/16"])
                .peer(o4.md5("obgpd-key"))
                .peer(o6)
                .peers(lb.edge_peers("bird", 65001)),
        ),
    );
    let [n4, n6] = lo.openbgpd_neighbors();
    let obgpd = Openbgpd::start(
        &obgp_ns,
        "openbgpd",
        OpenbgpdSpec::new(65006, lo.peer_v4)
            .neighbors([n4.password("obgpd-key"), n6])
            .announce(&["10.6.0.0/24", "2001:db8:6::/48"]),
    );
    let bird = Bird::start(
        &bird_ns,
        "bird",
        BirdSpec::new(65001, lb.peer_v4)
            .sessions(lb.bird_sessions("edge"))
            .announce(&["10.1.0.0/24", "2001:db8:1::/48"]),
    );

    for peer in ["obgpd-v4", "obgpd-v6", "bird-v4", "bird-v6"] {
        wait_for(CONVERGE, &format!("edge peer {peer} to establish"), || {
            edge.established("a", peer)
        });
    }
    wait_for(CONVERGE, "OpenBGPD's MD5 IPv4 session to establish", || {
        obgpd.established(lo.edge_v4.into())
    });
    wait_for(CONVERGE, "OpenBGPD's IPv6 session to establish", || {
        obgpd.established(lo.edge_v6.into())
    });

    // OpenBGPD → edge → BIRD.
    for (proto, prefix, next_hop) in [
        ("edge_v4", "10.6.0.0/24", lb.edge_v4.to_string()),
        ("edge_v6", "2001:db8:6::/48", lb.edge_v6.to_string()),
    ] {
        let r = wait_for(
            CONVERGE,
            &format!("BIRD to learn {prefix} from OpenBGPD"),
            || find_route(&bird.routes(proto)?, prefix).cloned(),
        );
        assert_eq!(r.as_path, "12076 65006");
        assert_eq!(r.next_hop, next_hop);
    }
    // BIRD → edge → OpenBGPD, and the domain's own prefix.
    for (prefix, as_path, next_hop) in [
        ("10.1.0.0/24", "12076 65001", lo.edge_v4.to_string()),
        ("2001:db8:1::/48", "12076 65001", lo.edge_v6.to_string()),
        ("10.100.0.0/16", "12076", lo.edge_v4.to_string()),
    ] {
        let r = wait_for(CONVERGE, &format!("OpenBGPD to learn {prefix}"), || {
            find_route(&obgpd.routes()?, prefix).cloned()
        });
        assert_eq!(r.as_path, as_path, "AS path of {prefix} at OpenBGPD");
        assert_eq!(r.next_hop, next_hop, "next hop of {prefix} at OpenBGPD");
    }
    // A withdrawal at OpenBGPD reaches BIRD.
    obgpd.network("10.6.0.0/24", false);
    wait_for(
        CONVERGE,
        "BIRD to drop 10.6.0.0/24 withdrawn at OpenBGPD",
        || absent(&bird.routes("edge_v4")?, "10.6.0.0/24"),
    );
}
