use super::*;
use crate::catalog::Catalog;
use crate::resources::circuits::input as circuit;
use crate::resources::peerings::{is_public, reserved_asn, v4_subnet, v6_subnet};

/// A new peering's validation (nothing stored yet).
fn peering(
    body: &Value,
    name: &str,
    others: &[crate::model::Peering],
    by: &str,
) -> crate::arm::R<crate::model::Peering> {
    crate::resources::peerings::input(body, name, others, by, None)
}
use serde_json::json;

fn code<T: std::fmt::Debug>(r: R<T>) -> &'static str {
    r.expect_err("must be refused").code
}

fn circuit_body() -> Value {
    json!({
        "location": "westeurope",
        "sku": {"tier": "Standard", "family": "MeteredData"},
        "properties": {"serviceProviderProperties": {
            "serviceProviderName": "Causeway Lab", "peeringLocation": "Lab", "bandwidthInMbps": 50
        }}
    })
}

fn peering_body() -> Value {
    json!({"properties": {
        "peerASN": 65001, "vlanId": 100,
        "primaryPeerAddressPrefix": "192.168.15.16/30",
        "secondaryPeerAddressPrefix": "192.168.15.20/30",
        "sharedKey": "k"
    }})
}

#[test]
fn reserved_asns_are_exactly_azures_list() {
    for asn in [
        0u64,
        12076,
        23456,
        65515,
        65516,
        65517,
        65518,
        65519,
        65520,
        65535,
        4_294_967_295,
    ] {
        assert!(reserved_asn(asn).is_some(), "{asn}");
    }
    for asn in [
        1u64,
        12075,
        12077,
        23455,
        23457,
        64512,
        65514,
        65521,
        65534,
        65536,
        4_294_967_294,
    ] {
        assert_eq!(reserved_asn(asn), None, "{asn}");
    }
}

