//! `publicIPAddresses`: Standard/Static/IPv4 addresses from the operator's pool, their
//! rules, the pool running out, concurrent creates never sharing an address, and the link
//! to the gateway whose IP configuration uses one.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::{Value, json};

const RG: &str = "pip-rg";

fn ip_path(sub: &str, name: &str) -> String {
    format!("{}/publicIPAddresses/{name}", rg_path(sub, RG))
}

fn ip_body() -> Value {
    json!({
        "location": "westeurope",
        "sku": {"name": "Standard"},
        "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"}
    })
}

fn dump(env: &Env) -> Vec<(String, String)> {
    env.service
        .with_store(|s| control::store::Read::dump(s))
        .expect("resources")
}

async fn refused(env: &Env, method: &str, path: &str, body: Option<&Value>, code: &str) {
    let before = dump(env);
    let r = env.send(method, path, &env.a, body, &[]).await;
    assert_eq!(r.status.as_u16(), 400, "{method} {path}: {}", r.text);
    assert_eq!(r.code(), code, "{method} {path}: {}", r.text);
    assert!(
        !r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    assert_eq!(
        dump(env),
        before,
        "refused {method} {path} changed the store"
    );
}

fn address(v: &Value) -> String {
    v["properties"]["ipAddress"]
        .as_str()
        .expect("an allocated address")
        .to_owned()
}

#[tokio::test]
async fn a_public_ip_gets_the_lowest_free_pool_address_and_keeps_it() {
    let env = Env::new();
    let r = env.put(&env.a, &ip_path(SUB_A, "ip1"), &ip_body()).await;
    r.expect(201);
    assert!(r.header("azure-asyncoperation").is_some());
    let ip = r.json();
    assert_eq!(ip["type"], "Microsoft.Network/publicIPAddresses");
    assert_eq!(ip["sku"], json!({"name": "Standard", "tier": "Regional"}));
    let p = &ip["properties"];
    assert_eq!(p["publicIPAllocationMethod"], "Static");
    assert_eq!(p["publicIPAddressVersion"], "IPv4");
    assert_eq!(p["idleTimeoutInMinutes"], 4);
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(p["ipTags"], json!([]));
    assert!(p.get("ipConfiguration").is_none(), "no gateway uses it yet");
    assert!(ip.get("zones").is_none());
    assert_eq!(address(&ip), "198.51.100.1");

    // The next one takes the next address, zones and timeout as given.
    let mut zonal = ip_body();
    zonal["zones"] = json!(["3", "1", "2"]);
    zonal["properties"]["idleTimeoutInMinutes"] = json!(30);
    let ip2 = env.put(&env.a, &ip_path(SUB_A, "ip2"), &zonal).await;
    ip2.expect(201);
    let ip2 = ip2.json();
    assert_eq!(address(&ip2), "198.51.100.2");
    assert_eq!(ip2["zones"], json!(["1", "2", "3"]));
    assert_eq!(ip2["properties"]["idleTimeoutInMinutes"], 30);

    // An update keeps the address; PATCH replaces the tags.
    let mut tagged = ip_body();
    tagged["tags"] = json!({"env": "lab"});
    let u = env.put(&env.a, &ip_path(SUB_A, "ip1"), &tagged).await;
    u.expect(200);
    assert_eq!(address(&u.json()), "198.51.100.1");
    let pt = env
        .patch(&env.a, &ip_path(SUB_A, "ip1"), &json!({"tags": {"a": "b"}}))
        .await;
    pt.expect(200);
    assert_eq!(pt.json()["tags"], json!({"a": "b"}));

    // Lists: the group's and the subscription's; another tenant sees none.
    let rg_list = env
        .get(&env.a, &format!("{}/publicIPAddresses", rg_path(SUB_A, RG)))
        .await
        .json();
    assert_eq!(rg_list["value"].as_array().map(Vec::len), Some(2));
    let sub_list = env
        .get(
            &env.a,
            &format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/publicIPAddresses"),
        )
        .await
        .json();
    assert_eq!(sub_list["value"][1]["name"], "ip2");
    env.get(&env.b, &ip_path(SUB_A, "ip1")).await.expect(404);

    // Deleted, its address is free again and goes to the next one created.
    env.delete(&env.a, &ip_path(SUB_A, "ip1")).await.expect(202);
    env.get(&env.a, &ip_path(SUB_A, "ip1")).await.expect(404);
    let ip3 = env.put(&env.a, &ip_path(SUB_A, "ip3"), &ip_body()).await;
    ip3.expect(201);
    assert_eq!(address(&ip3.json()), "198.51.100.1");
    env.delete(&env.a, &ip_path(SUB_A, "ip1")).await.expect(204);
}

#[tokio::test]
async fn public_ip_rules_refuse_and_change_nothing() {
    let env = Env::new();
    let path = ip_path(SUB_A, "ip1");
    let cases = [
        (
            with(&ip_body(), "sku.name", json!("Basic")),
            "BasicSkuPublicIpAddressNotSupported",
        ),
        (
            with(
                &ip_body(),
                "properties.publicIPAllocationMethod",
                json!("Dynamic"),
            ),
            "StandardSkuPublicIPAddressesMustBeStatic",
        ),
        (
            with(
                &ip_body(),
                "properties.publicIPAddressVersion",
                json!("IPv6"),
            ),
            "InvalidRequestFormat",
        ),
        (
            with(&ip_body(), "properties.idleTimeoutInMinutes", json!(3)),
            "PublicIPIdleTimeoutIsOutOfRange",
        ),
        (
            with(&ip_body(), "properties.idleTimeoutInMinutes", json!(31)),
            "PublicIPIdleTimeoutIsOutOfRange",
        ),
        (
            with(&ip_body(), "zones", json!(["4"])),
            "InvalidRequestFormat",
        ),
        (
            with(&ip_body(), "sku.tier", json!("Global")),
            "InvalidRequestFormat",
        ),
        (
            with(&ip_body(), "location", json!("atlantis")),
            "LocationNotAvailableForResourceType",
        ),
    ];
    for (body, code) in &cases {
        refused(&env, "PUT", &path, Some(body), code).await;
    }
    env.put(&env.a, &path, &ip_body()).await.expect(201);
    refused(
        &env,
        "PUT",
        &path,
        Some(&with(&ip_body(), "zones", json!(["1"]))),
        "ZonesCannotBeChanged",
    )
    .await;
    refused(
        &env,
        "PUT",
        &path,
        Some(&with(&ip_body(), "location", json!("northeurope"))),
        "CannotChangeLocation",
    )
    .await;
}

#[tokio::test]
async fn an_exhausted_pool_is_a_clear_error() {
    let env = Env::new();
    // 198.51.100.0/24 holds 254 host addresses.
    for i in 0..254 {
        env.put(&env.a, &ip_path(SUB_A, &format!("ip{i}")), &ip_body())
            .await
            .expect(201);
    }
    refused(
        &env,
        "PUT",
        &ip_path(SUB_A, "one-too-many"),
        Some(&ip_body()),
        "PublicIPCountLimitReached",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_never_share_an_address() {
    let env = Env::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let env = env.clone();
        tasks.spawn(async move {
            let r = env
                .put(&env.a, &ip_path(SUB_A, &format!("c{i}")), &ip_body())
                .await;
            r.expect(201);
            address(&r.json())
        });
    }
    let mut seen = HashSet::new();
    while let Some(a) = tasks.join_next().await {
        assert!(
            seen.insert(a.expect("task")),
            "an address was handed out twice"
        );
    }
    assert_eq!(seen.len(), 40);
}

fn vnet_with_gateway_subnet() -> Value {
    json!({
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "GatewaySubnet", "properties": {"addressPrefix": "10.1.255.0/27"}}]
        }
    })
}

