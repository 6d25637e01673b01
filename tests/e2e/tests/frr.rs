//! FRR as a customer router: a third, independent BGP implementation.

use e2e::{
    CONVERGE, Edge, EdgeDomain, EdgeSpec, Frr, FrrSpec, Gobgp, GobgpSpec, Netns, absent,
    find_route, link, require_root, wait_for,
};

#[test]
fn frr_peers_with_md5_and_exchanges_routes_through_a_domain() {
    let test = "frr_peers_with_md5_and_exchanges_routes_through_a_domain";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let frr_ns = Netns::new(test, "frr");
    let gobgp_ns = Netns::new(test, "gobgp");
    let lf = link(&edge_ns, &frr_ns, 1);
    let lg = link(&edge_ns, &gobgp_ns, 2);
    let [f4, f6] = lf.edge_peers("frr", 65005);

    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(
            EdgeDomain::new("a")
                .originate(&["10.100.0.0/16"])
                .peer(f4.md5("frr-key"))
                .peer(f6)
                .peers(lg.edge_peers("gobgp", 65002)),
        ),
    );
    let [n4, n6] = lf.frr_neighbors();
    let frr = Frr::start(
        &frr_ns,
        "frr",
        FrrSpec::new(65005, lf.peer_v4)
            .neighbors([n4.password("frr-key"), n6])
            .announce(&["10.5.0.0/24", "2001:db8:5::/48"]),
    );
    let gobgp = Gobgp::start(
        &gobgp_ns,
        "gobgp",
        GobgpSpec::new(65002, lg.peer_v4).neighbors(lg.gobgp_neighbors()),
    );

    for peer in ["frr-v4", "frr-v6", "gobgp-v4", "gobgp-v6"] {
        wait_for(CONVERGE, &format!("edge peer {peer} to establish"), || {
            edge.established("a", peer)
        });
    }
    wait_for(CONVERGE, "FRR's MD5 IPv4 session to establish", || {
        frr.established(lf.edge_v4.into())
    });
    wait_for(CONVERGE, "FRR's IPv6 session to establish", || {
        frr.established(lf.edge_v6.into())
    });

    // FRR → edge → GoBGP.
    for (family, prefix, next_hop) in [
        ("ipv4", "10.5.0.0/24", lg.edge_v4.to_string()),
        ("ipv6", "2001:db8:5::/48", lg.edge_v6.to_string()),
    ] {
        let r = wait_for(
            CONVERGE,
            &format!("GoBGP to learn {prefix} from FRR"),
            || find_route(&gobgp.routes(family)?, prefix).cloned(),
        );
        assert_eq!(r.as_path, "12076 65005");
        assert_eq!(r.next_hop, next_hop);
    }
    // GoBGP → edge → FRR, and the domain's own prefix.
    gobgp.announce("10.2.0.0/24");
    gobgp.announce("2001:db8:2::/48");
    for (family, prefix, as_path, next_hop) in [
        ("ipv4", "10.2.0.0/24", "12076 65002", lf.edge_v4.to_string()),
        (
            "ipv6",
            "2001:db8:2::/48",
            "12076 65002",
            lf.edge_v6.to_string(),
        ),
        ("ipv4", "10.100.0.0/16", "12076", lf.edge_v4.to_string()),
    ] {
        let r = wait_for(CONVERGE, &format!("FRR to learn {prefix}"), || {
            find_route(&frr.routes(family)?, prefix).cloned()
        });
        assert_eq!(r.as_path, as_path, "AS path of {prefix} at FRR");
        assert_eq!(r.next_hop, next_hop, "next hop of {prefix} at FRR");
    }
    // A withdrawal at FRR reaches GoBGP.
    frr.network("10.5.0.0/24", false);
    wait_for(
        CONVERGE,
        "GoBGP to drop 10.5.0.0/24 withdrawn at FRR",
        || absent(&gobgp.routes("ipv4")?, "10.5.0.0/24"),
    );
}
