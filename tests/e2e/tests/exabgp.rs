//! ExaBGP as a customer router: it can send any attribute, including ones no router knows,
//! so it shows what the edge passes through untouched and what it strips.

use e2e::{
    Bird, BirdSpec, CONVERGE, Edge, EdgeDomain, EdgeSpec, Exabgp, ExabgpSpec, Netns, absent,
    find_route, link, require_root, wait_for,
};

const PREFIX: &str = "10.31.0.0/24";

#[test]
fn attributes_a_router_does_not_know_pass_through_with_the_partial_bit_and_large_communities_intact()
 {
    let test = "attributes_a_router_does_not_know_pass_through_with_the_partial_bit_and_large_communities_intact";
    if !require_root(test) {
        return;
    }
    let edge_ns = Netns::new(test, "edge");
    let exa_ns = Netns::new(test, "exabgp");
    let bird_ns = Netns::new(test, "bird");
    let lx = link(&edge_ns, &exa_ns, 1);
    let lb = link(&edge_ns, &bird_ns, 2);
    let [x4, _] = lx.edge_peers("exa", 65010);
    let [b4, _] = lb.edge_peers("bird", 65020);

    let edge = Edge::start(
        &edge_ns,
        EdgeSpec::new().domain(EdgeDomain::new("a").peer(x4).peer(b4)),
    );
    // Type 224, flags optional + transitive (0xc0), value 01 02 03 04 05: an attribute no
    // implementation here knows.
    let exabgp = Exabgp::start(
        &exa_ns,
        "exabgp",
        ExabgpSpec::new(65010, lx.peer_v4, lx.peer_v4, lx.edge_v4, 12076).route(&format!(
            "{PREFIX} next-hop self med 50 community [65010:77] large-community [65010:1:2] \
             attribute [ 0xe0 0xc0 0x0102030405 ]"
        )),
    );
    let [s4, _] = lb.bird_sessions("edge");
    let mrt = bird_ns.dir().join("bird.mrt");
    let bird = Bird::start(
        &bird_ns,
        "bird",
        BirdSpec::new(65020, lb.peer_v4).session(s4).mrtdump(&mrt),
    );

    for peer in ["exa-v4", "bird-v4"] {
        wait_for(CONVERGE, &format!("edge peer {peer} to establish"), || {
            edge.established("a", peer)
        });
    }

    // The edge's own view: the communities as received, MED still there (it is stripped
    // only toward another AS).
    let in_rib = wait_for(CONVERGE, &format!("the edge to learn {PREFIX}"), || {
        let v = edge.get("/routes?domain=a")?;
        v["domains"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["routes"].as_array().into_iter().flatten())
            .find(|r| r["prefix"].as_str() == Some(PREFIX))
            .cloned()
            .ok_or_else(|| format!("{PREFIX} not in /routes: {v}"))
    });
    assert_eq!(in_rib["peer"], "exa-v4", "{in_rib}");
    assert_eq!(in_rib["as_path"], "65010", "{in_rib}");
    assert_eq!(in_rib["med"], 50, "{in_rib}");
    assert_eq!(
        in_rib["communities"],
        serde_json::json!(["65010:77"]),
        "{in_rib}"
    );
    assert_eq!(
        in_rib["large_communities"],
        serde_json::json!(["65010:1:2"]),
        "{in_rib}"
    );

    // What BIRD, in another AS, receives from the edge.
    wait_for(CONVERGE, &format!("BIRD to learn {PREFIX}"), || {
        find_route(&bird.routes("edge_v4")?, PREFIX).cloned()
    });
    let shown = bird
        .birdc(&["show", "route", PREFIX, "all", "protocol", "edge_v4"])
        .unwrap_or_else(|e| panic!("{e}"));
    let attr = |name: &str| -> Option<String> {
        shown
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    assert_eq!(
        attr("BGP.as_path:").as_deref(),
        Some("12076 65010"),
        "{shown}"
    );
    assert_eq!(
        attr("BGP.large_community:").as_deref(),
        Some("(65010, 1, 2)"),
        "{shown}"
    );
    assert_eq!(
        attr("BGP.community:").as_deref(),
        Some("(65010,77)"),
        "{shown}"
    );
    assert_eq!(
        attr("BGP.med:"),
        None,
        "the edge must not pass MED to another AS: {shown}"
    );
    // BIRD names an unknown attribute by its type in hex and marks it transitive.
    assert_eq!(
        attr("BGP.e0 [t]:").as_deref(),
        Some("01 02 03 04 05"),
        "{shown}"
    );
    // birdc does not print the Partial bit; the messages BIRD received, as on the wire, do.
    let flags = wait_for(
        CONVERGE,
        "BIRD's MRT dump to hold the update with attribute 224",
        || {
            let bytes = std::fs::read(&mrt).map_err(|e| format!("{}: {e}", mrt.display()))?;
            unknown_attribute_flags(&bytes).ok_or_else(|| {
                format!(
                    "no attribute 224 with value 01..05 in {} bytes",
                    bytes.len()
                )
            })
        },
    );
    assert_eq!(
        flags & 0xe0,
        0xe0,
        "attribute 224 must arrive optional, transitive and partial; flags {flags:#04x}"
    );

    // Withdrawn at ExaBGP, gone at BIRD.
    exabgp.command(&format!("withdraw route {PREFIX} next-hop self"));
    wait_for(
        CONVERGE,
        &format!("BIRD to drop {PREFIX} withdrawn at ExaBGP"),
        || absent(&bird.routes("edge_v4")?, PREFIX),
    );
    exabgp.daemon().assert_running();
}

/// The flags byte of attribute 224 carrying 01 02 03 04 05, found anywhere in `bytes` (an
/// MRT dump: whole BGP messages). Both length encodings are accepted.
fn unknown_attribute_flags(bytes: &[u8]) -> Option<u8> {
    const VALUE: [u8; 5] = [1, 2, 3, 4, 5];
    (1..bytes.len()).find_map(|i| {
        let flags = bytes[i - 1];
        let rest = &bytes[i..];
        let (len_bytes, extended) = if flags & 0x10 == 0 {
            (&[5u8][..], false)
        } else {
            (&[0u8, 5][..], true)
        };
        let header = 1 + len_bytes.len();
        (rest.first() == Some(&224)
            && rest.get(1..header) == Some(len_bytes)
            && rest.get(header..header + 5) == Some(&VALUE[..])
            && (flags & 0x10 != 0) == extended
            && flags & 0x0f == 0)
            .then_some(flags)
    })
}