fn gateway_body(vnet: &str, public_ip: &str) -> Value {
    json!({
        "location": "westeurope",
        "properties": {
            "gatewayType": "ExpressRoute",
            "sku": {"name": "ErGw1AZ", "tier": "ErGw1AZ"},
            "ipConfigurations": [{
                "name": "default",
                "properties": {
                    "subnet": {"id": format!("{}/virtualNetworks/{vnet}/subnets/GatewaySubnet", rg_path(SUB_A, RG))},
                    "publicIPAddress": {"id": public_ip}
                }
            }]
        }
    })
}

#[tokio::test]
async fn a_gateway_shows_its_public_ip_which_cannot_be_deleted_while_in_use() {
    let env = Env::new();
    for v in ["v1", "v2"] {
        env.put(
            &env.a,
            &format!("{}/virtualNetworks/{v}", rg_path(SUB_A, RG)),
            &vnet_with_gateway_subnet(),
        )
        .await
        .expect(201);
    }
    let ip = env.put(&env.a, &ip_path(SUB_A, "gw-ip"), &ip_body()).await;
    ip.expect(201);
    let ip_id = ip.json()["id"].as_str().expect("id").to_owned();
    let gw1 = format!("{}/virtualNetworkGateways/gw1", rg_path(SUB_A, RG));
    let gw2 = format!("{}/virtualNetworkGateways/gw2", rg_path(SUB_A, RG));

    // A public IP that does not exist (or is another tenant's) is refused.
    refused(
        &env,
        "PUT",
        &gw1,
        Some(&gateway_body("v1", &ip_path(SUB_A, "nope"))),
        "InvalidResourceReference",
    )
    .await;
    refused(
        &env,
        "PUT",
        &gw1,
        Some(&gateway_body("v1", &ip_path(SUB_B, "gw-ip"))),
        "InvalidResourceReference",
    )
    .await;

    let g = env
        .put(&env.a, &gw1, &gateway_body("v1", &ip_id.to_uppercase()))
        .await;
    g.expect(201);
    let g = g.json();
    let ipc = &g["properties"]["ipConfigurations"][0];
    assert_eq!(ipc["properties"]["publicIPAddress"]["id"], ip_id.as_str());
    let shown = env.get(&env.a, &ip_path(SUB_A, "gw-ip")).await.json();
    assert_eq!(shown["properties"]["ipConfiguration"]["id"], ipc["id"]);

    // One gateway per address; in use, it cannot go.
    refused(
        &env,
        "PUT",
        &gw2,
        Some(&gateway_body("v2", &ip_id)),
        "PublicIPAddressInUse",
    )
    .await;
    refused(
        &env,
        "DELETE",
        &ip_path(SUB_A, "gw-ip"),
        None,
        "InUsePublicIpAddressCannotBeDeleted",
    )
    .await;
    // The gateway's own update keeps it.
    env.put(&env.a, &gw1, &gateway_body("v1", &ip_id))
        .await
        .expect(200);

    // Once the gateway is gone, so may the address be.
    env.delete(&env.a, &gw1).await.expect(202);
    let freed = env.get(&env.a, &ip_path(SUB_A, "gw-ip")).await.json();
    assert!(freed["properties"].get("ipConfiguration").is_none());
    env.delete(&env.a, &ip_path(SUB_A, "gw-ip"))
        .await
        .expect(202);
}
