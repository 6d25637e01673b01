//! Golden tests: one circuit on dot1q ports and one on QinQ ports, rendered for every vendor
//! and compared with the files under `tests/golden/ce-config/` (reviewed line by line
//! against each vendor's documented syntax). `CAUSEWAY_UPDATE_GOLDEN=1` rewrites them.
//!
//! Input: a Premium circuit with private peering (IPv4 and IPv6, an MD5 key) and Microsoft
//! peering (advertised public prefixes, another ASN). Output: `<fixture>.<vendor>`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::inventory::{EdgeDef, LocationEdges, PortDef};
use crate::model::{MicrosoftConfig, PeeringConfigV6, ProviderProperties, Sku};

fn inventory(encapsulation: &str) -> Inventory {
    let edge = |name: &str, id: [u8; 4]| EdgeDef {
        name: name.into(),
        router_id: Ipv4Addr::from(id),
        lab: false,
        ports: vec![PortDef {
            ifname: "eth1".into(),
            encapsulation: encapsulation.into(),
            owner: "Equinix".into(),
        }],
        fabric: None,
    };
    Inventory {
        locations: vec![LocationEdges {
            name: "Amsterdam".into(),
            primary: edge("ams-edge-1", [192, 0, 2, 11]),
            secondary: edge("ams-edge-2", [192, 0, 2, 12]),
            direct: None,
        }],
        gateway: None,
    }
}

fn peering(name: &str, kind: &str, asn: u32, v4: [&str; 2], vlan: u16) -> Peering {
    Peering {
        name: name.into(),
        peering_type: kind.into(),
        state: "Enabled".into(),
        peer_asn: asn,
        primary_prefix: v4[0].into(),
        secondary_prefix: v4[1].into(),
        shared_key: None,
        vlan_id: vlan,
        microsoft: None,
        ipv6: None,
        last_modified_by: "Customer".into(),
        etag: "W/\"1\"".into(),
        route_filter: None,
    }
}

fn circuit() -> Circuit {
    let mut private = peering(
        "AzurePrivatePeering",
        "AzurePrivatePeering",
        65010,
        ["172.16.0.0/30", "172.16.0.4/30"],
        100,
    );
    private.shared_key = Some("s3cret-Md5".into());
    private.ipv6 = Some(PeeringConfigV6 {
        primary_prefix: "2001:db8:100::/126".into(),
        secondary_prefix: "2001:db8:100::4/126".into(),
        state: "Enabled".into(),
        microsoft: None,
    });
    let mut microsoft = peering(
        "MicrosoftPeering",
        "MicrosoftPeering",
        64496,
        ["198.51.100.0/30", "198.51.100.4/30"],
        200,
    );
    microsoft.microsoft = Some(MicrosoftConfig {
        advertised_public_prefixes: vec!["203.0.113.0/27".into()],
        advertised_communities: Vec::new(),
        customer_asn: None,
        routing_registry_name: Some("ARIN".into()),
    });
    Circuit {
        sub: "00000000-0000-0000-0000-0000000000aa".into(),
        rg: "ce".into(),
        name: "ams-circuit".into(),
        location: "westeurope".into(),
        tags: BTreeMap::new(),
        sku: Sku {
            tier: "Premium".into(),
            family: "MeteredData".into(),
        },
        service_key: "0a1b2c3d-0000-4000-8000-00000000ce00".into(),
        provider: ProviderProperties {
            service_provider_name: "Equinix".into(),
            peering_location: "Amsterdam".into(),
            bandwidth_in_mbps: 1000,
        },
        provider_state: "Provisioned".into(),
        provider_notes: String::new(),
        allow_classic_operations: false,
        global_reach_enabled: false,
        peerings: vec![private, microsoft],
        authorizations: Vec::new(),
        etag: "W/\"1\"".into(),
        cross_connection_tags: BTreeMap::new(),
        stag: Some(2001),
        drain: BTreeMap::new(),
        global_reach: Vec::new(),
    }
}

fn request(vendor: Vendor) -> Request {
    let mut r = Request::new(vendor);
    r.with_secrets = true;
    r.announce = vec![
        "10.1.0.0/16".parse().expect("prefix"),
        "2001:db8:1000::/48".parse().expect("prefix"),
    ];
    r
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ce-config")
}