#[test]
fn resource_names() {
    for ok in ["a", "A-b_c.d", "9lives", &"x".repeat(80)] {
        assert!(resource_name("t", ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "-a",
        "_a",
        ".a",
        "a.",
        "a b",
        "a/b",
        "ä",
        &"x".repeat(81),
    ] {
        assert_eq!(
            code(resource_name("t", bad)),
            "InvalidResourceName",
            "{bad:?}"
        );
    }
}

#[test]
fn subnets_must_be_network_addresses_of_the_right_length() {
    assert!(v4_subnet("p", "10.0.0.4/30").is_ok());
    for bad in [
        "10.0.0.5/30",
        "10.0.0.0/29",
        "10.0.0.0/31",
        "10.0.0.0",
        "x",
        "::/126",
    ] {
        assert_eq!(
            code(v4_subnet("p", bad)),
            "InvalidPeerAddressPrefix",
            "{bad}"
        );
    }
    assert!(v6_subnet("p", "2001:db8::4/126").is_ok());
    for bad in [
        "2001:db8::5/126",
        "2001:db8::/125",
        "2001:db8::/127",
        "10.0.0.0/30",
        "2001:db8::",
    ] {
        assert_eq!(
            code(v6_subnet("p", bad)),
            "InvalidPeerAddressPrefix",
            "{bad}"
        );
    }
}

#[test]
fn public_address_space() {
    let public = |s: &str| is_public(&s.parse().expect("prefix"));
    for p in [
        "8.8.8.0/24",
        "123.0.0.0/30",
        "100.128.0.0/16",
        "2a01:111::/32",
        "2600::/16",
        // Documentation ranges: what every example uses.
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/30",
        "2001:db8::/32",
    ] {
        assert!(public(p), "{p}");
    }
    for p in [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
        "100.64.0.0/10",
        "100.127.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fd12::/16",
        "fe80::/10",
        "ff02::/16",
    ] {
        assert!(!public(p), "{p}");
    }
}

#[test]
fn field_helpers() {
    let v = json!({"a": {"b": null, "n": 5, "s": "7", "f": 1.5, "neg": -1, "t": true}});
    assert!(field(&v, "a.b").is_none(), "null is absent");
    assert!(field(&v, "a.zz").is_none());
    assert_eq!(opt_u64(&v, "a.n").expect("n"), Some(5));
    assert_eq!(opt_u64(&v, "a.s").expect("s"), Some(7));
    assert_eq!(code(opt_u64(&v, "a.f")), "InvalidRequestFormat");
    assert_eq!(code(opt_u64(&v, "a.neg")), "InvalidRequestFormat");
    assert_eq!(code(opt_u64(&v, "a.t")), "InvalidRequestFormat");
    assert_eq!(opt_bool(&v, "a.t").expect("t"), Some(true));
    assert_eq!(code(opt_bool(&v, "a.n")), "InvalidRequestFormat");
    assert_eq!(code(opt_str(&v, "a.n")), "InvalidRequestFormat");
    assert_eq!(code(req_str(&v, "a.missing")), "InvalidRequestFormat");
    assert_eq!(
        code(req_str(&json!({"x": ""}), "x")),
        "InvalidRequestFormat"
    );
}

#[test]
fn tag_limits() {
    assert!(tags(&json!({})).expect("none").is_empty());
    assert!(tags(&json!({"tags": null})).expect("null").is_empty());
    let fifty: serde_json::Map<String, Value> =
        (0..50).map(|i| (i.to_string(), json!(""))).collect();
    assert_eq!(tags(&json!({ "tags": fifty })).expect("50").len(), 50);
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (i.to_string(), json!(""))).collect();
    assert_eq!(code(tags(&json!({ "tags": many }))), "InvalidTagCount");
    assert_eq!(
        code(tags(&json!({"tags": {"": "v"}}))),
        "InvalidTagNameOrValue"
    );
    assert_eq!(
        code(tags(&json!({"tags": {"k": 1}}))),
        "InvalidRequestFormat"
    );
    assert_eq!(code(tags(&json!({"tags": []}))), "InvalidRequestFormat");
}

#[test]
fn circuit_input_is_canonicalised() {
    let catalog = Catalog::default();
    let mut body = circuit_body();
    body["sku"] = json!({"name": "premium_unlimiteddata"});
    body["properties"]["serviceProviderProperties"]["serviceProviderName"] = json!("CAUSEWAY LAB");
    body["properties"]["serviceProviderProperties"]["peeringLocation"] = json!("lab");
    body["properties"]["serviceProviderProperties"]["bandwidthInMbps"] = json!("10000");
    let c = circuit(&body, &catalog).expect("valid");
    assert_eq!(c.sku.name(), "Premium_UnlimitedData");
    assert_eq!(c.provider.service_provider_name, "Causeway Lab");
    assert_eq!(c.provider.peering_location, "Lab");
    assert_eq!(c.provider.bandwidth_in_mbps, 10000);
    assert!(!c.allow_classic_operations && !c.global_reach_enabled);
    // Tier and family decide; a stale name beside them is what `az ... update --sku-tier`
    // sends, and ARM derives the name.
    body["sku"] =
        json!({"name": "Standard_MeteredData", "tier": "Premium", "family": "MeteredData"});
    let c = circuit(&body, &catalog).expect("valid");
    assert_eq!(c.sku.name(), "Premium_MeteredData");
}

#[test]
fn circuit_rules() {
    let catalog = Catalog::default();
    let with = |path: &str, v: Value| {
        let mut b = circuit_body();
        let mut cur = &mut b;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            cur = &mut cur[*p];
        }
        cur[parts[parts.len() - 1]] = v;
        b
    };
    let sp = "properties.serviceProviderProperties";
    for (body, expected) in [
        (
            with("sku", json!({"tier": "Basic", "family": "MeteredData"})),
            "InvalidSku",
        ),
        (
            with("sku", json!({"tier": "Local", "family": "MeteredData"})),
            "InvalidSku",
        ),
        (
            with(&format!("{sp}.serviceProviderName"), json!("X")),
            "InvalidServiceProviderName",
        ),
        (
            with(&format!("{sp}.peeringLocation"), json!("Sydney")),
            "InvalidPeeringLocation",
        ),
        (
            with(&format!("{sp}.bandwidthInMbps"), json!(51)),
            "InvalidBandwidth",
        ),
        (
            with("properties.expressRoutePort", json!({"id": "p"})),
            "ExpressRouteDirectNotSupported",
        ),
        (with("location", json!(null)), "InvalidRequestFormat"),
    ] {
        assert_eq!(code(circuit(&body, &catalog)), expected, "{body}");
    }
    // Local where the metro has no Azure region.
    let mut catalog = Catalog::default();
    catalog.locations[0].local = false;
    let local = with("sku", json!({"tier": "Local", "family": "UnlimitedData"}));
    assert_eq!(code(circuit(&local, &catalog)), "LocalSkuNotAvailable");
    assert!(circuit(&local, &Catalog::default()).is_ok());
}

