//! Every validation rule, over HTTP: each refusal carries its ARM code, answers on the
//! request itself (never a failed poll later), and changes nothing — the store is identical
//! afterwards and a GET answers the same bytes as before.

mod common;

use common::*;
use control::catalog::{Catalog, Location, Provider};
use serde_json::{Value, json};

const RG: &str = "rg";

fn circuit() -> String {
    circuit_path(SUB_A, RG, "er")
}

fn peering(name: &str) -> String {
    format!("{}/peerings/{name}", circuit())
}

/// An environment with circuit "er" (Standard, MeteredData, 200 Mbps) in SUB_A/rg.
async fn env_with_circuit() -> Env {
    let env = Env::new();
    let body = with(
        &circuit_body(),
        "properties.serviceProviderProperties.bandwidthInMbps",
        json!(200),
    );
    env.put(&env.a, &circuit(), &body).await.expect(201);
    env
}

/// Refuses a circuit create with 400 `code`; the circuit does not appear.
async fn create_refused(env: &Env, body: &Value, code: &str) {
    let path = circuit_path(SUB_A, RG, "new");
    env.rejected("PUT", &path, &env.a, Some(body), &[], 400, code, &path)
        .await;
    env.get(&env.a, &path).await.expect(404);
}

/// Refuses an update of circuit "er" with 400 `code`.
async fn update_refused(env: &Env, body: &Value, code: &str) {
    env.rejected(
        "PUT",
        &circuit(),
        &env.a,
        Some(body),
        &[],
        400,
        code,
        &circuit(),
    )
    .await;
}

/// Refuses a peering PUT with 400 `code`; the circuit (and its peerings) are unchanged.
async fn peering_refused(env: &Env, name: &str, body: &Value, code: &str) {
    env.rejected(
        "PUT",
        &peering(name),
        &env.a,
        Some(body),
        &[],
        400,
        code,
        &circuit(),
    )
    .await;
}

// ===== request format =====

#[tokio::test]
async fn bad_json_and_non_object_bodies() {
    let env = env_with_circuit().await;
    let before = env.state();
    let get_before = env.get(&env.a, &circuit()).await.text;
    for (path, body) in [
        (circuit(), "{not json"),
        (circuit(), "{\"location\": \"x\",}"),
        (circuit(), "[]"),
        (circuit(), "\"a string\""),
        (circuit(), "42"),
        (peering("AzurePrivatePeering"), "{\"properties\": "),
        (peering("AzurePrivatePeering"), "[1,2]"),
        (format!("{}/authorizations/a", circuit()), "{oops}"),
        (format!("{}/authorizations/a", circuit()), "[]"),
        (format!("{}/authorizations/a", circuit()), "null"),
    ] {
        let r = env
            .raw("PUT", &with_api(&path), Some(&env.a), Some(body), &[])
            .await;
        assert_eq!(r.status, 400, "PUT {path} {body}: {}", r.text);
        assert_eq!(r.code(), "InvalidRequestFormat", "PUT {path} {body}");
    }
    let r = env
        .raw("PATCH", &with_api(&circuit()), Some(&env.a), Some("{"), &[])
        .await;
    assert_eq!(r.code(), "InvalidRequestFormat");
    // A PUT or PATCH of a circuit needs a body.
    for method in ["PUT", "PATCH"] {
        let r = env
            .raw(method, &with_api(&circuit()), Some(&env.a), None, &[])
            .await;
        assert_eq!(r.status, 400, "{method} without body");
        assert_eq!(r.code(), "InvalidRequestFormat");
    }
    let r = env
        .raw(
            "PUT",
            &with_api(&peering("AzurePrivatePeering")),
            Some(&env.a),
            Some("  \n"),
            &[],
        )
        .await;
    assert_eq!(r.code(), "InvalidRequestFormat");
    assert_eq!(env.state(), before);
    assert_eq!(env.get(&env.a, &circuit()).await.text, get_before);
    env.get(&env.a, &format!("{}/authorizations/a", circuit()))
        .await
        .expect(404);
}

#[tokio::test]
async fn resource_names() {
    let env = env_with_circuit().await;
    for name in [
        "-leading-dash",
        "trailing.",
        "has%20space",
        "semi;colon",
        &"x".repeat(81),
    ] {
        let path = circuit_path(SUB_A, RG, name);
        env.rejected(
            "PUT",
            &path,
            &env.a,
            Some(&circuit_body()),
            &[],
            400,
            "InvalidResourceName",
            &circuit(),
        )
        .await;
    }
    // Resource group names too.
    env.rejected(
        "PUT",
        &circuit_path(SUB_A, "rg!", "ok"),
        &env.a,
        Some(&circuit_body()),
        &[],
        400,
        "InvalidResourceName",
        &circuit(),
    )
    .await;
    // Authorization names.
    for name in ["bad!name", "-x", "x."] {
        env.rejected(
            "PUT",
            &format!("{}/authorizations/{name}", circuit()),
            &env.a,
            Some(&json!({})),
            &[],
            400,
            "InvalidResourceName",
            &circuit(),
        )
        .await;
    }
    // The longest and the most varied names that are fine.
    for name in ["a".repeat(80), "A.b-c_9".to_owned(), "9".to_owned()] {
        env.put(&env.a, &circuit_path(SUB_A, RG, &name), &circuit_body())
            .await
            .expect(201);
    }
}

