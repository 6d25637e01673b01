//! The ARM mechanics every resource type shares, as a client sees them: how paths are read,
//! what bodies are accepted, where the URLs we hand out point, and how lists page.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn empty_segments_and_percent_encoded_names_reach_the_same_resource() {
    let env = Env::new();
    env.create_circuit(&env.a, SUB_A, "rg", "er1").await;
    // What `az resource show` builds, with an empty segment after the namespace.
    let doubled = format!(
        "/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Network//expressRouteCircuits/er1"
    );
    let r = env.get(&env.a, &doubled).await;
    r.expect(200);
    assert_eq!(r.json()["name"], "er1");
    // `er%31` is `er1`, decoded once (not twice: `%2531` would be `%31`).
    let encoded = circuit_path(SUB_A, "rg", "er%31");
    assert_eq!(env.get(&env.a, &encoded).await.json()["name"], "er1");
    let twice = circuit_path(SUB_A, "rg", "er%2531");
    env.get(&env.a, &twice).await.expect(404);
}

#[tokio::test]
async fn subscription_ids_must_be_guids() {
    let env = Env::new();
    for bad in ["not-a-guid", &"1".repeat(5000)] {
        let r = env
            .get(
                &env.admin,
                &format!("/subscriptions/{bad}/providers/Microsoft.Network/expressRouteCircuits"),
            )
            .await;
        r.expect(400);
        assert_eq!(r.code(), "InvalidSubscriptionId");
        assert!(r.text.len() < 1000, "the error does not echo the whole id");
    }
}

#[tokio::test]
async fn a_method_a_resource_does_not_serve_is_405_and_changes_nothing() {
    let env = Env::new();
    env.create_circuit(&env.a, SUB_A, "rg", "er1").await;
    let before = env.state();
    let path = format!("{}/expressRouteCircuits", rg_path(SUB_A, "rg"));
    let r = env.send("PUT", &path, &env.a, Some(&json!({})), &[]).await;
    r.expect(405);
    assert_eq!(r.code(), "MethodNotAllowed");
    let r = env
        .send("POST", &circuit_path(SUB_A, "rg", "er1"), &env.a, None, &[])
        .await;
    r.expect(405);
    assert_eq!(env.state(), before);
}

