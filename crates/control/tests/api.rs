//! In-process HTTP tests of every route of the ARM API, of the ARM protocol (long-running
//! operations, paging, etags, api-version, case-insensitive paths), of authentication and of
//! tenant isolation. Validation rules are in `validation.rs`.

mod common;

use common::*;
use control::auth::Principal;
use control::catalog::Catalog;
use serde_json::{Value, json};

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Checks the three LRO headers and that both links answer; returns the Location's answer.
async fn check_lro(env: &Env, r: &Resp, token: &str, region: &str) -> Resp {
    let async_op = r
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    let location = r.header("location").expect("Location");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"), "Retry-After");
    assert!(
        async_op.starts_with("https://127.0.0.1/subscriptions/")
            && async_op.contains(&format!(
                "/providers/Microsoft.Network/locations/{region}/operations/"
            ))
            && async_op.ends_with(&format!("?api-version={API}")),
        "Azure-AsyncOperation {async_op}"
    );
    assert!(
        location.contains(&format!(
            "/providers/Microsoft.Network/locations/{region}/operationResults/"
        )) && location.ends_with(&format!("?api-version={API}")),
        "Location {location}"
    );
    // The SDK GETs these exactly as given (it adds no api-version).
    let status = env.raw("GET", &async_op, Some(token), None, &[]).await;
    status.expect(200);
    let s = status.json();
    assert_eq!(s["status"], "Succeeded", "{s}");
    assert!(
        s["startTime"].is_string() && s["endTime"].is_string(),
        "{s}"
    );
    assert!(s["name"].as_str().is_some_and(is_guid), "{s}");
    env.raw("GET", &location, Some(token), None, &[]).await
}

// ===== service providers =====