// ===== tags =====

#[tokio::test]
async fn tag_rules() {
    let env = env_with_circuit().await;
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let fifty: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases = [
        (json!(many), "InvalidTagCount"),
        (json!({"k": 1}), "InvalidRequestFormat"),
        (json!({"k": null}), "InvalidRequestFormat"),
        (json!(["a"]), "InvalidRequestFormat"),
        (json!("k=v"), "InvalidRequestFormat"),
        (json!({"": "v"}), "InvalidTagNameOrValue"),
        (json!({"k".repeat(513): "v"}), "InvalidTagNameOrValue"),
        (json!({"k": "v".repeat(257)}), "InvalidTagNameOrValue"),
    ];
    for (tags, code) in &cases {
        update_refused(&env, &with(&circuit_body(), "tags", tags.clone()), code).await;
        create_refused(&env, &with(&circuit_body(), "tags", tags.clone()), code).await;
        env.rejected(
            "PATCH",
            &circuit(),
            &env.a,
            Some(&json!({"tags": tags})),
            &[],
            400,
            code,
            &circuit(),
        )
        .await;
    }
    // The limits themselves are fine.
    let r = env
        .patch(
            &env.a,
            &circuit(),
            &json!({"tags": {"k".repeat(512): "v".repeat(256)}}),
        )
        .await;
    r.expect(200);
    env.patch(&env.a, &circuit(), &json!({"tags": fifty}))
        .await
        .expect(200);
    // Provider tags follow the same rules.
    let key = env.get(&env.a, &circuit()).await.json()["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    for (tags, code) in &cases {
        for method in ["PATCH", "PUT"] {
            env.rejected(
                method,
                &cross_path(&key),
                &env.lab,
                Some(&json!({"tags": tags})),
                &[],
                400,
                code,
                &circuit(),
            )
            .await;
        }
    }
}

// ===== circuits =====

#[tokio::test]
async fn circuit_required_fields() {
    let env = env_with_circuit().await;
    for (path, code) in [
        ("location", "InvalidRequestFormat"),
        ("sku", "InvalidSku"),
        ("properties", "InvalidRequestFormat"),
        (
            "properties.serviceProviderProperties",
            "InvalidRequestFormat",
        ),
        (
            "properties.serviceProviderProperties.serviceProviderName",
            "InvalidRequestFormat",
        ),
        (
            "properties.serviceProviderProperties.peeringLocation",
            "InvalidRequestFormat",
        ),
        (
            "properties.serviceProviderProperties.bandwidthInMbps",
            "InvalidRequestFormat",
        ),
    ] {
        let mut body = circuit_body();
        remove(&mut body, path);
        create_refused(&env, &body, code).await;
        update_refused(&env, &body, code).await;
    }
    // Wrong JSON types.
    for (path, value) in [
        ("location", json!(5)),
        ("location", json!("")),
        ("sku.tier", json!(1)),
        (
            "properties.serviceProviderProperties.serviceProviderName",
            json!(["Causeway Lab"]),
        ),
        (
            "properties.serviceProviderProperties.bandwidthInMbps",
            json!(-50),
        ),
        (
            "properties.serviceProviderProperties.bandwidthInMbps",
            json!(50.5),
        ),
        (
            "properties.serviceProviderProperties.bandwidthInMbps",
            json!("fifty"),
        ),
        (
            "properties.serviceProviderProperties.bandwidthInMbps",
            json!(true),
        ),
        ("properties.allowClassicOperations", json!("yes")),
        ("properties.globalReachEnabled", json!(1)),
    ] {
        create_refused(
            &env,
            &with(&circuit_body(), path, value),
            "InvalidRequestFormat",
        )
        .await;
    }
}