#[test]
fn peering_rules() {
    let ok = peering(&peering_body(), "azureprivatepeering", &[], "Customer").expect("valid");
    assert_eq!(ok.name, "AzurePrivatePeering");
    assert_eq!(ok.peering_type, "AzurePrivatePeering");
    assert_eq!(ok.shared_key.as_deref(), Some("k"));
    assert_eq!(ok.state, "Enabled");
    assert_eq!(ok.last_modified_by, "Customer");
    let set = |path: &str, v: Value| {
        let mut b = peering_body();
        b["properties"][path] = v;
        b
    };
    for (name, body, expected) in [
        (
            "AzurePublicPeering",
            peering_body(),
            "AzurePublicPeeringRetired",
        ),
        ("Foo", peering_body(), "InvalidPeeringName"),
        (
            "AzurePrivatePeering",
            set("peeringType", json!("MicrosoftPeering")),
            "PeeringTypeMismatch",
        ),
        (
            "AzurePrivatePeering",
            set("peerASN", json!(23456)),
            "ReservedPeerAsn",
        ),
        (
            "AzurePrivatePeering",
            set("peerASN", json!(4_294_967_296u64)),
            "InvalidPeerAsn",
        ),
        (
            "AzurePrivatePeering",
            set("vlanId", json!(4095)),
            "InvalidVlanId",
        ),
        (
            "AzurePrivatePeering",
            set("secondaryPeerAddressPrefix", json!("192.168.15.16/30")),
            "PeerAddressPrefixesOverlap",
        ),
        (
            "AzurePrivatePeering",
            set("sharedKey", json!("a b")),
            "InvalidSharedKey",
        ),
        (
            "AzurePrivatePeering",
            set(
                "microsoftPeeringConfig",
                json!({"advertisedPublicPrefixes": ["8.8.8.0/24"]}),
            ),
            "InvalidRequestFormat",
        ),
        (
            "MicrosoftPeering",
            peering_body(),
            "InvalidPeerAddressPrefix",
        ),
    ] {
        assert_eq!(
            code(peering(&body, name, &[], "Customer")),
            expected,
            "{name} {body}"
        );
    }
    // An empty sharedKey means none.
    let none = peering(
        &set("sharedKey", json!("")),
        "AzurePrivatePeering",
        &[],
        "Customer",
    )
    .expect("valid");
    assert_eq!(none.shared_key, None);
    // VLAN uniqueness against the other peerings, not against itself.
    let mut other = ok.clone();
    other.name = "MicrosoftPeering".into();
    assert_eq!(
        code(peering(
            &peering_body(),
            "AzurePrivatePeering",
            &[other],
            "Customer"
        )),
        "VlanIdInUse"
    );
    assert!(
        peering(
            &peering_body(),
            "AzurePrivatePeering",
            &[ok],
            "ServiceProvider"
        )
        .is_ok()
    );
}

#[test]
fn one_slash_29_is_split_into_the_primary_and_secondary_slash_30s() {
    let body = serde_json::json!({"properties": {
        "peerASN": 65001, "vlanId": 200,
        "primaryPeerAddressPrefix": "10.8.0.8/29",
        "ipv6PeeringConfig": {"primaryPeerAddressPrefix": "2001:db8:8::/125"},
    }});
    let p = peering(&body, "AzurePrivatePeering", &[], "Customer").expect("a /29 is accepted");
    assert_eq!(
        (p.primary_prefix.as_str(), p.secondary_prefix.as_str()),
        ("10.8.0.8/30", "10.8.0.12/30")
    );
    let v6 = p.ipv6.expect("IPv6 config");
    assert_eq!(
        (v6.primary_prefix.as_str(), v6.secondary_prefix.as_str()),
        ("2001:db8:8::/126", "2001:db8:8::4/126")
    );
    let missing = serde_json::json!({"properties": {
        "peerASN": 65001, "vlanId": 200, "primaryPeerAddressPrefix": "10.8.0.8/30",
    }});
    let e = peering(&missing, "AzurePrivatePeering", &[], "Customer").expect_err("one /30 alone");
    assert_eq!(e.code, "InvalidRequestFormat");
    assert!(
        e.message.contains("secondaryPeerAddressPrefix"),
        "{}",
        e.message
    );
}