#[tokio::test]
async fn service_providers_list_the_catalogue() {
    let env = Env::new();
    let r = env
        .get(
            &env.a,
            &format!(
                "/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteServiceProviders"
            ),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    let v = r.json();
    let providers = v["value"].as_array().expect("value");
    assert!(v.get("nextLink").is_none());
    let lab = providers
        .iter()
        .find(|p| p["name"] == LAB)
        .expect("the lab provider");
    assert_eq!(
        lab["type"],
        "Microsoft.Network/expressRouteServiceProviders"
    );
    assert_eq!(lab["properties"]["peeringLocations"], json!(["Lab"]));
    assert_eq!(lab["properties"]["provisioningState"], "Succeeded");
    // At least one provider offers 50 Mbps to 10 Gbps.
    assert!(providers.iter().any(|p| {
        let offered: Vec<u64> = p["properties"]["bandwidthsOffered"]
            .as_array()
            .expect("bandwidths")
            .iter()
            .map(|b| b["valueInMbps"].as_u64().expect("mbps"))
            .collect();
        offered.contains(&50) && offered.contains(&10000)
    }));
    let offers = &lab["properties"]["bandwidthsOffered"];
    assert!(
        offers
            .as_array()
            .expect("offers")
            .contains(&json!({"offerName": "10Gbps", "valueInMbps": 10000}))
    );
    assert!(
        offers
            .as_array()
            .expect("offers")
            .contains(&json!({"offerName": "50Mbps", "valueInMbps": 50}))
    );
    // Any authenticated principal may read the catalogue.
    for t in [&env.b, &env.lab, &env.admin] {
        env.get(
            t,
            &format!(
                "/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteServiceProviders"
            ),
        )
        .await
        .expect(200);
    }
}

// ===== circuits =====

#[tokio::test]
async fn circuit_create_read_update_tag_list_stats_delete() {
    let env = Env::new();
    let path = circuit_path(SUB_A, "rg1", "er1");

    // PUT create: 201 with the LRO headers and the resource.
    let r = env.put(&env.a, &path, &circuit_body()).await;
    r.expect(201);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert!(r.header("x-ms-request-id").is_some());
    let created = r.json();
    let key = created["properties"]["serviceKey"]
        .as_str()
        .expect("serviceKey")
        .to_owned();
    assert!(is_guid(&key), "serviceKey {key}");
    assert_eq!(created["id"], path);
    assert_eq!(created["name"], "er1");
    assert_eq!(created["type"], "Microsoft.Network/expressRouteCircuits");
    assert_eq!(created["location"], "West Europe");
    assert_eq!(created["tags"], json!({"env": "test"}));
    assert!(created["etag"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(
        created["sku"],
        json!({"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"})
    );
    let p = &created["properties"];
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(p["circuitProvisioningState"], "Enabled");
    assert_eq!(p["serviceProviderProvisioningState"], "NotProvisioned");
    assert_eq!(p["peerings"], json!([]));
    assert_eq!(p["authorizations"], json!([]));
    assert_eq!(
        p["serviceProviderProperties"],
        json!({"serviceProviderName": LAB, "peeringLocation": "Lab", "bandwidthInMbps": 50})
    );
    let result = check_lro(&env, &r, &env.a, "westeurope").await;
    result.expect(200);
    let got = env.get(&env.a, &path).await;
    got.expect(200);
    assert_eq!(
        result.json(),
        got.json(),
        "operationResults is the resource"
    );
    assert_eq!(got.json(), created);

    // A second create gets a fresh service key.
    let other = env.create_circuit(&env.a, SUB_A, "rg1", "er2").await;
    assert_ne!(other["properties"]["serviceKey"], key.as_str());

    // PUT update: 200, same service key, new etag, new bandwidth and tags.
    let mut update = circuit_body();
    set(
        &mut update,
        "properties.serviceProviderProperties.bandwidthInMbps",
        json!(200),
    );
    set(&mut update, "tags", json!({"env": "prod", "team": "net"}));
    set(&mut update, "sku.family", json!("UnlimitedData"));
    set(&mut update, "sku.name", json!("Standard_UnlimitedData"));
    let r = env.put(&env.a, &path, &update).await;
    r.expect(200);
    check_lro(&env, &r, &env.a, "westeurope").await.expect(200);
    let updated = env.get(&env.a, &path).await.json();
    assert_eq!(updated["properties"]["serviceKey"], key.as_str());
    assert_ne!(updated["etag"], created["etag"]);
    assert_eq!(
        updated["properties"]["serviceProviderProperties"]["bandwidthInMbps"],
        200
    );
    assert_eq!(updated["sku"]["family"], "UnlimitedData");
    assert_eq!(updated["tags"], json!({"env": "prod", "team": "net"}));
    assert_eq!(r.json(), updated);
    // Standard → Premium is allowed in place.
    let premium = with(
        &update,
        "sku",
        json!({"tier": "Premium", "family": "UnlimitedData"}),
    );
    env.put(&env.a, &path, &premium).await.expect(200);
    assert_eq!(
        env.get(&env.a, &path).await.json()["sku"]["name"],
        "Premium_UnlimitedData"
    );

    // Lists per resource group and per subscription.
    env.create_circuit(&env.a, SUB_A, "rg2", "er3").await;
    let names = |v: Value| -> Vec<String> {
        v["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let rg1 = env
        .get(
            &env.a,
            &format!("{}/expressRouteCircuits", rg_path(SUB_A, "rg1")),
        )
        .await;
    rg1.expect(200);
    assert_eq!(names(rg1.json()), ["er1", "er2"]);
    let all = env
        .get(
            &env.a,
            &format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteCircuits"),
        )
        .await;
    all.expect(200);
    assert_eq!(names(all.json()), ["er1", "er2", "er3"]);
    assert_eq!(
        all.json()["value"][0],
        env.get(&env.a, &path).await.json(),
        "lists carry the full resource"
    );
    let empty = env
        .get(
            &env.a,
            &format!("{}/expressRouteCircuits", rg_path(SUB_A, "nothing-here")),
        )
        .await;
    empty.expect(200);
    assert_eq!(empty.json()["value"], json!([]));

    // PATCH tags (UpdateTags): the tag set is replaced, nothing else changes.
    let before = env.get(&env.a, &path).await.json();
    let r = env.patch(&env.a, &path, &json!({"tags": {"k": "v"}})).await;
    r.expect(200);
    assert_eq!(r.json()["tags"], json!({"k": "v"}));
    let after = env.get(&env.a, &path).await.json();
    assert_eq!(after["tags"], json!({"k": "v"}));
    assert_eq!(after["properties"], before["properties"]);
    assert_ne!(after["etag"], before["etag"]);

    // Stats.
    let stats = env.get(&env.a, &format!("{path}/stats")).await;
    stats.expect(200);
    for k in [
        "primarybytesIn",
        "primarybytesOut",
        "secondarybytesIn",
        "secondarybytesOut",
    ] {
        assert_eq!(stats.json()[k], 0, "{k}");
    }
    env.get(
        &env.a,
        &format!("{}/stats", circuit_path(SUB_A, "rg1", "missing")),
    )
    .await
    .expect(404);

    // DELETE: 202 with LRO headers, then gone; deleting again answers 204.
    let r = env.delete(&env.a, &path).await;
    r.expect(202);
    assert!(r.text.is_empty());
    let result = check_lro(&env, &r, &env.a, "westeurope").await;
    result.expect(204);
    let gone = env.get(&env.a, &path).await;
    gone.expect(404);
    assert_eq!(gone.code(), "ResourceNotFound");
    env.delete(&env.a, &path).await.expect(204);
    env.delete(&env.a, &circuit_path(SUB_A, "no-rg", "never"))
        .await
        .expect(204);
    assert_eq!(
        names(
            env.get(
                &env.a,
                &format!("{}/expressRouteCircuits", rg_path(SUB_A, "rg1"))
            )
            .await
            .json()
        ),
        ["er2"]
    );
}

#[tokio::test]
async fn circuit_accepts_sku_name_only_and_string_bandwidth() {
    let env = Env::new();
    let mut body = circuit_body();
    remove(&mut body, "sku.tier");
    remove(&mut body, "sku.family");
    set(
        &mut body,
        "properties.serviceProviderProperties.bandwidthInMbps",
        json!("100"),
    );
    set(&mut body, "sku.name", json!("premium_unlimiteddata"));
    let r = env
        .put(&env.a, &circuit_path(SUB_A, "rg", "byname"), &body)
        .await;
    r.expect(201);
    let v = r.json();
    assert_eq!(
        v["sku"],
        json!({"name": "Premium_UnlimitedData", "tier": "Premium", "family": "UnlimitedData"})
    );
    assert_eq!(
        v["properties"]["serviceProviderProperties"]["bandwidthInMbps"],
        100
    );
    // Provider and location names are matched case-insensitively and stored canonically.
    let mut body = circuit_body();
    set(
        &mut body,
        "properties.serviceProviderProperties.serviceProviderName",
        json!("causeway lab"),
    );
    set(
        &mut body,
        "properties.serviceProviderProperties.peeringLocation",
        json!("LAB"),
    );
    let v = env
        .put(&env.a, &circuit_path(SUB_A, "rg", "canon"), &body)
        .await
        .json();
    assert_eq!(
        v["properties"]["serviceProviderProperties"]["serviceProviderName"],
        LAB
    );
    assert_eq!(
        v["properties"]["serviceProviderProperties"]["peeringLocation"],
        "Lab"
    );
    // The Local SKU with UnlimitedData where the location is local.
    let local = with(
        &circuit_body(),
        "sku",
        json!({"tier": "Local", "family": "UnlimitedData"}),
    );
    let v = env
        .put(&env.a, &circuit_path(SUB_A, "rg", "local"), &local)
        .await;
    v.expect(201);
    assert_eq!(v.json()["sku"]["name"], "Local_UnlimitedData");
}

// ===== peerings =====

#[tokio::test]
async fn peerings_put_get_list_stats_delete() {
    let env = Env::new();
    let circuit = circuit_path(SUB_A, "rg", "er");
    env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let private = format!("{circuit}/peerings/AzurePrivatePeering");

    let r = env.put(&env.a, &private, &private_peering()).await;
    r.expect(201);
    let v = r.json();
    assert_eq!(v["id"], private);
    assert_eq!(v["name"], "AzurePrivatePeering");
    assert_eq!(v["type"], "Microsoft.Network/expressRouteCircuits/peerings");
    let p = &v["properties"];
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(p["peeringType"], "AzurePrivatePeering");
    assert_eq!(p["state"], "Enabled");
    assert_eq!(p["azureASN"], 12076);
    assert_eq!(p["peerASN"], 65001);
    assert_eq!(p["vlanId"], 100);
    assert_eq!(p["primaryPeerAddressPrefix"], "192.168.15.16/30");
    assert_eq!(p["secondaryPeerAddressPrefix"], "192.168.15.20/30");
    assert_eq!(p["primaryAzurePort"], "LAB-EDGE-1");
    assert_eq!(p["secondaryAzurePort"], "LAB-EDGE-2");
    assert_eq!(p["lastModifiedBy"], "Customer");
    assert!(p.get("sharedKey").is_none());
    let result = check_lro(&env, &r, &env.a, "westeurope").await;
    result.expect(200);
    let got = env.get(&env.a, &private).await;
    got.expect(200);
    assert_eq!(got.json(), v);
    assert_eq!(result.json(), v);

    // Update: 200.
    let update = with(
        &private_peering(),
        "properties.peerASN",
        json!(4_200_000_000u64),
    );
    let r = env.put(&env.a, &private, &update).await;
    r.expect(200);
    check_lro(&env, &r, &env.a, "westeurope").await.expect(200);
    assert_eq!(
        env.get(&env.a, &private).await.json()["properties"]["peerASN"],
        4_200_000_000u64
    );

    // Microsoft peering with IPv6 too.
    let ms = format!("{circuit}/peerings/MicrosoftPeering");
    let mut body = microsoft_peering();
    set(
        &mut body,
        "properties.ipv6PeeringConfig",
        json!({
            "primaryPeerAddressPrefix": "2a01:111::/126",
            "secondaryPeerAddressPrefix": "2a01:111::4/126",
            "microsoftPeeringConfig": {"advertisedPublicPrefixes": ["2a01:112::/48"]}
        }),
    );
    let r = env.put(&env.a, &ms, &body).await;
    r.expect(201);
    let v = r.json();
    assert_eq!(
        v["properties"]["microsoftPeeringConfig"]["advertisedPublicPrefixes"],
        json!(["123.1.0.0/24"])
    );
    assert_eq!(
        v["properties"]["microsoftPeeringConfig"]["customerASN"],
        64513
    );
    assert_eq!(
        v["properties"]["ipv6PeeringConfig"]["primaryPeerAddressPrefix"],
        "2a01:111::/126"
    );
    assert_eq!(
        v["properties"]["ipv6PeeringConfig"]["microsoftPeeringConfig"]["advertisedPublicPrefixes"],
        json!(["2a01:112::/48"])
    );

    // What `az network express-route peering update --ip-version ipv6` sends: no IPv4 pair
    // and an empty `microsoftPeeringConfig`. The stored IPv4 side is kept.
    let r = env
        .put(
            &env.a,
            &ms,
            &json!({"properties": {
                "peeringType": "MicrosoftPeering",
                "peerASN": 64512,
                "vlanId": 200,
                "microsoftPeeringConfig": {},
                "ipv6PeeringConfig": {
                    "primaryPeerAddressPrefix": "2a01:111::8/126",
                    "secondaryPeerAddressPrefix": "2a01:111::c/126",
                    "microsoftPeeringConfig": {"advertisedPublicPrefixes": ["2a01:113::/48"]}
                }
            }}),
        )
        .await;
    r.expect(200);
    let v = r.json();
    assert_eq!(v["properties"]["primaryPeerAddressPrefix"], "123.0.0.0/30");
    assert_eq!(
        v["properties"]["secondaryPeerAddressPrefix"],
        "123.0.0.4/30"
    );
    assert_eq!(
        v["properties"]["microsoftPeeringConfig"]["advertisedPublicPrefixes"],
        json!(["123.1.0.0/24"])
    );
    assert_eq!(
        v["properties"]["ipv6PeeringConfig"]["primaryPeerAddressPrefix"],
        "2a01:111::8/126"
    );

    // List and the circuit body embed both.
    let list = env.get(&env.a, &format!("{circuit}/peerings")).await;
    list.expect(200);
    let names: Vec<String> = list.json()["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["AzurePrivatePeering", "MicrosoftPeering"]);
    let c = env.get(&env.a, &circuit).await.json();
    assert_eq!(c["properties"]["peerings"], list.json()["value"]);

    // Peering stats.
    let stats = env.get(&env.a, &format!("{private}/stats")).await;
    stats.expect(200);
    assert_eq!(stats.json()["primarybytesIn"], 0);
    env.get(
        &env.a,
        &format!("{circuit}/peerings/MicrosoftPeering/stats"),
    )
    .await
    .expect(200);

    // DELETE: 202 then gone, again 204.
    let r = env.delete(&env.a, &ms).await;
    r.expect(202);
    check_lro(&env, &r, &env.a, "westeurope").await.expect(204);
    let gone = env.get(&env.a, &ms).await;
    gone.expect(404);
    assert_eq!(gone.code(), "ResourceNotFound");
    env.get(&env.a, &format!("{ms}/stats")).await.expect(404);
    env.delete(&env.a, &ms).await.expect(204);
    env.delete(
        &env.a,
        &format!(
            "{}/peerings/AzurePrivatePeering",
            circuit_path(SUB_A, "rg", "none")
        ),
    )
    .await
    .expect(204);
    assert_eq!(
        env.get(&env.a, &format!("{circuit}/peerings")).await.json()["value"]
            .as_array()
            .expect("value")
            .len(),
        1
    );
    // Peerings of a missing circuit.
    env.get(
        &env.a,
        &format!("{}/peerings", circuit_path(SUB_A, "rg", "none")),
    )
    .await
    .expect(404);
    let r = env
        .put(
            &env.a,
            &format!(
                "{}/peerings/AzurePrivatePeering",
                circuit_path(SUB_A, "rg", "none")
            ),
            &private_peering(),
        )
        .await;
    r.expect(404);
    assert_eq!(r.code(), "ResourceNotFound");
}

#[tokio::test]
async fn peering_staged_before_provisioning_stays_through_provisioning() {
    let env = Env::new();
    let c = env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    let private = format!(
        "{}/peerings/AzurePrivatePeering",
        circuit_path(SUB_A, "rg", "er")
    );
    env.put(&env.a, &private, &private_peering())
        .await
        .expect(201);
    env.provider_state(&key, "Provisioning").await;
    env.provider_state(&key, "Provisioned").await;
    let p = env.get(&env.a, &private).await;
    p.expect(200);
    assert_eq!(p.json()["properties"]["state"], "Enabled");
    assert_eq!(p.json()["properties"]["vlanId"], 100);
    let circuit = env
        .get(&env.a, &circuit_path(SUB_A, "rg", "er"))
        .await
        .json();
    assert_eq!(
        circuit["properties"]["serviceProviderProvisioningState"],
        "Provisioned"
    );
    // The provider sees the customer's peering on its cross-connection.
    let cross = env.get(&env.lab, &cross_path(&key)).await.json();
    assert_eq!(
        cross["properties"]["peerings"][0]["name"],
        "AzurePrivatePeering"
    );
    assert_eq!(
        cross["properties"]["peerings"][0]["properties"]["lastModifiedBy"],
        "Customer"
    );
    // And a peering can still be added once provisioned.
    env.put(
        &env.a,
        &format!(
            "{}/peerings/MicrosoftPeering",
            circuit_path(SUB_A, "rg", "er")
        ),
        &microsoft_peering(),
    )
    .await
    .expect(201);
}

// ===== route/ARP tables =====

#[tokio::test]
async fn arp_and_route_table_actions_answer_202_and_an_empty_value() {
    let env = Env::new();
    let c = env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    let peering = format!(
        "{}/peerings/AzurePrivatePeering",
        circuit_path(SUB_A, "rg", "er")
    );
    env.put(&env.a, &peering, &private_peering())
        .await
        .expect(201);
    for action in ["arpTables", "routeTables", "routeTablesSummary"] {
        for device in ["primary", "secondary"] {
            let r = env
                .post(&env.a, &format!("{peering}/{action}/{device}"))
                .await;
            r.expect(202);
            let result = check_lro(&env, &r, &env.a, "westeurope").await;
            result.expect(200);
            assert_eq!(result.json(), json!({"value": []}), "{action}/{device}");
        }
        // The provider asks the same on its cross-connection.
        let cross_peering = format!("{}/peerings/AzurePrivatePeering", cross_path(&key));
        let r = env
            .post(&env.lab, &format!("{cross_peering}/{action}/primary"))
            .await;
        r.expect(202);
        let result = check_lro(&env, &r, &env.lab, "westeurope").await;
        assert_eq!(result.json(), json!({"value": []}), "cross {action}");
    }
    // Missing peering, missing circuit, unknown device, GET instead of POST.
    let r = env
        .post(
            &env.a,
            &format!(
                "{}/peerings/MicrosoftPeering/arpTables/primary",
                circuit_path(SUB_A, "rg", "er")
            ),
        )
        .await;
    r.expect(404);
    assert_eq!(r.code(), "ResourceNotFound");
    env.post(
        &env.a,
        &format!(
            "{}/peerings/AzurePrivatePeering/arpTables/primary",
            circuit_path(SUB_A, "rg", "nope")
        ),
    )
    .await
    .expect(404);
    let r = env
        .post(&env.a, &format!("{peering}/arpTables/tertiary"))
        .await;
    r.expect(404);
    assert_eq!(r.code(), "InvalidResourceType");
    let r = env
        .get(&env.a, &format!("{peering}/routeTables/primary"))
        .await;
    r.expect(405);
    assert_eq!(r.code(), "MethodNotAllowed");
}

// ===== authorizations =====

#[tokio::test]
async fn authorizations_put_with_empty_or_no_body_get_list_delete() {
    let env = Env::new();
    let circuit = circuit_path(SUB_A, "rg", "er");
    env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let auth1 = format!("{circuit}/authorizations/auth1");
    let auth2 = format!("{circuit}/authorizations/auth2");

    // `{}` (what the SDK sends for an empty model).
    let r = env.put(&env.a, &auth1, &json!({})).await;
    r.expect(201);
    let a1 = r.json();
    assert_eq!(a1["id"], auth1);
    assert_eq!(a1["name"], "auth1");
    assert_eq!(
        a1["type"],
        "Microsoft.Network/expressRouteCircuits/authorizations"
    );
    let key1 = a1["properties"]["authorizationKey"]
        .as_str()
        .expect("key")
        .to_owned();
    assert!(is_guid(&key1));
    assert_eq!(a1["properties"]["authorizationUseStatus"], "Available");
    assert_eq!(a1["properties"]["provisioningState"], "Succeeded");
    let result = check_lro(&env, &r, &env.a, "westeurope").await;
    result.expect(200);
    assert_eq!(result.json(), a1);

    // No body at all.
    let r = env
        .raw("PUT", &with_api(&auth2), Some(&env.a), None, &[])
        .await;
    r.expect(201);
    let key2 = r.json()["properties"]["authorizationKey"]
        .as_str()
        .expect("key")
        .to_owned();
    assert_ne!(key1, key2);
    // A body with properties is accepted too.
    env.put(
        &env.a,
        &format!("{circuit}/authorizations/auth3"),
        &json!({"properties": {}}),
    )
    .await
    .expect(201);

    // PUT again: 200 and the same key.
    let r = env.put(&env.a, &auth1, &json!({})).await;
    r.expect(200);
    assert_eq!(r.json()["properties"]["authorizationKey"], key1.as_str());

    // GET, list, and embedded in the circuit.
    let got = env.get(&env.a, &auth1).await;
    got.expect(200);
    assert_eq!(got.json()["properties"]["authorizationKey"], key1.as_str());
    let list = env.get(&env.a, &format!("{circuit}/authorizations")).await;
    list.expect(200);
    assert_eq!(list.json()["value"].as_array().expect("value").len(), 3);
    let c = env.get(&env.a, &circuit).await.json();
    assert_eq!(
        c["properties"]["authorizations"]
            .as_array()
            .expect("auths")
            .len(),
        3
    );

    // DELETE 202, then 404, then 204.
    let r = env.delete(&env.a, &auth1).await;
    r.expect(202);
    check_lro(&env, &r, &env.a, "westeurope").await.expect(204);
    let gone = env.get(&env.a, &auth1).await;
    gone.expect(404);
    assert_eq!(gone.code(), "ResourceNotFound");
    env.delete(&env.a, &auth1).await.expect(204);
    env.delete(
        &env.a,
        &format!("{}/authorizations/x", circuit_path(SUB_A, "rg", "none")),
    )
    .await
    .expect(204);
    assert_eq!(
        env.get(&env.a, &format!("{circuit}/authorizations"))
            .await
            .json()["value"]
            .as_array()
            .expect("value")
            .len(),
        2
    );
    env.get(
        &env.a,
        &format!("{}/authorizations", circuit_path(SUB_A, "rg", "none")),
    )
    .await
    .expect(404);
}

// ===== operations =====

#[tokio::test]
async fn operation_status_and_results() {
    let env = Env::new();
    let r = env
        .put(&env.a, &circuit_path(SUB_A, "rg", "er"), &circuit_body())
        .await;
    let async_op = r.header("azure-asyncoperation").expect("async");
    let location = r.header("location").expect("location");
    let s = env.raw("GET", &async_op, Some(&env.a), None, &[]).await;
    s.expect(200);
    let s = s.json();
    assert_eq!(s["status"], "Succeeded");
    let id = s["name"].as_str().expect("name").to_owned();
    assert!(s["id"].as_str().expect("id").ends_with(&id));
    assert!(location.contains(&format!("/operationResults/{id}?")));
    let res = env.raw("GET", &location, Some(&env.a), None, &[]).await;
    res.expect(200);
    assert_eq!(res.json()["name"], "er");
    // Case-insensitive and with another api-version.
    let lower = async_op.to_ascii_lowercase().replace(API, "2024-05-01");
    env.raw("GET", &lower, Some(&env.a), None, &[])
        .await
        .expect(200);
    // An unknown operation, and one in another subscription.
    let missing = env
        .get(
            &env.a,
            &format!(
                "/subscriptions/{SUB_A}/providers/Microsoft.Network/locations/westeurope/operations/00000000-0000-0000-0000-000000000000"
            ),
        )
        .await;
    missing.expect(404);
    assert_eq!(missing.code(), "ResourceNotFound");
    let moved = async_op.replace(SUB_A, SUB_B);
    env.raw("GET", &moved, Some(&env.admin), None, &[])
        .await
        .expect(404);
    // Another tenant cannot poll it.
    let r = env.raw("GET", &async_op, Some(&env.b), None, &[]).await;
    r.expect(404);
    assert_eq!(r.code(), "ResourceNotFound");
    env.raw("GET", &location, Some(&env.b), None, &[])
        .await
        .expect(404);
    // The admin can.
    env.raw("GET", &async_op, Some(&env.admin), None, &[])
        .await
        .expect(200);
    // PUT on an operation is not allowed.
    let r = env
        .raw("PUT", &async_op, Some(&env.a), Some("{}"), &[])
        .await;
    r.expect(405);
}

// ===== provider side =====

#[tokio::test]
async fn cross_connection_provider_workflow() {
    let env = Env::new();
    let circuit = circuit_path(SUB_A, "rg", "er");
    let c = env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    // An Equinix circuit the lab provider must not see.
    let mut eq = circuit_body();
    set(
        &mut eq,
        "properties.serviceProviderProperties.serviceProviderName",
        json!("Equinix"),
    );
    set(
        &mut eq,
        "properties.serviceProviderProperties.peeringLocation",
        json!("Silicon Valley"),
    );
    env.put(&env.a, &circuit_path(SUB_A, "rg", "eq"), &eq)
        .await
        .expect(201);

    // List at subscription and resource-group level.
    for path in [
        format!(
            "/subscriptions/{LAB_SUB}/providers/Microsoft.Network/expressRouteCrossConnections"
        ),
        format!("{}/expressRouteCrossConnections", rg_path(LAB_SUB, LAB_RG)),
    ] {
        let r = env.get(&env.lab, &path).await;
        r.expect(200);
        let v = r.json();
        let items = v["value"].as_array().expect("value");
        assert_eq!(items.len(), 1, "{path}: {v}");
        assert_eq!(items[0]["name"], key.as_str());
    }
    let other_rg = env
        .get(
            &env.lab,
            &format!(
                "{}/expressRouteCrossConnections",
                rg_path(LAB_SUB, "CrossConnection-Elsewhere")
            ),
        )
        .await;
    assert_eq!(other_rg.json()["value"], json!([]));

    // GET by service key.
    let cross = cross_path(&key);
    let r = env.get(&env.lab, &cross).await;
    r.expect(200);
    let v = r.json();
    assert_eq!(v["id"], cross);
    assert_eq!(v["type"], "Microsoft.Network/expressRouteCrossConnections");
    let p = &v["properties"];
    assert_eq!(p["serviceProviderProvisioningState"], "NotProvisioned");
    assert_eq!(p["peeringLocation"], "Lab");
    assert_eq!(p["bandwidthInMbps"], 50);
    assert_eq!(p["expressRouteCircuit"]["id"], circuit);
    assert_eq!(p["primaryAzurePort"], "LAB-EDGE-1");
    assert_eq!(p["provisioningState"], "Succeeded");
    // The key is matched case-insensitively.
    env.get(&env.lab, &cross_path(&key.to_ascii_uppercase()))
        .await
        .expect(200);

    // Invalid transitions from NotProvisioned.
    let bad_state =
        |state: &str| json!({"properties": {"serviceProviderProvisioningState": state}});
    for to in ["Deprovisioning"] {
        env.rejected(
            "PUT",
            &cross,
            &env.lab,
            Some(&bad_state(to)),
            &[],
            400,
            "InvalidServiceProviderProvisioningStateTransition",
            &circuit,
        )
        .await;
    }
    env.rejected(
        "PUT",
        &cross,
        &env.lab,
        Some(&bad_state("Ready")),
        &[],
        400,
        "InvalidServiceProviderProvisioningState",
        &circuit,
    )
    .await;

    // NotProvisioned → Provisioning → Provisioned, with notes; LRO headers.
    let r = env
        .put(
            &env.lab,
            &cross,
            &json!({"properties": {"serviceProviderProvisioningState": "Provisioning", "serviceProviderNotes": "order 42"}}),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.json()["properties"]["serviceProviderProvisioningState"],
        "Provisioning"
    );
    let result = check_lro(&env, &r, &env.lab, "westeurope").await;
    result.expect(200);
    assert_eq!(
        result.json()["properties"]["serviceProviderProvisioningState"],
        "Provisioning"
    );
    let circ = env.get(&env.a, &circuit).await.json();
    assert_eq!(
        circ["properties"]["serviceProviderProvisioningState"],
        "Provisioning"
    );
    assert_eq!(circ["properties"]["serviceProviderNotes"], "order 42");
    for to in ["Deprovisioning"] {
        env.rejected(
            "PUT",
            &cross,
            &env.lab,
            Some(&bad_state(to)),
            &[],
            400,
            "InvalidServiceProviderProvisioningStateTransition",
            &circuit,
        )
        .await;
    }
    env.provider_state(&key, "Provisioned").await;
    assert_eq!(
        env.get(&env.a, &circuit).await.json()["properties"]["serviceProviderProvisioningState"],
        "Provisioned"
    );
    for to in ["NotProvisioned", "Provisioning"] {
        env.rejected(
            "PUT",
            &cross,
            &env.lab,
            Some(&bad_state(to)),
            &[],
            400,
            "InvalidServiceProviderProvisioningStateTransition",
            &circuit,
        )
        .await;
    }
    // Same state again is fine (idempotent PUT).
    env.provider_state(&key, "Provisioned").await;

    // The customer cannot delete while Provisioned.
    let refused = env
        .rejected(
            "DELETE",
            &circuit,
            &env.a,
            None,
            &[],
            409,
            "CircuitNotDeprovisioned",
            &circuit,
        )
        .await;
    let msg = refused.json()["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(
        msg.contains("Ask the provider") && msg.contains("NotProvisioned"),
        "the message says what to do: {msg}"
    );

    // The provider configures a peering: lastModifiedBy ServiceProvider.
    let cross_peering = format!("{cross}/peerings/AzurePrivatePeering");
    let r = env.put(&env.lab, &cross_peering, &private_peering()).await;
    r.expect(201);
    let v = r.json();
    assert_eq!(
        v["type"],
        "Microsoft.Network/expressRouteCrossConnections/peerings"
    );
    assert_eq!(v["id"], cross_peering);
    assert_eq!(v["properties"]["lastModifiedBy"], "ServiceProvider");
    assert!(v["properties"].get("connections").is_none());
    let result = check_lro(&env, &r, &env.lab, "westeurope").await;
    assert_eq!(result.json(), v);
    let got = env.get(&env.lab, &cross_peering).await;
    got.expect(200);
    assert_eq!(got.json(), v);
    let list = env.get(&env.lab, &format!("{cross}/peerings")).await;
    list.expect(200);
    assert_eq!(list.json()["value"][0], v);
    // The customer sees it on the circuit, modified by the provider.
    let cust = env
        .get(&env.a, &format!("{circuit}/peerings/AzurePrivatePeering"))
        .await;
    cust.expect(200);
    assert_eq!(
        cust.json()["properties"]["lastModifiedBy"],
        "ServiceProvider"
    );
    assert_eq!(cust.json()["properties"]["vlanId"], 100);
    // The provider deletes it.
    let r = env.delete(&env.lab, &cross_peering).await;
    r.expect(202);
    check_lro(&env, &r, &env.lab, "westeurope")
        .await
        .expect(204);
    env.get(&env.lab, &cross_peering).await.expect(404);
    env.delete(&env.lab, &cross_peering).await.expect(204);
    env.get(&env.a, &format!("{circuit}/peerings/AzurePrivatePeering"))
        .await
        .expect(404);

    // PATCH tags on the cross-connection: the provider's tags, apart from the customer's.
    let r = env
        .patch(&env.lab, &cross, &json!({"tags": {"provider-ref": "X-1"}}))
        .await;
    r.expect(200);
    assert_eq!(r.json()["tags"], json!({"provider-ref": "X-1"}));
    assert_eq!(
        env.get(&env.lab, &cross).await.json()["tags"],
        json!({"provider-ref": "X-1"})
    );
    assert_eq!(
        env.get(&env.a, &circuit).await.json()["tags"],
        json!({"env": "test"})
    );
    // Tags through PUT too.
    let r = env
        .put(&env.lab, &cross, &json!({"tags": {"a": "b"}}))
        .await;
    r.expect(200);
    assert_eq!(r.json()["tags"], json!({"a": "b"}));
    assert_eq!(
        r.json()["properties"]["serviceProviderProvisioningState"],
        "Provisioned"
    );

    // Provisioned → Deprovisioning → NotProvisioned; then the customer can delete.
    env.provider_state(&key, "Deprovisioning").await;
    for to in ["Provisioned", "Provisioning"] {
        env.rejected(
            "PUT",
            &cross,
            &env.lab,
            Some(&bad_state(to)),
            &[],
            400,
            "InvalidServiceProviderProvisioningStateTransition",
            &circuit,
        )
        .await;
    }
    env.rejected(
        "DELETE",
        &circuit,
        &env.a,
        None,
        &[],
        409,
        "CircuitNotDeprovisioned",
        &circuit,
    )
    .await;
    env.provider_state(&key, "NotProvisioned").await;
    // Provisioning can be abandoned back to NotProvisioned.
    env.provider_state(&key, "Provisioning").await;
    env.rejected(
        "DELETE",
        &circuit,
        &env.a,
        None,
        &[],
        409,
        "CircuitNotDeprovisioned",
        &circuit,
    )
    .await;
    env.provider_state(&key, "NotProvisioned").await;
    env.delete(&env.a, &circuit).await.expect(202);
    env.get(&env.a, &circuit).await.expect(404);
    env.get(&env.lab, &cross).await.expect(404);
    assert_eq!(
        env.get(
            &env.lab,
            &format!("{}/expressRouteCrossConnections", rg_path(LAB_SUB, LAB_RG))
        )
        .await
        .json()["value"],
        json!([])
    );
}

#[tokio::test]
async fn cross_connection_peering_validation_and_vlan_uniqueness_across_parties() {
    let env = Env::new();
    let circuit = circuit_path(SUB_A, "rg", "er");
    let c = env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    env.put(
        &env.a,
        &format!("{circuit}/peerings/AzurePrivatePeering"),
        &private_peering(),
    )
    .await
    .expect(201);
    // The provider's Microsoft peering may not reuse the customer's VLAN.
    let clash = with(&microsoft_peering(), "properties.vlanId", json!(100));
    env.rejected(
        "PUT",
        &format!("{}/peerings/MicrosoftPeering", cross_path(&key)),
        &env.lab,
        Some(&clash),
        &[],
        400,
        "VlanIdInUse",
        &circuit,
    )
    .await;
    env.rejected(
        "PUT",
        &format!("{}/peerings/SomethingElse", cross_path(&key)),
        &env.lab,
        Some(&private_peering()),
        &[],
        400,
        "InvalidPeeringName",
        &circuit,
    )
    .await;
}

// ===== openapi =====

#[tokio::test]
async fn openapi_lists_every_path() {
    let env = Env::new();
    let r = env.raw("GET", "/openapi.json", None, None, &[]).await;
    r.expect(200);
    let doc = r.json();
    let paths = doc["paths"].as_object().expect("paths");
    let net = "/subscriptions/{subscriptionId}/providers/Microsoft.Network";
    let rg = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network";
    let circuit = format!("{rg}/expressRouteCircuits/{{circuitName}}");
    let cross = format!("{rg}/expressRouteCrossConnections/{{crossConnectionName}}");
    let mut expected = vec![
        (format!("{net}/expressRouteServiceProviders"), vec!["get"]),
        (format!("{net}/expressRouteCircuits"), vec!["get"]),
        (format!("{rg}/expressRouteCircuits"), vec!["get"]),
        (circuit.clone(), vec!["get", "put", "patch", "delete"]),
        (format!("{circuit}/stats"), vec!["get"]),
        (format!("{circuit}/customerEdgeConfiguration"), vec!["post"]),
        (format!("{circuit}/peerings"), vec!["get"]),
        (
            format!("{circuit}/peerings/{{peeringName}}"),
            vec!["get", "put", "delete"],
        ),
        (
            format!("{circuit}/peerings/{{peeringName}}/stats"),
            vec!["get"],
        ),
        (
            format!("{circuit}/peerings/{{peeringName}}/connections"),
            vec!["get"],
        ),
        (
            format!("{circuit}/peerings/{{peeringName}}/connections/{{connectionName}}"),
            vec!["get", "put", "delete"],
        ),
        (
            format!("{circuit}/peerings/{{peeringName}}/peerConnections"),
            vec!["get"],
        ),
        (
            format!("{circuit}/peerings/{{peeringName}}/peerConnections/{{connectionName}}"),
            vec!["get"],
        ),
        (format!("{circuit}/authorizations"), vec!["get"]),
        (
            format!("{circuit}/authorizations/{{authorizationName}}"),
            vec!["get", "put", "delete"],
        ),
        (format!("{net}/expressRouteCrossConnections"), vec!["get"]),
        (format!("{rg}/expressRouteCrossConnections"), vec!["get"]),
        (cross.clone(), vec!["get", "put", "patch"]),
        (format!("{cross}/peerings"), vec!["get"]),
        (
            format!("{cross}/peerings/{{peeringName}}"),
            vec!["get", "put", "delete"],
        ),
        (
            format!("{net}/locations/{{location}}/operations/{{operationId}}"),
            vec!["get"],
        ),
        (
            format!("{net}/locations/{{location}}/operationResults/{{operationId}}"),
            vec!["get"],
        ),
    ];
    let vnet = format!("{rg}/virtualNetworks/{{virtualNetworkName}}");
    let gateway = format!("{rg}/virtualNetworkGateways/{{virtualNetworkGatewayName}}");
    let crud = vec!["get", "put", "patch", "delete"];
    expected.extend([
        (format!("{net}/virtualNetworks"), vec!["get"]),
        (format!("{rg}/virtualNetworks"), vec!["get"]),
        (vnet.clone(), crud.clone()),
        (format!("{vnet}/subnets"), vec!["get"]),
        (
            format!("{vnet}/subnets/{{subnetName}}"),
            vec!["get", "put", "delete"],
        ),
        (format!("{net}/publicIPAddresses"), vec!["get"]),
        (format!("{net}/bgpServiceCommunities"), vec!["get"]),
        (format!("{net}/ExpressRoutePortsLocations"), vec!["get"]),
        (
            format!("{net}/ExpressRoutePortsLocations/{{locationName}}"),
            vec!["get"],
        ),
        (
            "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Resources/deployments/{deploymentName}".to_owned(),
            vec!["get", "put", "delete"],
        ),
        (format!("{net}/routeFilters"), vec!["get"]),
        (format!("{rg}/routeFilters"), vec!["get"]),
        (
            format!("{rg}/routeFilters/{{routeFilterName}}"),
            vec!["get", "put", "patch", "delete"],
        ),
        (
            format!("{rg}/routeFilters/{{routeFilterName}}/routeFilterRules"),
            vec!["get"],
        ),
        (
            format!("{rg}/routeFilters/{{routeFilterName}}/routeFilterRules/{{ruleName}}"),
            vec!["get", "put", "delete"],
        ),
        (format!("{rg}/publicIPAddresses"), vec!["get"]),
        (
            format!("{rg}/publicIPAddresses/{{publicIpAddressName}}"),
            crud.clone(),
        ),
        (format!("{rg}/virtualNetworkGateways"), vec!["get"]),
        (gateway.clone(), crud.clone()),
        (format!("{gateway}/getLearnedRoutes"), vec!["post"]),
        (format!("{gateway}/getAdvertisedRoutes"), vec!["post"]),
        (format!("{rg}/connections"), vec!["get"]),
        (
            format!("{rg}/connections/{{virtualNetworkGatewayConnectionName}}"),
            crud,
        ),
    ]);
    // Microsoft.Resources: what az and Terraform assume.
    let groups = "/subscriptions/{subscriptionId}/resourcegroups";
    expected.extend([
        ("/subscriptions".to_owned(), vec!["get"]),
        ("/subscriptions/{subscriptionId}".to_owned(), vec!["get"]),
        ("/tenants".to_owned(), vec!["get"]),
        (
            "/subscriptions/{subscriptionId}/locations".to_owned(),
            vec!["get"],
        ),
        (groups.to_owned(), vec!["get"]),
        (
            format!("{groups}/{{resourceGroupName}}"),
            vec!["get", "head", "put", "patch", "delete"],
        ),
        (
            "/subscriptions/{subscriptionId}/providers".to_owned(),
            vec!["get"],
        ),
        (
            "/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}".to_owned(),
            vec!["get"],
        ),
        (
            "/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}/register"
                .to_owned(),
            vec!["post"],
        ),
        (
            "/subscriptions/{subscriptionId}/providers/{resourceProviderNamespace}/unregister"
                .to_owned(),
            vec!["post"],
        ),
        (
            format!("{rg}/connections/{{virtualNetworkGatewayConnectionName}}/sharedkey"),
            vec!["get", "put"],
        ),
        (
            "/subscriptions/{subscriptionId}/resources".to_owned(),
            vec!["get"],
        ),
        (
            "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/resources"
                .to_owned(),
            vec!["get"],
        ),
    ]);
    for base in [&circuit, &cross] {
        for action in ["arpTables", "routeTables", "routeTablesSummary"] {
            expected.push((
                format!("{base}/peerings/{{peeringName}}/{action}/{{devicePath}}"),
                vec!["post"],
            ));
        }
    }
    for (path, methods) in &expected {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("openapi.json lacks {path}; it has {:?}", paths.keys()));
        for m in methods {
            assert!(item.get(*m).is_some(), "openapi.json: {path} lacks {m}");
        }
    }
    assert_eq!(paths.len(), expected.len(), "{:?}", paths.keys());
}

// ===== ARM protocol =====

#[tokio::test]
async fn every_api_version_real_clients_use_is_accepted() {
    let env = Env::new();
    let path = circuit_path(SUB_A, "rg", "er");
    env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let versions = [
        "2018-01-01",
        "2018-02-01",
        "2018-04-01",
        "2018-06-01",
        "2018-08-01",
        "2018-10-01",
        "2018-12-01",
        "2019-02-01",
        "2019-06-01",
        "2019-09-01",
        "2019-12-01",
        "2020-04-01",
        "2020-06-01",
        "2020-11-01",
        "2021-02-01",
        "2021-05-01",
        "2021-08-01",
        "2022-01-01",
        "2022-05-01",
        "2022-07-01",
        "2022-09-01",
        "2023-02-01",
        "2023-04-01",
        "2023-05-01",
        "2023-06-01",
        "2023-09-01",
        "2023-11-01",
        "2024-01-01",
        "2024-03-01",
        "2024-05-01",
        "2024-07-01",
        "2024-10-01",
        "2025-01-01",
        "2025-03-01",
        "2025-05-01",
        "2026-03-01",
        "2021-03-01-preview",
    ];
    for v in versions {
        let r = env
            .raw(
                "GET",
                &format!("{path}?api-version={v}"),
                Some(&env.a),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "GET with api-version {v}: {}", r.text);
        let r = env
            .raw(
                "PUT",
                &format!("{path}?api-version={v}"),
                Some(&env.a),
                Some(&circuit_body().to_string()),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "PUT with api-version {v}: {}", r.text);
        // The api-version the client used comes back in the links it must follow.
        let async_op = r.header("azure-asyncoperation").expect("async");
        assert!(
            async_op.ends_with(&format!("api-version={v}")),
            "{async_op}"
        );
        let list = env
            .raw(
                "GET",
                &format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteCircuits?api-version={v}"),
                Some(&env.a),
                None,
                &[],
            )
            .await;
        assert_eq!(list.status, 200, "list with {v}");
    }
}

#[tokio::test]
async fn api_version_missing_or_invalid_is_refused_and_changes_nothing() {
    let env = Env::new();
    let path = circuit_path(SUB_A, "rg", "er");
    env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let before = env.state();
    let mut update = circuit_body();
    set(&mut update, "tags", json!({"changed": "yes"}));
    let body = update.to_string();
    for (query, code) in [
        ("", "MissingApiVersionParameter"),
        ("?api-version=", "MissingApiVersionParameter"),
        ("?other=1", "MissingApiVersionParameter"),
        ("?api-version=2030-01-01", "InvalidApiVersionParameter"),
        ("?api-version=2026-03-02", "InvalidApiVersionParameter"),
        ("?api-version=2015-01-01", "InvalidApiVersionParameter"),
        ("?api-version=latest", "InvalidApiVersionParameter"),
        ("?api-version=2024-5-1", "InvalidApiVersionParameter"),
        ("?api-version=2024-05-01-beta", "InvalidApiVersionParameter"),
    ] {
        for (method, body) in [
            ("PUT", Some(body.as_str())),
            ("DELETE", None),
            ("GET", None),
        ] {
            let r = env
                .raw(method, &format!("{path}{query}"), Some(&env.a), body, &[])
                .await;
            assert_eq!(r.status, 400, "{method} {query}: {}", r.text);
            assert_eq!(r.code(), code, "{method} {query}");
        }
    }
    assert_eq!(env.state(), before);
    env.get(&env.a, &path).await.expect(200);
    assert_eq!(
        env.get(&env.a, &path).await.json()["tags"],
        json!({"env": "test"})
    );
}

#[tokio::test]
async fn paths_are_case_insensitive_and_keep_the_users_names() {
    let env = Env::new();
    let lower = format!(
        "/subscriptions/{SUB_A}/resourcegroups/MyRG/providers/microsoft.network/expressroutecircuits/MyCircuit"
    );
    let upper = format!(
        "/SUBSCRIPTIONS/{}/RESOURCEGROUPS/myrg/PROVIDERS/MICROSOFT.NETWORK/EXPRESSROUTECIRCUITS/mycircuit",
        SUB_A.to_ascii_uppercase()
    );
    let r = env.put(&env.a, &lower, &circuit_body()).await;
    r.expect(201);
    assert_eq!(r.json()["name"], "MyCircuit");
    assert_eq!(
        r.json()["id"],
        format!(
            "/subscriptions/{SUB_A}/resourceGroups/MyRG/providers/Microsoft.Network/expressRouteCircuits/MyCircuit"
        )
    );
    // The same circuit under another casing: read, updated in place (200), listed.
    let g = env.get(&env.a, &upper).await;
    g.expect(200);
    assert_eq!(g.json()["name"], "MyCircuit");
    env.put(&env.a, &upper, &circuit_body()).await.expect(200);
    let list = env
        .get(&env.a, &format!("/Subscriptions/{SUB_A}/resourceGroups/MYRG/providers/Microsoft.Network/ExpressRouteCircuits"))
        .await;
    list.expect(200);
    assert_eq!(list.json()["value"].as_array().expect("value").len(), 1);
    // Children too.
    env.put(
        &env.a,
        &format!("{upper}/PEERINGS/azureprivatepeering"),
        &private_peering(),
    )
    .await
    .expect(201);
    let p = env
        .get(&env.a, &format!("{lower}/Peerings/AZUREPRIVATEPEERING"))
        .await;
    p.expect(200);
    assert_eq!(p.json()["name"], "AzurePrivatePeering");
    env.put(&env.a, &format!("{lower}/Authorizations/Auth1"), &json!({}))
        .await
        .expect(201);
    env.get(&env.a, &format!("{upper}/AUTHORIZATIONS/AUTH1"))
        .await
        .expect(200);
    env.post(
        &env.a,
        &format!("{upper}/peerings/AzurePrivatePeering/ARPTABLES/Primary"),
    )
    .await
    .expect(202);
    env.get(&env.a, &format!("{upper}/STATS")).await.expect(200);
    // Query key casing for api-version is as ARM sends it; path casing is free.
    let sp = env
        .get(
            &env.a,
            &format!(
                "/subscriptions/{SUB_A}/providers/microsoft.network/EXPRESSROUTESERVICEPROVIDERS"
            ),
        )
        .await;
    sp.expect(200);
    env.delete(&env.a, &upper).await.expect(202);
    env.get(&env.a, &lower).await.expect(404);
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let env = Env::new();
    env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    for path in [
        format!("/subscriptions/{SUB_A}/providers/Microsoft.Compute/virtualMachines"),
        format!(
            "/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Network/vpnGateways/v"
        ),
        format!("{}/unknown", circuit_path(SUB_A, "rg", "er")),
        "/".to_owned(),
        format!("/subscriptions/{SUB_A}/resourcegroups/rg/nothing"),
    ] {
        let r = env.get(&env.a, &path).await;
        r.expect(404);
        assert_eq!(r.code(), "InvalidResourceType", "{path}");
    }
    for (method, path) in [
        ("POST", circuit_path(SUB_A, "rg", "er")),
        (
            "PUT",
            format!("{}/expressRouteCircuits", rg_path(SUB_A, "rg")),
        ),
        (
            "DELETE",
            format!(
                "/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteServiceProviders"
            ),
        ),
        ("PUT", format!("{}/stats", circuit_path(SUB_A, "rg", "er"))),
        (
            "PATCH",
            format!(
                "{}/peerings/AzurePrivatePeering",
                circuit_path(SUB_A, "rg", "er")
            ),
        ),
        (
            "DELETE",
            format!("{}/expressRouteCrossConnections", rg_path(LAB_SUB, LAB_RG)),
        ),
    ] {
        let r = env
            .send(method, &path, &env.admin, Some(&json!({})), &[])
            .await;
        r.expect(405);
        assert_eq!(r.code(), "MethodNotAllowed", "{method} {path}");
    }
}

#[tokio::test]
async fn next_link_paging_carries_the_api_version_and_returns_the_rest() {
    let env = Env::with(Catalog::default(), 2);
    for i in 0..5 {
        env.create_circuit(&env.a, SUB_A, "rg", &format!("er{i}"))
            .await;
    }
    for list in [
        format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteCircuits"),
        format!("{}/expressRouteCircuits", rg_path(SUB_A, "rg")),
        format!(
            "/subscriptions/{LAB_SUB}/providers/Microsoft.Network/expressRouteCrossConnections"
        ),
    ] {
        let token = if list.contains("CrossConnections") {
            &env.lab
        } else {
            &env.a
        };
        for version in ["2024-05-01", API] {
            let mut uri = format!("{list}?api-version={version}");
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let r = env.raw("GET", &uri, Some(token), None, &[]).await;
                r.expect(200);
                let v = r.json();
                pages += 1;
                for item in v["value"].as_array().expect("value") {
                    seen.push(item["id"].as_str().expect("id").to_owned());
                }
                match v.get("nextLink").and_then(Value::as_str) {
                    Some(next) => {
                        assert!(
                            next.starts_with("https://127.0.0.1/")
                                && next.contains(&format!("api-version={version}")),
                            "nextLink {next}"
                        );
                        assert_eq!(v["value"].as_array().expect("value").len(), 2);
                        uri = next.to_owned();
                    }
                    None => break,
                }
                assert!(pages < 10);
            }
            assert_eq!(pages, 3, "{list}");
            assert_eq!(seen.len(), 5, "{list}: {seen:?}");
            let mut dedup = seen.clone();
            dedup.sort();
            dedup.dedup();
            assert_eq!(dedup.len(), 5, "no item twice: {seen:?}");
        }
    }
    // The SDK may percent-encode the query key.
    let r = env
        .raw(
            "GET",
            &format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteCircuits?api-version={API}&%24skiptoken=4"),
            Some(&env.a),
            None,
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(r.json()["value"].as_array().expect("value").len(), 1);
    assert_eq!(r.json()["value"][0]["name"], "er4");
    assert!(r.json().get("nextLink").is_none());
    // The provider catalogue (3 providers) pages too.
    let r = env
        .get(
            &env.a,
            &format!(
                "/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteServiceProviders"
            ),
        )
        .await;
    let next = r.json()["nextLink"].as_str().expect("nextLink").to_owned();
    let rest = env.raw("GET", &next, Some(&env.a), None, &[]).await;
    assert_eq!(rest.json()["value"].as_array().expect("value").len(), 1);
    // Peerings and authorizations of one circuit page as well.
    let circuit = circuit_path(SUB_A, "rg", "er0");
    for i in 0..3 {
        env.put(
            &env.a,
            &format!("{circuit}/authorizations/a{i}"),
            &json!({}),
        )
        .await
        .expect(201);
    }
    let r = env.get(&env.a, &format!("{circuit}/authorizations")).await;
    let next = r.json()["nextLink"].as_str().expect("nextLink").to_owned();
    let rest = env.raw("GET", &next, Some(&env.a), None, &[]).await;
    assert_eq!(rest.json()["value"][0]["name"], "a2");
}

#[tokio::test]
async fn etags_guard_writes_with_412() {
    let env = Env::new();
    let path = circuit_path(SUB_A, "rg", "er");
    // If-None-Match: * creates only when absent.
    env.send(
        "PUT",
        &path,
        &env.a,
        Some(&circuit_body()),
        &[("if-none-match", "*")],
    )
    .await
    .expect(201);
    let etag = env.get(&env.a, &path).await.json()["etag"]
        .as_str()
        .expect("etag")
        .to_owned();
    let body = with(&circuit_body(), "tags", json!({"x": "y"}));
    // Mismatches change nothing.
    env.rejected(
        "PUT",
        &path,
        &env.a,
        Some(&body),
        &[("if-none-match", "*")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    env.rejected(
        "PUT",
        &path,
        &env.a,
        Some(&body),
        &[("if-none-match", etag.as_str())],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    env.rejected(
        "PUT",
        &path,
        &env.a,
        Some(&body),
        &[("if-match", "W/\"stale\"")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    env.rejected(
        "PATCH",
        &path,
        &env.a,
        Some(&json!({"tags": {}})),
        &[("if-match", "W/\"stale\"")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    env.rejected(
        "DELETE",
        &path,
        &env.a,
        None,
        &[("if-match", "W/\"stale\"")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    // If-Match on something that does not exist.
    env.rejected(
        "PUT",
        &circuit_path(SUB_A, "rg", "absent"),
        &env.a,
        Some(&circuit_body()),
        &[("if-match", "*")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    env.get(&env.a, &circuit_path(SUB_A, "rg", "absent"))
        .await
        .expect(404);
    // Children.
    let peering = format!("{path}/peerings/AzurePrivatePeering");
    env.put(&env.a, &peering, &private_peering())
        .await
        .expect(201);
    let petag = env.get(&env.a, &peering).await.json()["etag"]
        .as_str()
        .expect("etag")
        .to_owned();
    env.rejected(
        "PUT",
        &peering,
        &env.a,
        Some(&private_peering()),
        &[("if-match", "W/\"stale\"")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    env.rejected(
        "PUT",
        &peering,
        &env.a,
        Some(&private_peering()),
        &[("if-none-match", "*")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    env.rejected(
        "DELETE",
        &peering,
        &env.a,
        None,
        &[("if-match", "W/\"stale\"")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    let auth = format!("{path}/authorizations/a1");
    env.put(&env.a, &auth, &json!({})).await.expect(201);
    env.rejected(
        "PUT",
        &auth,
        &env.a,
        Some(&json!({})),
        &[("if-none-match", "*")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    env.rejected(
        "DELETE",
        &auth,
        &env.a,
        None,
        &[("if-match", "W/\"stale\"")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    let key = env.get(&env.a, &path).await.json()["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    env.rejected(
        "PUT",
        &cross_path(&key),
        &env.lab,
        Some(&json!({"properties": {"serviceProviderProvisioningState": "Provisioned"}})),
        &[("if-match", "W/\"stale\"")],
        412,
        "PreconditionFailed",
        &path,
    )
    .await;
    // Matching etags (and *) succeed.
    let etag = env.get(&env.a, &path).await.json()["etag"]
        .as_str()
        .expect("etag")
        .to_owned();
    env.send(
        "PUT",
        &peering,
        &env.a,
        Some(&private_peering()),
        &[("if-match", petag.as_str())],
    )
    .await
    .expect(200);
    let etag2 = env.get(&env.a, &path).await.json()["etag"]
        .as_str()
        .expect("etag")
        .to_owned();
    assert_ne!(etag, etag2, "a child's change changes the circuit's etag");
    env.send(
        "PUT",
        &path,
        &env.a,
        Some(&body),
        &[("if-match", etag2.as_str())],
    )
    .await
    .expect(200);
    env.send(
        "PATCH",
        &path,
        &env.a,
        Some(&json!({"tags": {}})),
        &[("if-match", "*")],
    )
    .await
    .expect(200);
    let etag3 = env.get(&env.a, &path).await.json()["etag"]
        .as_str()
        .expect("etag")
        .to_owned();
    env.send(
        "DELETE",
        &path,
        &env.a,
        None,
        &[("if-match", etag3.as_str())],
    )
    .await
    .expect(202);
}

#[tokio::test]
async fn the_shared_key_is_never_echoed() {
    let env = Env::new();
    let circuit = circuit_path(SUB_A, "rg", "er");
    let c = env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    let peering = format!("{circuit}/peerings/AzurePrivatePeering");
    let mut seen: Vec<Resp> = Vec::new();
    let put = env.put(&env.a, &peering, &private_peering()).await;
    put.expect(201);
    for h in ["azure-asyncoperation", "location"] {
        let link = put.header(h).expect("lro");
        seen.push(env.raw("GET", &link, Some(&env.a), None, &[]).await);
    }
    seen.push(put);
    // The key is stored.
    let stored = || {
        env.state()[0]
            .peering("AzurePrivatePeering")
            .expect("peering")
            .shared_key
            .clone()
    };
    assert_eq!(stored().as_deref(), Some(SHARED_KEY));
    // A PUT without sharedKey (GET-modify-PUT) keeps it.
    let mut no_key = private_peering();
    remove(&mut no_key, "properties.sharedKey");
    set(&mut no_key, "properties.peerASN", json!(65002));
    seen.push(env.put(&env.a, &peering, &no_key).await);
    assert_eq!(stored().as_deref(), Some(SHARED_KEY));
    // The provider configures the Microsoft peering with a key too.
    let ms = with(
        &microsoft_peering(),
        "properties.sharedKey",
        json!(SHARED_KEY),
    );
    let cross = cross_path(&key);
    seen.push(
        env.put(&env.lab, &format!("{cross}/peerings/MicrosoftPeering"), &ms)
            .await,
    );
    for (token, path) in [
        (&env.a, peering.clone()),
        (&env.a, format!("{circuit}/peerings")),
        (&env.a, circuit.clone()),
        (
            &env.a,
            format!("{}/expressRouteCircuits", rg_path(SUB_A, "rg")),
        ),
        (
            &env.a,
            format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteCircuits"),
        ),
        (&env.admin, circuit.clone()),
        (&env.lab, cross.clone()),
        (&env.lab, format!("{cross}/peerings")),
        (&env.lab, format!("{cross}/peerings/AzurePrivatePeering")),
        (&env.lab, format!("{cross}/peerings/MicrosoftPeering")),
        (
            &env.lab,
            format!(
                "/subscriptions/{LAB_SUB}/providers/Microsoft.Network/expressRouteCrossConnections"
            ),
        ),
    ] {
        let r = env.get(token, &path).await;
        r.expect(200);
        seen.push(r);
    }
    seen.push(
        env.patch(&env.a, &circuit, &json!({"tags": {"t": "1"}}))
            .await,
    );
    seen.push(env.put(&env.a, &circuit, &circuit_body()).await);
    seen.push(
        env.patch(&env.lab, &cross, &json!({"tags": {"t": "1"}}))
            .await,
    );
    seen.push(
        env.put(
            &env.lab,
            &cross,
            &json!({"properties": {"serviceProviderProvisioningState": "Provisioned"}}),
        )
        .await,
    );
    // A refused PUT does not echo the key it was given either.
    let bad = with(&private_peering(), "properties.vlanId", json!(0));
    seen.push(env.put(&env.a, &peering, &bad).await);
    let bad_key = with(
        &private_peering(),
        "properties.sharedKey",
        json!(format!("{SHARED_KEY}-far-too-long-for-md5")),
    );
    seen.push(env.put(&env.a, &peering, &bad_key).await);
    assert!(seen.len() > 20);
    for r in &seen {
        assert!(
            r.status.is_success() || r.status == 400,
            "{} {}: {}",
            r.method,
            r.uri,
            r.text
        );
        assert!(
            !r.text.contains(SHARED_KEY),
            "{} {} echoed the shared key: {}",
            r.method,
            r.uri,
            r.text
        );
        if r.status.is_success() {
            assert!(!r.text.contains("\"sharedKey\""), "{}: {}", r.uri, r.text);
        }
        for (name, v) in &r.headers {
            assert!(
                !v.to_str().unwrap_or_default().contains(SHARED_KEY),
                "header {name} echoes the key"
            );
        }
    }
    // Sending "" removes it.
    env.put(
        &env.a,
        &peering,
        &with(&private_peering(), "properties.sharedKey", json!("")),
    )
    .await
    .expect(200);
    assert_eq!(stored(), None);
}

// ===== authentication =====

#[tokio::test]
async fn requests_without_a_valid_token_answer_401() {
    let env = Env::new();
    let path = circuit_path(SUB_A, "rg", "er");
    env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let (id, revoked) = env.token(Principal::Customer {
        subscriptions: vec![SUB_A.into()],
    });
    env.get(&revoked, &path).await.expect(200);
    assert!(
        env.service
            .with_store(|s| s.revoke_token(&id))
            .expect("revoke")
    );
    let before = env.state();
    let body = with(&circuit_body(), "tags", json!({"hacked": "yes"})).to_string();
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no token", vec![]),
        (
            "revoked",
            vec![("authorization", format!("Bearer {revoked}"))],
        ),
        (
            "garbage",
            vec![("authorization", "Bearer cw_not-a-token".to_owned())],
        ),
        ("empty", vec![("authorization", "Bearer ".to_owned())]),
        ("basic", vec![("authorization", format!("Basic {}", env.a))]),
        ("bare secret", vec![("authorization", env.a.clone())]),
    ];
    for (what, headers) in &cases {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for (method, p, b) in [
            ("GET", with_api(&path), None),
            ("PUT", with_api(&path), Some(body.as_str())),
            ("DELETE", with_api(&path), None),
            (
                "GET",
                with_api(&format!(
                    "/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteServiceProviders"
                )),
                None,
            ),
            ("GET", format!("{path}?api-version=bogus"), None),
            (
                "GET",
                with_api(&format!(
                    "/subscriptions/{SUB_A}/providers/Microsoft.Compute/x"
                )),
                None,
            ),
        ] {
            let r = env.raw(method, &p, None, b, &h).await;
            assert_eq!(r.status, 401, "{what}: {method} {p}: {}", r.text);
            assert_eq!(r.code(), "AuthenticationFailed", "{what}");
        }
    }
    assert_eq!(env.state(), before);
    // "bearer" in any case works.
    let r = env
        .raw(
            "GET",
            &with_api(&path),
            None,
            None,
            &[("authorization", &format!("bearer {}", env.a))],
        )
        .await;
    r.expect(200);
}

// ===== tenant isolation =====

#[tokio::test]
async fn another_customers_circuit_looks_missing() {
    let env = Env::new();
    let path = circuit_path(SUB_B, "rg", "er");
    let c = env.create_circuit(&env.b, SUB_B, "rg", "er").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    env.put(
        &env.b,
        &format!("{path}/peerings/AzurePrivatePeering"),
        &private_peering(),
    )
    .await
    .expect(201);
    env.put(&env.b, &format!("{path}/authorizations/auth"), &json!({}))
        .await
        .expect(201);
    let before = env.state();
    let b_view = env.get(&env.b, &path).await.text;

    // GET: 404 with exactly the body of a circuit that does not exist.
    let foreign = env.get(&env.a, &path).await;
    let missing = env
        .get(&env.b, &circuit_path(SUB_B, "other-rg", "er"))
        .await;
    missing.expect(404);
    assert_eq!(foreign.status, missing.status);
    assert_eq!(foreign.code(), "ResourceNotFound");
    assert_eq!(foreign.text, missing.text, "identical to a missing circuit");
    assert_eq!(
        foreign.header("content-type"),
        missing.header("content-type")
    );
    // Children likewise.
    for child in [
        "/peerings",
        "/peerings/AzurePrivatePeering",
        "/peerings/AzurePrivatePeering/stats",
        "/authorizations",
        "/authorizations/auth",
        "/stats",
    ] {
        let f = env.get(&env.a, &format!("{path}{child}")).await;
        let m = env
            .get(
                &env.b,
                &format!("{}{child}", circuit_path(SUB_B, "other-rg", "er")),
            )
            .await;
        assert_eq!(f.status, 404, "{child}: {}", f.text);
        assert_eq!(f.text, m.text, "{child}");
    }
    let f = env
        .post(
            &env.a,
            &format!("{path}/peerings/AzurePrivatePeering/arpTables/primary"),
        )
        .await;
    f.expect(404);
    // Lists: empty.
    for list in [
        format!("{}/expressRouteCircuits", rg_path(SUB_B, "rg")),
        format!("/subscriptions/{SUB_B}/providers/Microsoft.Network/expressRouteCircuits"),
    ] {
        let r = env.get(&env.a, &list).await;
        r.expect(200);
        assert_eq!(r.json(), json!({"value": []}), "{list}");
    }
    // DELETE: 204 as if missing, and B's circuit is still there.
    for child in ["", "/peerings/AzurePrivatePeering", "/authorizations/auth"] {
        env.delete(&env.a, &format!("{path}{child}"))
            .await
            .expect(204);
    }
    // PUT and PATCH: 403.
    for (method, child, body) in [
        ("PUT", "", circuit_body()),
        ("PATCH", "", json!({"tags": {}})),
        ("PUT", "/peerings/AzurePrivatePeering", private_peering()),
        ("PUT", "/authorizations/auth", json!({})),
        ("PUT", "/authorizations/new", json!({})),
    ] {
        let r = env
            .send(method, &format!("{path}{child}"), &env.a, Some(&body), &[])
            .await;
        assert_eq!(r.status, 403, "{method} {child}: {}", r.text);
        assert_eq!(r.code(), "AuthorizationFailed");
    }
    // Creating in someone else's subscription is refused the same way.
    let r = env
        .put(&env.a, &circuit_path(SUB_B, "rg", "new"), &circuit_body())
        .await;
    r.expect(403);
    // Customers see no cross-connections, and cannot change one.
    let cross = cross_path(&key);
    let r = env.get(&env.a, &cross).await;
    r.expect(404);
    assert_eq!(r.code(), "ResourceNotFound");
    env.get(&env.b, &cross).await.expect(404);
    env.get(&env.b, &format!("{cross}/peerings"))
        .await
        .expect(404);
    let r = env
        .put(
            &env.b,
            &cross,
            &json!({"properties": {"serviceProviderProvisioningState": "Provisioned"}}),
        )
        .await;
    r.expect(404);
    let r = env
        .patch(&env.b, &cross, &json!({"tags": {"x": "y"}}))
        .await;
    r.expect(404);
    env.put(
        &env.b,
        &format!("{cross}/peerings/MicrosoftPeering"),
        &microsoft_peering(),
    )
    .await
    .expect(404);
    for list in [
        format!(
            "/subscriptions/{LAB_SUB}/providers/Microsoft.Network/expressRouteCrossConnections"
        ),
        format!("/subscriptions/{SUB_B}/providers/Microsoft.Network/expressRouteCrossConnections"),
    ] {
        let r = env.get(&env.b, &list).await;
        r.expect(200);
        assert_eq!(r.json(), json!({"value": []}));
    }

    assert_eq!(env.state(), before, "nothing changed");
    assert_eq!(env.get(&env.b, &path).await.text, b_view);
    // A customer of both subscriptions sees both.
    let (_, both) = env.token(Principal::Customer {
        subscriptions: vec![SUB_A.into(), SUB_B.into()],
    });
    env.get(&both, &path).await.expect(200);
    env.get(&env.admin, &path).await.expect(200);
}

#[tokio::test]
async fn providers_see_only_their_own_cross_connections() {
    let env = Env::new();
    let c = env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    let circuit = circuit_path(SUB_A, "rg", "er");
    let mut eq_body = circuit_body();
    set(
        &mut eq_body,
        "properties.serviceProviderProperties.serviceProviderName",
        json!("Equinix"),
    );
    set(
        &mut eq_body,
        "properties.serviceProviderProperties.peeringLocation",
        json!("London"),
    );
    let eq = env
        .put(&env.a, &circuit_path(SUB_A, "rg", "eq"), &eq_body)
        .await;
    eq.expect(201);
    let eq_key = eq.json()["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    let before = env.state();

    // Equinix sees its own, not the lab's.
    let eq_cross = format!(
        "{}/expressRouteCrossConnections/{eq_key}",
        rg_path(EQUINIX_SUB, "CrossConnection-London")
    );
    env.get(&env.equinix, &eq_cross).await.expect(200);
    let lab_cross = cross_path(&key);
    let foreign = env.get(&env.equinix, &lab_cross).await;
    foreign.expect(404);
    assert_eq!(foreign.code(), "ResourceNotFound");
    // Even under its own subscription, with the lab circuit's key.
    let sneaky = format!(
        "{}/expressRouteCrossConnections/{key}",
        rg_path(EQUINIX_SUB, LAB_RG)
    );
    env.get(&env.equinix, &sneaky).await.expect(404);
    // The same body as a key that does not exist.
    let absent = env
        .get(
            &env.equinix,
            &cross_path("12345678-1234-1234-1234-123456789012"),
        )
        .await;
    let absent_same_name = env
        .get(
            &env.lab,
            &format!(
                "{}/expressRouteCrossConnections/{key}",
                rg_path(LAB_SUB, "CrossConnection-Nowhere")
            ),
        )
        .await;
    absent.expect(404);
    assert_eq!(foreign.text, absent_same_name.text);
    let r = env
        .put(
            &env.equinix,
            &lab_cross,
            &json!({"properties": {"serviceProviderProvisioningState": "Provisioned"}}),
        )
        .await;
    r.expect(404);
    env.put(
        &env.equinix,
        &format!("{lab_cross}/peerings/AzurePrivatePeering"),
        &private_peering(),
    )
    .await
    .expect(404);
    env.patch(&env.equinix, &lab_cross, &json!({"tags": {}}))
        .await
        .expect(404);
    env.delete(
        &env.equinix,
        &format!("{lab_cross}/peerings/AzurePrivatePeering"),
    )
    .await
    .expect(204);
    for list in [
        format!(
            "/subscriptions/{LAB_SUB}/providers/Microsoft.Network/expressRouteCrossConnections"
        ),
        format!("{}/expressRouteCrossConnections", rg_path(LAB_SUB, LAB_RG)),
    ] {
        assert_eq!(
            env.get(&env.equinix, &list).await.json(),
            json!({"value": []})
        );
    }
    let own = env
        .get(&env.equinix, &format!("/subscriptions/{EQUINIX_SUB}/providers/Microsoft.Network/expressRouteCrossConnections"))
        .await
        .json();
    assert_eq!(own["value"].as_array().expect("value").len(), 1);
    assert_eq!(own["value"][0]["name"], eq_key.as_str());
    // Providers see no customer circuits.
    let r = env.get(&env.lab, &circuit).await;
    r.expect(404);
    assert_eq!(
        env.get(
            &env.lab,
            &format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/expressRouteCircuits")
        )
        .await
        .json(),
        json!({"value": []})
    );
    env.put(&env.lab, &circuit, &circuit_body())
        .await
        .expect(403);
    env.delete(&env.lab, &circuit).await.expect(204);
    assert_eq!(env.state(), before, "nothing changed");
    // A provider's operation cannot be polled by another provider.
    let r = env
        .put(
            &env.lab,
            &lab_cross,
            &json!({"properties": {"serviceProviderProvisioningState": "Provisioning"}}),
        )
        .await;
    r.expect(200);
    let op = r.header("azure-asyncoperation").expect("async");
    env.raw("GET", &op, Some(&env.lab), None, &[])
        .await
        .expect(200);
    env.raw("GET", &op, Some(&env.equinix), None, &[])
        .await
        .expect(404);
    env.raw("GET", &op, Some(&env.a), None, &[])
        .await
        .expect(404);
}