#[tokio::test]
async fn sku_rules() {
    let env = env_with_circuit().await;
    let sku = |v: Value| with(&circuit_body(), "sku", v);
    for body in [
        sku(json!({"tier": "Basic", "family": "MeteredData"})),
        sku(json!({"tier": "Standard", "family": "Unlimited"})),
        sku(json!({"tier": "Standard"})),
        sku(json!({"family": "MeteredData"})),
        sku(json!({})),
        sku(json!({"name": "Standard"})),
        sku(json!({"name": "Gold_MeteredData"})),
        sku(json!({"name": "Standard_Free"})),
        sku(json!({"tier": "Local", "family": "MeteredData"})),
        sku(json!({"name": "Local_MeteredData"})),
    ] {
        create_refused(&env, &body, "InvalidSku").await;
    }
    // Case-insensitive tier and family are fine.
    let r = env
        .put(
            &env.a,
            &circuit_path(SUB_A, RG, "casefree"),
            &sku(json!({"tier": "premium", "family": "meteredDATA"})),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json()["sku"]["name"], "Premium_MeteredData");
    // The name follows tier and family, as ARM derives it: `az network express-route update
    // --sku-tier Premium` sends the old name back with the new tier.
    let r = env
        .put(
            &env.a,
            &circuit_path(SUB_A, RG, "casefree"),
            &sku(json!({"tier": "Premium", "family": "UnlimitedData", "name": "Premium_MeteredData"})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["sku"]["name"], "Premium_UnlimitedData");
    assert_eq!(r.json()["sku"]["tier"], "Premium");
}

#[tokio::test]
async fn local_sku_rules() {
    // A catalogue with a peering location outside any Azure region's metro.
    let mut catalog = Catalog::default();
    catalog.locations.push(Location {
        name: "Remote".into(),
        geo: "Europe".into(),
        local: false,
        local_regions: Vec::new(),
    });
    catalog.providers.push(Provider {
        name: "Remote Telecom".into(),
        subscription: "00000000-0000-0000-0000-0000000e0009".into(),
        peering_locations: vec!["Remote".into(), "Lab".into()],
        bandwidths_mbps: vec![50, 1000],
    });
    let env = Env::with(catalog, 100);
    let mut remote = circuit_body();
    set(
        &mut remote,
        "properties.serviceProviderProperties.serviceProviderName",
        json!("Remote Telecom"),
    );
    set(
        &mut remote,
        "properties.serviceProviderProperties.peeringLocation",
        json!("Remote"),
    );
    // Standard at a non-local location is fine.
    env.put(&env.a, &circuit_path(SUB_A, RG, "std"), &remote)
        .await
        .expect(201);
    let check = circuit_path(SUB_A, RG, "std");
    let local = with(
        &remote,
        "sku",
        json!({"tier": "Local", "family": "UnlimitedData"}),
    );
    let path = circuit_path(SUB_A, RG, "local");
    env.rejected(
        "PUT",
        &path,
        &env.a,
        Some(&local),
        &[],
        400,
        "LocalSkuNotAvailable",
        &check,
    )
    .await;
    env.get(&env.a, &path).await.expect(404);
    // Local with MeteredData is refused even where Local is sold.
    let mut at_lab = with(
        &remote,
        "sku",
        json!({"tier": "Local", "family": "MeteredData"}),
    );
    set(
        &mut at_lab,
        "properties.serviceProviderProperties.peeringLocation",
        json!("Lab"),
    );
    env.rejected(
        "PUT",
        &path,
        &env.a,
        Some(&at_lab),
        &[],
        400,
        "InvalidSku",
        &check,
    )
    .await;
    // Local UnlimitedData at Lab is fine.
    set(&mut at_lab, "sku.family", json!("UnlimitedData"));
    env.put(&env.a, &path, &at_lab).await.expect(201);
    // Local ↔ Standard/Premium cannot change in place.
    let standard = with(
        &at_lab,
        "sku",
        json!({"tier": "Standard", "family": "UnlimitedData"}),
    );
    env.rejected(
        "PUT",
        &path,
        &env.a,
        Some(&standard),
        &[],
        400,
        "CannotChangeSkuTier",
        &path,
    )
    .await;
    let to_local = with(
        &remote,
        "sku",
        json!({"tier": "Local", "family": "UnlimitedData"}),
    );
    env.rejected(
        "PUT",
        &check,
        &env.a,
        Some(&to_local),
        &[],
        400,
        "LocalSkuNotAvailable",
        &check,
    )
    .await;
    let mut std_lab = with(
        &remote,
        "sku",
        json!({"tier": "Premium", "family": "UnlimitedData"}),
    );
    set(
        &mut std_lab,
        "properties.serviceProviderProperties.peeringLocation",
        json!("Lab"),
    );
    env.put(&env.a, &circuit_path(SUB_A, RG, "prem"), &std_lab)
        .await
        .expect(201);
    set(&mut std_lab, "sku.tier", json!("Local"));
    env.rejected(
        "PUT",
        &circuit_path(SUB_A, RG, "prem"),
        &env.a,
        Some(&std_lab),
        &[],
        400,
        "CannotChangeSkuTier",
        &circuit_path(SUB_A, RG, "prem"),
    )
    .await;
}

#[tokio::test]
async fn unknown_provider_location_bandwidth_and_direct_ports() {
    let env = env_with_circuit().await;
    let sp = "properties.serviceProviderProperties";
    for (path, value, code) in [
        (
            "serviceProviderName",
            json!("Nobody Telecom"),
            "InvalidServiceProviderName",
        ),
        (
            "peeringLocation",
            json!("Atlantis"),
            "InvalidPeeringLocation",
        ),
        // Equinix's location, not the lab provider's.
        ("peeringLocation", json!("London"), "InvalidPeeringLocation"),
        ("bandwidthInMbps", json!(75), "InvalidBandwidth"),
        ("bandwidthInMbps", json!(0), "InvalidBandwidth"),
        ("bandwidthInMbps", json!(100_000), "InvalidBandwidth"),
        (
            "bandwidthInMbps",
            json!(4_294_967_346u64),
            "InvalidBandwidth",
        ),
    ] {
        create_refused(
            &env,
            &with(&circuit_body(), &format!("{sp}.{path}"), value),
            code,
        )
        .await;
    }
    create_refused(
        &env,
        &with(
            &circuit_body(),
            "properties.expressRoutePort",
            json!({"id": "/x"}),
        ),
        "ExpressRouteDirectNotSupported",
    )
    .await;
    let names = env
        .rejected(
            "PUT",
            &circuit_path(SUB_A, RG, "new"),
            &env.a,
            Some(&with(
                &circuit_body(),
                &format!("{sp}.bandwidthInMbps"),
                json!(75),
            )),
            &[],
            400,
            "InvalidBandwidth",
            &circuit(),
        )
        .await;
    assert!(
        names.text.contains("50, 100, 200"),
        "the error lists what is offered: {}",
        names.text
    );
}

#[tokio::test]
async fn circuit_update_rules() {
    let env = env_with_circuit().await;
    let sp = "properties.serviceProviderProperties";
    let base = with(
        &circuit_body(),
        &format!("{sp}.bandwidthInMbps"),
        json!(200),
    );
    // Bandwidth decreases.
    for bw in [50, 100] {
        update_refused(
            &env,
            &with(&base, &format!("{sp}.bandwidthInMbps"), json!(bw)),
            "CannotDecreaseBandwidth",
        )
        .await;
    }
    // Provider and peering location changes.
    let mut eq = base.clone();
    set(
        &mut eq,
        &format!("{sp}.serviceProviderName"),
        json!("Megaport"),
    );
    set(
        &mut eq,
        &format!("{sp}.peeringLocation"),
        json!("Amsterdam"),
    );
    update_refused(&env, &eq, "CannotChangeServiceProviderOrLocation").await;
    // Azure location.
    update_refused(
        &env,
        &with(&base, "location", json!("East US")),
        "CannotChangeLocation",
    )
    .await;
    // UnlimitedData → MeteredData.
    let unlimited = with(
        &base,
        "sku",
        json!({"tier": "Standard", "family": "UnlimitedData"}),
    );
    env.put(&env.a, &circuit(), &unlimited).await.expect(200);
    update_refused(&env, &base, "CannotChangeSkuFamily").await;
    update_refused(
        &env,
        &with(
            &base,
            "sku",
            json!({"tier": "Premium", "family": "MeteredData"}),
        ),
        "CannotChangeSkuFamily",
    )
    .await;
    // The location matches case- and space-insensitively? It must match case-insensitively.
    env.put(
        &env.a,
        &circuit(),
        &with(&unlimited, "location", json!("west europe")),
    )
    .await
    .expect(200);
    // Bandwidth up, Standard ↔ Premium are fine.
    let up = with(&unlimited, &format!("{sp}.bandwidthInMbps"), json!(10000));
    env.put(&env.a, &circuit(), &up).await.expect(200);
    let premium = with(&up, "sku.tier", json!("Premium"));
    env.put(&env.a, &circuit(), &premium).await.expect(200);
    env.put(&env.a, &circuit(), &up).await.expect(200);
    let c = env.get(&env.a, &circuit()).await.json();
    assert_eq!(
        c["location"], "West Europe",
        "the location keeps its first spelling"
    );
    assert_eq!(
        c["properties"]["serviceProviderProperties"]["bandwidthInMbps"],
        10000
    );
}

// ===== peerings =====

#[tokio::test]
async fn peering_names_and_types() {
    let env = env_with_circuit().await;
    peering_refused(
        &env,
        "AzurePublicPeering",
        &private_peering(),
        "AzurePublicPeeringRetired",
    )
    .await;
    peering_refused(
        &env,
        "azurepublicpeering",
        &private_peering(),
        "AzurePublicPeeringRetired",
    )
    .await;
    for name in ["Private", "peering1", "AzurePrivatePeering2"] {
        peering_refused(&env, name, &private_peering(), "InvalidPeeringName").await;
    }
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &with(
            &private_peering(),
            "properties.peeringType",
            json!("MicrosoftPeering"),
        ),
        "PeeringTypeMismatch",
    )
    .await;
    peering_refused(
        &env,
        "MicrosoftPeering",
        &with(
            &microsoft_peering(),
            "properties.peeringType",
            json!("AzurePrivatePeering"),
        ),
        "PeeringTypeMismatch",
    )
    .await;
    // peeringType may be omitted (the name says it) and is matched case-insensitively.
    let mut body = private_peering();
    remove(&mut body, "properties.peeringType");
    env.put(&env.a, &peering("AzurePrivatePeering"), &body)
        .await
        .expect(201);
    let body = with(
        &private_peering(),
        "properties.peeringType",
        json!("azureprivatepeering"),
    );
    env.put(&env.a, &peering("AzurePrivatePeering"), &body)
        .await
        .expect(200);
}