#[tokio::test]
async fn bodies_must_be_json_without_duplicate_keys() {
    let env = Env::new();
    let path = circuit_path(SUB_A, "rg", "er1");
    let body = circuit_body().to_string();
    let r = env
        .raw(
            "PUT",
            &format!("{path}?api-version={API}"),
            Some(&env.a),
            Some(&body),
            &[("content-type", "text/plain")],
        )
        .await;
    r.expect(415);
    assert_eq!(r.code(), "UnsupportedMediaType");
    let dup = r#"{"location":"westeurope","location":"eastus","sku":{"tier":"Standard","family":"MeteredData"},"properties":{"serviceProviderProperties":{"serviceProviderName":"Causeway Lab","peeringLocation":"Lab","bandwidthInMbps":50}}}"#;
    let r = env
        .raw(
            "PUT",
            &format!("{path}?api-version={API}"),
            Some(&env.a),
            Some(dup),
            &[],
        )
        .await;
    r.expect(400);
    assert_eq!(r.code(), "InvalidRequestFormat");
    assert!(r.text.contains("duplicate key"), "{}", r.text);
    assert!(env.state().is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_location_outside_the_region_catalogue_is_refused_and_display_names_are_regions() {
    let env = Env::new();
    let path = circuit_path(SUB_A, "rg", "er1");
    for bad in ["west/../../europe", "west?europe#x", &"x".repeat(65_536)] {
        let mut body = circuit_body();
        body["location"] = json!(bad);
        let r = env.put(&env.a, &path, &body).await;
        r.expect(400);
        assert_eq!(r.code(), "LocationNotAvailableForResourceType");
    }
    assert!(env.state().is_empty());
    let mut body = circuit_body();
    body["location"] = json!("West Europe");
    let r = env.put(&env.a, &path, &body).await;
    r.expect(201);
    let poll = r.headers["azure-asyncoperation"].to_str().expect("header");
    assert!(
        poll.contains("/locations/westeurope/operations/"),
        "the poll URL carries the normalised region: {poll}"
    );
}

#[tokio::test]
async fn urls_we_hand_out_ignore_a_forged_host_header() {
    let env = Env::new();
    let r = env
        .raw(
            "PUT",
            &format!("{}?api-version={API}", circuit_path(SUB_A, "rg", "er1")),
            Some(&env.a),
            Some(&circuit_body().to_string()),
            &[("host", "attacker.example")],
        )
        .await;
    r.expect(201);
    for h in ["azure-asyncoperation", "location"] {
        let url = r.headers[h].to_str().expect("header");
        assert!(url.starts_with("https://127.0.0.1/"), "{h}: {url}");
    }
    let list = env
        .raw(
            "GET",
            &format!(
                "/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteServiceProviders?api-version={API}"
            ),
            Some(&env.a),
            None,
            &[("host", "attacker.example")],
        )
        .await;
    let next = list.json()["nextLink"].clone();
    assert!(
        next.as_str()
            .is_none_or(|n| n.starts_with("https://127.0.0.1/")),
        "{next}"
    );
}

#[tokio::test]
async fn a_page_continues_after_the_last_item_even_when_items_before_it_were_deleted() {
    let env = Env::with(Default::default(), 3);
    for i in 0..7 {
        env.create_circuit(&env.a, SUB_A, "rg", &format!("er{i}"))
            .await;
    }
    let list = format!(
        "/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteCircuits?api-version={API}"
    );
    let first = env.raw("GET", &list, Some(&env.a), None, &[]).await.json();
    let names = |v: &Value| -> Vec<String> {
        v["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["er0", "er1", "er2"]);
    // Deleting what the client already saw does not make it skip anything.
    for i in 0..3 {
        env.delete(&env.a, &circuit_path(SUB_A, "rg", &format!("er{i}")))
            .await
            .expect(202);
    }
    let next = first["nextLink"].as_str().expect("nextLink").to_owned();
    let second = env.raw("GET", &next, Some(&env.a), None, &[]).await.json();
    assert_eq!(names(&second), ["er3", "er4", "er5"]);
    let next = second["nextLink"].as_str().expect("nextLink").to_owned();
    let third = env.raw("GET", &next, Some(&env.a), None, &[]).await.json();
    assert_eq!(names(&third), ["er6"]);
    assert!(
        third.get("nextLink").is_none(),
        "a full last page ends the list"
    );
}

#[tokio::test]
async fn the_openapi_document_declares_no_body_on_202_and_constrains_api_version() {
    let env = Env::new();
    let doc = env
        .raw("GET", "/openapi.json", None, None, &[])
        .await
        .json();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    for (path, item) in paths {
        for (verb, op) in item.as_object().expect("operations") {
            if let Some(accepted) = op["responses"].get("202") {
                assert!(
                    accepted.get("content").is_none(),
                    "{verb} {path}: 202 has no body"
                );
            }
            let v = op["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .find(|p| p["name"] == "api-version")
                .expect("api-version");
            assert!(v["schema"]["pattern"].is_string(), "{verb} {path}");
            for r in op["responses"].as_object().expect("responses").values() {
                if let Some(s) = r["content"]["application/json"]["schema"]["$ref"].as_str() {
                    let name = s.trim_start_matches("#/components/schemas/");
                    assert!(
                        doc["components"]["schemas"].get(name).is_some(),
                        "{verb} {path}: schema {name} is defined"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn answers_read_back_into_the_typed_arm_bodies_clients_share() {
    use api::arm::circuit::{ExpressRouteCircuit, ExpressRouteCircuitPeering};
    let env = Env::new();
    let created = env.create_circuit(&env.a, SUB_A, "rg", "er1").await;
    let c: ExpressRouteCircuit = serde_json::from_value(created.clone()).expect("a circuit body");
    assert_eq!(c.kind, ExpressRouteCircuit::TYPE);
    assert_eq!(c.sku.name, "Standard_MeteredData");
    assert!(!c.properties.service_key.is_empty());
    assert_eq!(c.properties.provisioning_state, "Succeeded");
    // What the server sends is exactly what the type writes back: no field it does not know.
    assert_eq!(serde_json::to_value(&c).expect("serialize"), created);
    let sk = c.properties.service_key.clone();
    env.provider_state(&sk, "Provisioned").await;
    let peering = env
        .put(
            &env.a,
            &format!("{}/peerings/AzurePrivatePeering", circuit_path(SUB_A, "rg", "er1")),
            &json!({"properties": {"peerASN": 65001, "vlanId": 100,
                "primaryPeerAddressPrefix": "10.0.0.0/30", "secondaryPeerAddressPrefix": "10.0.0.4/30"}}),
        )
        .await;
    peering.expect(201);
    let p: ExpressRouteCircuitPeering =
        serde_json::from_value(peering.json()).expect("a peering body");
    assert_eq!(p.properties.vlan_id, 100);
    assert_eq!(p.properties.peer_asn, 65001);
    assert_eq!(p.properties.shared_key, None, "the key is never echoed");
    assert_eq!(serde_json::to_value(&p).expect("serialize"), peering.json());
}