fn check_golden(fixture: &str, encapsulation: &str) {
    let update = std::env::var_os("CAUSEWAY_UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for vendor in Vendor::ALL {
        let plan = plan(
            &circuit(),
            &inventory(encapsulation),
            12076,
            BfdTimers::default(),
            &request(vendor),
        )
        .expect("plan");
        let text = render(&plan, vendor);
        let path = golden_dir().join(format!("{fixture}.{}", vendor.as_str()));
        if update {
            std::fs::create_dir_all(golden_dir()).expect("golden dir");
            std::fs::write(&path, &text).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (CAUSEWAY_UPDATE_GOLDEN=1 writes it)",
                path.display()
            )
        });
        if want != text {
            let line = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| want.lines().count().min(text.lines().count()));
            failures.push(format!(
                "{}: differs from line {}:\n  golden: {:?}\n  now:    {:?}",
                path.display(),
                line + 1,
                want.lines().nth(line),
                text.lines().nth(line)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_vendor_writes_dot1q_subinterfaces_sessions_and_filters_as_the_golden_files() {
    check_golden("dot1q", "dot1q");
}

#[test]
fn every_vendor_writes_qinq_subinterfaces_sessions_and_filters_as_the_golden_files() {
    check_golden("qinq", "qinq");
}

#[test]
fn the_md5_key_appears_only_when_secrets_are_asked_for() {
    for vendor in Vendor::ALL {
        let mut req = request(vendor);
        req.with_secrets = false;
        let p = plan(
            &circuit(),
            &inventory("dot1q"),
            12076,
            BfdTimers::default(),
            &req,
        )
        .expect("plan");
        let text = render(&p, vendor);
        assert!(
            !text.contains("s3cret-Md5"),
            "{vendor:?} leaked the key:\n{text}"
        );
        assert!(
            text.contains("--with-secrets"),
            "{vendor:?} does not say the key is withheld"
        );
        req.with_secrets = true;
        let p = plan(
            &circuit(),
            &inventory("dot1q"),
            12076,
            BfdTimers::default(),
            &req,
        )
        .expect("plan");
        assert!(
            render(&p, vendor).contains("s3cret-Md5"),
            "{vendor:?} has no key"
        );
    }
}

#[test]
fn the_customer_takes_the_first_usable_address_and_peers_with_the_second() {
    let p = plan(
        &circuit(),
        &inventory("untagged"),
        12076,
        BfdTimers::default(),
        &request(Vendor::Bird),
    )
    .expect("plan");
    let private = &p.peerings[0];
    let pairs: Vec<(String, String)> = private
        .sessions
        .iter()
        .map(|s| (s.local_cidr(), s.neighbor.to_string()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("172.16.0.1/30".to_owned(), "172.16.0.2".to_owned()),
            (
                "2001:db8:100::1/126".to_owned(),
                "2001:db8:100::2".to_owned()
            ),
            ("172.16.0.5/30".to_owned(), "172.16.0.6".to_owned()),
            (
                "2001:db8:100::5/126".to_owned(),
                "2001:db8:100::6".to_owned()
            ),
        ]
    );
    assert_eq!(p.links[0].encapsulation, Encapsulation::Untagged);
    // Microsoft peering announces its advertised public prefixes, not the private ones.
    assert_eq!(
        p.peerings[1].announce_v4,
        ["203.0.113.0/27".parse::<Ipv4Net>().expect("net")]
    );
    assert!(p.peerings[1].announce_v6.is_empty());
}

#[test]
fn announcing_more_prefixes_than_the_sku_accepts_is_refused() {
    let mut c = circuit();
    c.sku.tier = "Standard".into();
    c.peerings.truncate(1);
    let mut req = request(Vendor::Frr);
    req.announce = (0..4_001u32)
        .map(|i| IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).expect("net")))
        .collect();
    let e = plan(&c, &inventory("dot1q"), 12076, BfdTimers::default(), &req)
        .expect_err("over the limit");
    assert_eq!(e.code, "RouteLimitExceeded");
    assert!(e.message.contains("4000"), "{}", e.message);
    req.announce.truncate(4_000);
    plan(&c, &inventory("dot1q"), 12076, BfdTimers::default(), &req).expect("at the limit");
}

#[test]
fn a_qinq_circuit_without_its_s_tag_gets_a_clear_error() {
    let mut c = circuit();
    c.stag = None;
    let e = plan(
        &c,
        &inventory("qinq"),
        12076,
        BfdTimers::default(),
        &request(Vendor::Junos),
    )
    .expect_err("no S-tag");
    assert_eq!(e.code, "CircuitHasNoSTag");
}