#[tokio::test]
async fn peer_asn_range_and_reserved_asns() {
    let env = env_with_circuit().await;
    let asn = |v: Value| with(&private_peering(), "properties.peerASN", v);
    let mut body = private_peering();
    remove(&mut body, "properties.peerASN");
    peering_refused(&env, "AzurePrivatePeering", &body, "InvalidPeerAsn").await;
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &asn(json!(4_294_967_296u64)),
        "InvalidPeerAsn",
    )
    .await;
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &asn(json!(-1)),
        "InvalidRequestFormat",
    )
    .await;
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &asn(json!("AS65001")),
        "InvalidRequestFormat",
    )
    .await;
    for reserved in [
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
        let r = env
            .rejected(
                "PUT",
                &peering("AzurePrivatePeering"),
                &env.a,
                Some(&asn(json!(reserved))),
                &[],
                400,
                "ReservedPeerAsn",
                &circuit(),
            )
            .await;
        assert!(r.text.contains(&reserved.to_string()), "{}", r.text);
        // The Microsoft peering obeys the same rule.
        peering_refused(
            &env,
            "MicrosoftPeering",
            &with(&microsoft_peering(), "properties.peerASN", json!(reserved)),
            "ReservedPeerAsn",
        )
        .await;
    }
    // The edges of the allowed ranges.
    for ok in [
        1u64,
        65514,
        65521,
        65534,
        65536,
        4_294_967_294,
        23455,
        12075,
    ] {
        let r = env
            .put(&env.a, &peering("AzurePrivatePeering"), &asn(json!(ok)))
            .await;
        assert!(r.status.is_success(), "peerASN {ok}: {}", r.text);
        assert_eq!(r.json()["properties"]["peerASN"], ok);
    }
    // As a string, as some clients send it.
    env.put(
        &env.a,
        &peering("AzurePrivatePeering"),
        &asn(json!("65010")),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn vlan_range_and_uniqueness() {
    let env = env_with_circuit().await;
    let vlan = |v: Value| with(&private_peering(), "properties.vlanId", v);
    let mut body = private_peering();
    remove(&mut body, "properties.vlanId");
    peering_refused(&env, "AzurePrivatePeering", &body, "InvalidVlanId").await;
    for bad in [0u64, 4095, 4096, 65535, 1 << 33] {
        peering_refused(
            &env,
            "AzurePrivatePeering",
            &vlan(json!(bad)),
            "InvalidVlanId",
        )
        .await;
    }
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &vlan(json!(-5)),
        "InvalidRequestFormat",
    )
    .await;
    for ok in [1u64, 4094] {
        env.put(&env.a, &peering("AzurePrivatePeering"), &vlan(json!(ok)))
            .await
            .expect_success();
    }
    // Unique within the circuit: Microsoft peering may not take 4094 now.
    peering_refused(
        &env,
        "MicrosoftPeering",
        &with(&microsoft_peering(), "properties.vlanId", json!(4094)),
        "VlanIdInUse",
    )
    .await;
    env.get(&env.a, &peering("MicrosoftPeering"))
        .await
        .expect(404);
    // Re-PUT of the same peering with its own VLAN is fine.
    env.put(&env.a, &peering("AzurePrivatePeering"), &vlan(json!(4094)))
        .await
        .expect(200);
    // Another circuit may reuse the VLAN.
    env.put(&env.a, &circuit_path(SUB_A, RG, "other"), &circuit_body())
        .await
        .expect(201);
    env.put(
        &env.a,
        &format!(
            "{}/peerings/AzurePrivatePeering",
            circuit_path(SUB_A, RG, "other")
        ),
        &vlan(json!(4094)),
    )
    .await
    .expect(201);
    // After a move the old VLAN is free again.
    env.put(&env.a, &peering("MicrosoftPeering"), &microsoft_peering())
        .await
        .expect(201);
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &vlan(json!(200)),
        "VlanIdInUse",
    )
    .await;
}

