//! Generic ARM access: `/subscriptions/{s}/resources` and a resource group's `/resources`
//! list our resources as `GenericResource` items, filtered by type and name and paged by
//! the store's index; `az resource show`'s path with an empty segment reaches the typed GET.

mod common;

use common::*;
use control::catalog::Catalog;
use serde_json::{Value, json};

fn ip_body() -> Value {
    json!({"location": "westeurope", "sku": {"name": "Standard"},
           "properties": {"publicIPAllocationMethod": "Static"}})
}

fn vnet_body() -> Value {
    json!({"location": "westeurope", "tags": {"team": "net"},
           "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}})
}

async fn list(env: &Env, token: &str, path: &str) -> Value {
    let r = env.get(token, path).await;
    r.expect(200);
    r.json()
}

fn ids(v: &Value) -> Vec<String> {
    v["value"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn resources_list_every_type_served_with_filters() {
    let env = Env::new();
    let circuit = env.create_circuit(&env.a, SUB_A, "rg1", "er1").await;
    env.put(
        &env.a,
        &format!("{}/virtualNetworks/v1", rg_path(SUB_A, "rg2")),
        &vnet_body(),
    )
    .await
    .expect(201);
    env.put(
        &env.a,
        &format!("{}/publicIPAddresses/ip1", rg_path(SUB_A, "rg2")),
        &ip_body(),
    )
    .await
    .expect(201);
    env.create_circuit(&env.b, SUB_B, "rg1", "theirs").await;

    let all = list(&env, &env.a, &format!("/subscriptions/{SUB_A}/resources")).await;
    let items = all["value"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{all}");
    let er = &items[0];
    assert_eq!(er["id"], circuit["id"]);
    assert_eq!(er["name"], "er1");
    assert_eq!(er["type"], "Microsoft.Network/expressRouteCircuits");
    assert_eq!(er["location"], "westeurope");
    assert_eq!(er["tags"], json!({"env": "test"}));
    assert_eq!(er["sku"]["name"], circuit["sku"]["name"]);
    assert_eq!(er["sku"]["tier"], circuit["sku"]["tier"]);
    assert_eq!(items[1]["type"], "Microsoft.Network/virtualNetworks");
    assert!(items[1].get("sku").is_none());
    assert_eq!(
        items[2]["sku"],
        json!({"name": "Standard", "tier": "Regional"})
    );

    // A resource group's, as Terraform asks before deleting one ($expand and $top taken).
    let rg2 = list(
        &env,
        &env.a,
        &format!(
            "/subscriptions/{SUB_A}/resourceGroups/rg2/resources?$expand=provisioningState&$top=10"
        ),
    )
    .await;
    assert_eq!(rg2["value"].as_array().map(Vec::len), Some(2));
    let empty = list(
        &env,
        &env.a,
        &format!("/subscriptions/{SUB_A}/resourceGroups/none/resources"),
    )
    .await;
    assert_eq!(empty, json!({"value": []}));

    // $filter by type and name, as `az resource list --resource-type` / `-n` send it.
    let by_type = list(
        &env,
        &env.a,
        &format!("/subscriptions/{SUB_A}/resources?$filter=resourceType%20eq%20%27Microsoft.Network%2FvirtualNetworks%27"),
    )
    .await;
    assert_eq!(by_type["value"][0]["name"], "v1");
    assert_eq!(by_type["value"].as_array().map(Vec::len), Some(1));
    let by_name = list(
        &env,
        &env.a,
        &format!("/subscriptions/{SUB_A}/resources?$filter=name+eq+%27ER1%27+and+resourceType+eq+%27microsoft.network%2Fexpressroutecircuits%27"),
    )
    .await;
    assert_eq!(ids(&by_name), [circuit["id"].as_str().expect("id")]);
    let other_ns = list(
        &env,
        &env.a,
        &format!("/subscriptions/{SUB_A}/resources?$filter=resourceType+eq+%27Microsoft.Compute%2FvirtualMachines%27"),
    )
    .await;
    assert_eq!(other_ns, json!({"value": []}));
    let bad = env
        .get(
            &env.a,
            &format!("/subscriptions/{SUB_A}/resources?$filter=tagName+eq+%27x%27"),
        )
        .await;
    bad.expect(400);
    assert_eq!(bad.code(), "InvalidFilterInQueryString");

    // Another tenant lists nothing of ours.
    let theirs = list(&env, &env.b, &format!("/subscriptions/{SUB_A}/resources")).await;
    assert_eq!(theirs, json!({"value": []}));
}

#[tokio::test]
async fn resources_page_by_nextlink_with_the_filter_kept() {
    let env = Env::with(Catalog::default(), 2);
    for i in 0..5 {
        env.put(
            &env.a,
            &format!("{}/publicIPAddresses/ip{i}", rg_path(SUB_A, "rg")),
            &ip_body(),
        )
        .await
        .expect(201);
    }
    env.put(
        &env.a,
        &format!("{}/virtualNetworks/v1", rg_path(SUB_A, "rg")),
        &vnet_body(),
    )
    .await
    .expect(201);
    let mut url = with_api(&format!(
        "/subscriptions/{SUB_A}/resources?$filter=resourceType+eq+%27Microsoft.Network%2FpublicIPAddresses%27"
    ));
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let r = env.raw("GET", &url, Some(&env.a), None, &[]).await;
        r.expect(200);
        let page = r.json();
        pages += 1;
        assert!(page["value"].as_array().is_some_and(|v| v.len() <= 2));
        names.extend(
            page["value"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["name"].clone()),
        );
        match page["nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(
        names,
        ["ip0", "ip1", "ip2", "ip3", "ip4"],
        "the filter holds on every page"
    );
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn az_resource_show_reaches_a_circuit_through_an_empty_segment() {
    let env = Env::new();
    let circuit = env.create_circuit(&env.a, SUB_A, "rg1", "er1").await;
    // `az resource show -g rg1 -n er1 --resource-type Microsoft.Network/expressRouteCircuits`
    let path = format!(
        "/subscriptions/{SUB_A}/resourceGroups/rg1/providers/Microsoft.Network//expressRouteCircuits/er1"
    );
    let r = env.get(&env.a, &path).await;
    r.expect(200);
    assert_eq!(r.json(), circuit);
}