trait ExpectSuccess {
    fn expect_success(&self);
}

impl ExpectSuccess for Resp {
    #[track_caller]
    fn expect_success(&self) {
        assert!(
            self.status.is_success(),
            "{} {}: {}",
            self.method,
            self.uri,
            self.text
        );
    }
}

#[tokio::test]
async fn ipv4_subnets() {
    let env = env_with_circuit().await;
    let prefixes = |p: &str, s: &str| {
        let mut b = private_peering();
        set(&mut b, "properties.primaryPeerAddressPrefix", json!(p));
        set(&mut b, "properties.secondaryPeerAddressPrefix", json!(s));
        b
    };
    for (p, s) in [
        ("192.168.15.16/29", "192.168.15.24/30"),
        ("192.168.15.16/30", "192.168.15.24/31"),
        ("192.168.15.0/24", "192.168.15.20/30"),
        ("192.168.15.16", "192.168.15.20/30"),
        ("not-an-ip/30", "192.168.15.20/30"),
        ("192.168.15.256/30", "192.168.15.20/30"),
        ("2001:db8::/126", "192.168.15.20/30"),
        ("192.168.15.17/30", "192.168.15.20/30"),
        ("192.168.15.16/30", "192.168.15.22/30"),
        ("", "192.168.15.20/30"),
    ] {
        let code = if p.is_empty() {
            "InvalidRequestFormat"
        } else {
            "InvalidPeerAddressPrefix"
        };
        peering_refused(&env, "AzurePrivatePeering", &prefixes(p, s), code).await;
    }
    let host_bits = env
        .rejected(
            "PUT",
            &peering("AzurePrivatePeering"),
            &env.a,
            Some(&prefixes("192.168.15.17/30", "192.168.15.20/30")),
            &[],
            400,
            "InvalidPeerAddressPrefix",
            &circuit(),
        )
        .await;
    assert!(
        host_bits.text.contains("192.168.15.16/30"),
        "suggests the network: {}",
        host_bits.text
    );
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &prefixes("192.168.15.16/30", "192.168.15.16/30"),
        "PeerAddressPrefixesOverlap",
    )
    .await;
    for missing in [
        "properties.primaryPeerAddressPrefix",
        "properties.secondaryPeerAddressPrefix",
    ] {
        let mut b = private_peering();
        remove(&mut b, missing);
        peering_refused(&env, "AzurePrivatePeering", &b, "InvalidRequestFormat").await;
    }
    // Microsoft peering needs public /30s.
    let mut ms = microsoft_peering();
    set(
        &mut ms,
        "properties.primaryPeerAddressPrefix",
        json!("10.0.0.0/30"),
    );
    peering_refused(&env, "MicrosoftPeering", &ms, "InvalidPeerAddressPrefix").await;
    // Non-adjacent /30s are fine.
    env.put(
        &env.a,
        &peering("AzurePrivatePeering"),
        &prefixes("10.0.0.0/30", "172.16.0.8/30"),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn ipv6_subnets() {
    let env = env_with_circuit().await;
    let v6 = |p: &str, s: &str| {
        with(
            &private_peering(),
            "properties.ipv6PeeringConfig",
            json!({"primaryPeerAddressPrefix": p, "secondaryPeerAddressPrefix": s}),
        )
    };
    for (p, s) in [
        ("fd00::/125", "fd00::8/126"),
        ("fd00::/126", "fd00::4/127"),
        ("fd00::/64", "fd00::4/126"),
        ("fd00::1/126", "fd00::4/126"),
        ("fd00::/126", "fd00::5/126"),
        ("192.168.0.0/30", "fd00::4/126"),
        ("fd00::", "fd00::4/126"),
    ] {
        peering_refused(
            &env,
            "AzurePrivatePeering",
            &v6(p, s),
            "InvalidPeerAddressPrefix",
        )
        .await;
    }
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &v6("fd00::/126", "fd00::/126"),
        "PeerAddressPrefixesOverlap",
    )
    .await;
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &with(
            &private_peering(),
            "properties.ipv6PeeringConfig",
            json!({"primaryPeerAddressPrefix": "fd00::/126"}),
        ),
        "InvalidRequestFormat",
    )
    .await;
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &with(
            &v6("fd00::/126", "fd00::4/126"),
            "properties.ipv6PeeringConfig.state",
            json!("Maybe"),
        ),
        "InvalidRequestFormat",
    )
    .await;
    let r = env
        .put(
            &env.a,
            &peering("AzurePrivatePeering"),
            &v6("fd00::/126", "fd00::4/126"),
        )
        .await;
    r.expect(201);
    assert_eq!(
        r.json()["properties"]["ipv6PeeringConfig"]["state"],
        "Enabled"
    );
    // IPv6 Microsoft peering needs its own microsoftPeeringConfig.
    let ms = with(
        &microsoft_peering(),
        "properties.ipv6PeeringConfig",
        json!({"primaryPeerAddressPrefix": "2a01:111::/126", "secondaryPeerAddressPrefix": "2a01:111::4/126"}),
    );
    peering_refused(
        &env,
        "MicrosoftPeering",
        &ms,
        "MicrosoftPeeringConfigRequired",
    )
    .await;
    let ms = with(
        &ms,
        "properties.ipv6PeeringConfig.microsoftPeeringConfig",
        json!({"advertisedPublicPrefixes": ["123.1.0.0/24"]}),
    );
    peering_refused(
        &env,
        "MicrosoftPeering",
        &ms,
        "InvalidAdvertisedPublicPrefix",
    )
    .await;
}

#[tokio::test]
async fn shared_key_rules() {
    let env = env_with_circuit().await;
    for key in [
        "x".repeat(26),
        "has space".to_owned(),
        "tab\there".to_owned(),
        "ünïcode".to_owned(),
        "new\nline".to_owned(),
    ] {
        let r = env
            .rejected(
                "PUT",
                &peering("AzurePrivatePeering"),
                &env.a,
                Some(&with(
                    &private_peering(),
                    "properties.sharedKey",
                    json!(key),
                )),
                &[],
                400,
                "InvalidSharedKey",
                &circuit(),
            )
            .await;
        assert!(
            !r.text.contains(&key),
            "the refused key is not echoed: {}",
            r.text
        );
    }
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &with(&private_peering(), "properties.sharedKey", json!(12345)),
        "InvalidRequestFormat",
    )
    .await;
    // 1 and 25 printable characters are fine, punctuation included.
    for key in ["k", "!\"#$%&'()*+,-./:;<=>?@[\\", &"z".repeat(25)] {
        env.put(
            &env.a,
            &peering("AzurePrivatePeering"),
            &with(&private_peering(), "properties.sharedKey", json!(key)),
        )
        .await
        .expect_success();
    }
}

#[tokio::test]
async fn microsoft_peering_config_rules() {
    let env = env_with_circuit().await;
    let mut no_cfg = microsoft_peering();
    remove(&mut no_cfg, "properties.microsoftPeeringConfig");
    peering_refused(
        &env,
        "MicrosoftPeering",
        &no_cfg,
        "MicrosoftPeeringConfigRequired",
    )
    .await;
    let cfg = |v: Value| with(&microsoft_peering(), "properties.microsoftPeeringConfig", v);
    // `{}` reads as absent (az sends it for "no change").
    peering_refused(
        &env,
        "MicrosoftPeering",
        &cfg(json!({})),
        "MicrosoftPeeringConfigRequired",
    )
    .await;
    peering_refused(
        &env,
        "MicrosoftPeering",
        &cfg(json!({"advertisedPublicPrefixes": []})),
        "AdvertisedPublicPrefixesRequired",
    )
    .await;
    peering_refused(
        &env,
        "MicrosoftPeering",
        &cfg(json!({"advertisedPublicPrefixes": []})),
        "AdvertisedPublicPrefixesRequired",
    )
    .await;
    let too_many: Vec<String> = (0..201)
        .map(|i| format!("123.{}.{}.0/24", i / 256, i % 256))
        .collect();
    peering_refused(
        &env,
        "MicrosoftPeering",
        &cfg(json!({"advertisedPublicPrefixes": too_many})),
        "TooManyAdvertisedPublicPrefixes",
    )
    .await;
    for bad in [
        "not-a-prefix",
        "123.1.0.1/24",
        "10.0.0.0/8",
        "192.168.1.0/24",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "2a01:112::/48",
    ] {
        peering_refused(
            &env,
            "MicrosoftPeering",
            &cfg(json!({"advertisedPublicPrefixes": [bad]})),
            "InvalidAdvertisedPublicPrefix",
        )
        .await;
    }
    for bad in [json!("123.1.0.0/24"), json!([1])] {
        peering_refused(
            &env,
            "MicrosoftPeering",
            &cfg(json!({"advertisedPublicPrefixes": bad})),
            "InvalidRequestFormat",
        )
        .await;
    }
    peering_refused(
        &env,
        "MicrosoftPeering",
        &cfg(
            json!({"advertisedPublicPrefixes": ["123.1.0.0/24"], "customerASN": 4_294_967_296u64}),
        ),
        "InvalidCustomerAsn",
    )
    .await;
    // microsoftPeeringConfig on a private peering.
    peering_refused(
        &env,
        "AzurePrivatePeering",
        &with(
            &private_peering(),
            "properties.microsoftPeeringConfig",
            json!({"advertisedPublicPrefixes": ["123.1.0.0/24"]}),
        ),
        "InvalidRequestFormat",
    )
    .await;
    // IPv6 public prefixes on the IPv6 config are fine; documentation space is not.
    let v6 = |prefix: &str| {
        with(
            &microsoft_peering(),
            "properties.ipv6PeeringConfig",
            json!({
                "primaryPeerAddressPrefix": "2a01:111::/126",
                "secondaryPeerAddressPrefix": "2a01:111::4/126",
                "microsoftPeeringConfig": {"advertisedPublicPrefixes": [prefix]}
            }),
        )
    };
    for bad in ["fd00::/48", "fe80::/64", "ff00::/8", "::1/128"] {
        peering_refused(
            &env,
            "MicrosoftPeering",
            &v6(bad),
            "InvalidAdvertisedPublicPrefix",
        )
        .await;
    }
    // The state must be Enabled or Disabled.
    peering_refused(
        &env,
        "MicrosoftPeering",
        &with(&microsoft_peering(), "properties.state", json!("On")),
        "InvalidRequestFormat",
    )
    .await;
    env.put(&env.a, &peering("MicrosoftPeering"), &v6("2a01:112::/48"))
        .await
        .expect(201);
    let r = env
        .put(
            &env.a,
            &peering("MicrosoftPeering"),
            &with(&microsoft_peering(), "properties.state", json!("disabled")),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["properties"]["state"], "Disabled");
}

#[tokio::test]
async fn authorization_limit() {
    let env = env_with_circuit().await;
    for i in 0..10 {
        env.put(
            &env.a,
            &format!("{}/authorizations/a{i}", circuit()),
            &json!({}),
        )
        .await
        .expect(201);
    }
    env.rejected(
        "PUT",
        &format!("{}/authorizations/a10", circuit()),
        &env.a,
        Some(&json!({})),
        &[],
        400,
        "AuthorizationLimitReached",
        &circuit(),
    )
    .await;
    // Re-PUT of an existing one is still fine.
    env.put(
        &env.a,
        &format!("{}/authorizations/a3", circuit()),
        &json!({}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn delete_while_provisioned_is_refused_until_deprovisioned() {
    let env = env_with_circuit().await;
    let key = env.get(&env.a, &circuit()).await.json()["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    env.provider_state(&key, "Provisioned").await;
    let r = env
        .rejected(
            "DELETE",
            &circuit(),
            &env.a,
            None,
            &[],
            409,
            "CircuitNotDeprovisioned",
            &circuit(),
        )
        .await;
    let msg = r.json()["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(msg.contains("provider") && msg.contains(LAB), "{msg}");
    // The admin is held to the same rule.
    env.rejected(
        "DELETE",
        &circuit(),
        &env.admin,
        None,
        &[],
        409,
        "CircuitNotDeprovisioned",
        &circuit(),
    )
    .await;
    env.provider_state(&key, "Deprovisioning").await;
    env.rejected(
        "DELETE",
        &circuit(),
        &env.a,
        None,
        &[],
        409,
        "CircuitNotDeprovisioned",
        &circuit(),
    )
    .await;
    env.provider_state(&key, "NotProvisioned").await;
    env.delete(&env.a, &circuit()).await.expect(202);
    env.get(&env.a, &circuit()).await.expect(404);
}

#[tokio::test]
async fn provider_state_body_rules() {
    let env = env_with_circuit().await;
    let key = env.get(&env.a, &circuit()).await.json()["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    let cross = cross_path(&key);
    for (body, code) in [
        (
            json!({"properties": {"serviceProviderProvisioningState": "Done"}}),
            "InvalidServiceProviderProvisioningState",
        ),
        (
            json!({"properties": {"serviceProviderProvisioningState": 3}}),
            "InvalidRequestFormat",
        ),
        (
            json!({"properties": {"serviceProviderNotes": false}}),
            "InvalidRequestFormat",
        ),
        (
            json!({"properties": {"serviceProviderProvisioningState": "Deprovisioning"}}),
            "InvalidServiceProviderProvisioningStateTransition",
        ),
    ] {
        env.rejected(
            "PUT",
            &cross,
            &env.lab,
            Some(&body),
            &[],
            400,
            code,
            &circuit(),
        )
        .await;
    }
    for method in ["PUT", "PATCH"] {
        let r = env
            .raw(method, &with_api(&cross), Some(&env.lab), None, &[])
            .await;
        assert_eq!(r.code(), "InvalidRequestFormat", "{method} without body");
    }
    // The state is matched case-insensitively and stored canonically.
    let r = env
        .put(
            &env.lab,
            &cross,
            &json!({"properties": {"serviceProviderProvisioningState": "provisioned"}}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.json()["properties"]["serviceProviderProvisioningState"],
        "Provisioned"
    );
}

#[tokio::test]
async fn microsoft_peering_takes_the_documentation_ranges_every_example_uses() {
    let env = env_with_circuit().await;
    for bad in ["10.20.0.0/24", "100.64.0.0/24", "224.0.0.0/24"] {
        peering_refused(
            &env,
            "MicrosoftPeering",
            &with(
                &microsoft_peering(),
                "properties.microsoftPeeringConfig.advertisedPublicPrefixes",
                json!([bad]),
            ),
            "InvalidAdvertisedPublicPrefix",
        )
        .await;
    }
    let mut body = microsoft_peering();
    set(
        &mut body,
        "properties.primaryPeerAddressPrefix",
        json!("203.0.113.0/30"),
    );
    set(
        &mut body,
        "properties.secondaryPeerAddressPrefix",
        json!("203.0.113.4/30"),
    );
    set(
        &mut body,
        "properties.microsoftPeeringConfig.advertisedPublicPrefixes",
        json!(["198.51.100.0/24", "192.0.2.0/24"]),
    );
    let r = env.put(&env.a, &peering("MicrosoftPeering"), &body).await;
    r.expect(201);
    let p = r.json();
    assert_eq!(
        p["properties"]["primaryPeerAddressPrefix"],
        "203.0.113.0/30"
    );
    assert_eq!(
        p["properties"]["microsoftPeeringConfig"]["advertisedPublicPrefixes"],
        json!(["198.51.100.0/24", "192.0.2.0/24"])
    );
}
