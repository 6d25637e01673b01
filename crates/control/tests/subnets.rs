//! Subnets as resources of their own (`virtualNetworks/{v}/subnets/{s}`): create, update and
//! delete one without rewriting the network, the layout rules, the GatewaySubnet rules while
//! a gateway uses it, and what a network PUT that leaves `subnets` out does.

mod common;

use common::*;
use serde_json::{Value, json};

const RG: &str = "net-rg";

fn vnet_path(sub: &str, name: &str) -> String {
    format!("{}/virtualNetworks/{name}", rg_path(sub, RG))
}

fn subnet_path(sub: &str, vnet: &str, name: &str) -> String {
    format!("{}/subnets/{name}", vnet_path(sub, vnet))
}

fn vnet_only() -> Value {
    json!({
        "location": "westeurope",
        "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}}
    })
}

fn subnet(prefix: &str) -> Value {
    json!({"properties": {"addressPrefix": prefix}})
}

fn gateway(sub: &str, vnet: &str) -> Value {
    json!({
        "location": "westeurope",
        "properties": {
            "gatewayType": "ExpressRoute",
            "sku": {"name": "Standard", "tier": "Standard"},
            "ipConfigurations": [{
                "name": "gwipconf",
                "properties": {"subnet": {"id": subnet_path(sub, vnet, "GatewaySubnet")}}
            }]
        }
    })
}

fn dump(env: &Env) -> Vec<(String, String)> {
    env.service
        .with_store(|s| control::store::Read::dump(s))
        .expect("resources")
}

/// A request refused with `status`/`code` that leaves every stored resource as it was.
async fn refused(
    env: &Env,
    method: &str,
    path: &str,
    body: Option<&Value>,
    status: u16,
    code: &str,
) {
    let before = dump(env);
    let r = env.send(method, path, &env.a, body, &[]).await;
    assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text);
    assert_eq!(r.code(), code, "{method} {path}: {}", r.text);
    assert_eq!(
        dump(env),
        before,
        "refused {method} {path} changed the store"
    );
}

fn names(list: &Value) -> Vec<String> {
    list["value"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn a_subnet_is_created_updated_and_deleted_on_its_own() {
    let env = Env::new();
    env.put(&env.a, &vnet_path(SUB_A, "v1"), &vnet_only())
        .await
        .expect(201);
    let path = subnet_path(SUB_A, "v1", "app");

    let r = env.put(&env.a, &path, &subnet("10.1.1.0/24")).await;
    r.expect(201);
    assert!(
        r.header("azure-asyncoperation").is_some(),
        "a subnet PUT is long-running as on Azure"
    );
    let s = r.json();
    assert_eq!(s["id"], format!("{}/subnets/app", vnet_id(SUB_A, "v1")));
    assert_eq!(s["type"], "Microsoft.Network/virtualNetworks/subnets");
    let props = &s["properties"];
    assert_eq!(props["addressPrefix"], "10.1.1.0/24");
    assert!(props.get("addressPrefixes").is_none());
    assert_eq!(props["provisioningState"], "Succeeded");
    assert_eq!(props["privateEndpointNetworkPolicies"], "Disabled");
    assert_eq!(props["privateLinkServiceNetworkPolicies"], "Enabled");
    assert_eq!(props["delegations"], json!([]));
    assert_eq!(props["serviceEndpoints"], json!([]));
    let etag = s["etag"].as_str().expect("etag").to_owned();

    // The network shows it, and GET answers the same body.
    let v = env.get(&env.a, &vnet_path(SUB_A, "v1")).await.json();
    assert_eq!(v["properties"]["subnets"][0], s);
    assert_eq!(env.get(&env.a, &path).await.json(), s);

    // The same PUT again: 200, nothing changed, same etag.
    let again = env.put(&env.a, &path, &subnet("10.1.1.0/24")).await;
    again.expect(200);
    assert_eq!(again.json()["etag"], etag.as_str());

    // A second subnet given as addressPrefixes answers the same way, with its policies.
    let r = env
        .put(
            &env.a,
            &subnet_path(SUB_A, "v1", "data"),
            &json!({"properties": {
                "addressPrefixes": ["10.1.2.0/24", "10.1.3.0/24"],
                "privateEndpointNetworkPolicies": "enabled",
                "privateLinkServiceNetworkPolicies": "Disabled",
                "delegations": [],
                "serviceEndpoints": []
            }}),
        )
        .await;
    r.expect(201);
    let d = r.json();
    assert_eq!(
        d["properties"]["addressPrefixes"],
        json!(["10.1.2.0/24", "10.1.3.0/24"])
    );
    assert!(d["properties"].get("addressPrefix").is_none());
    assert_eq!(d["properties"]["privateEndpointNetworkPolicies"], "Enabled");
    assert_eq!(
        d["properties"]["privateLinkServiceNetworkPolicies"],
        "Disabled"
    );
    let list = env
        .get(&env.a, &format!("{}/subnets", vnet_path(SUB_A, "v1")))
        .await
        .json();
    assert_eq!(names(&list), ["app", "data"]);

    // An update: new prefix, new etag; a stale If-Match is refused.
    let r = env.put(&env.a, &path, &subnet("10.1.4.0/24")).await;
    r.expect(200);
    assert_ne!(r.json()["etag"], etag.as_str());
    let stale = env
        .send(
            "PUT",
            &path,
            &env.a,
            Some(&subnet("10.1.5.0/24")),
            &[("if-match", &etag)],
        )
        .await;
    stale.expect(412);

    // Delete: 202, gone from the network; a second delete is 204.
    env.delete(&env.a, &path).await.expect(202);
    env.get(&env.a, &path).await.expect(404);
    let v = env.get(&env.a, &vnet_path(SUB_A, "v1")).await.json();
    assert_eq!(v["properties"]["subnets"].as_array().map(Vec::len), Some(1));
    env.delete(&env.a, &path).await.expect(204);
}

fn vnet_id(sub: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/{name}"
    )
}

#[tokio::test]
async fn subnet_rules_refuse_and_change_nothing() {
    let env = Env::new();
    env.put(&env.a, &vnet_path(SUB_A, "v1"), &vnet_only())
        .await
        .expect(201);
    env.put(
        &env.a,
        &subnet_path(SUB_A, "v1", "app"),
        &subnet("10.1.1.0/24"),
    )
    .await
    .expect(201);
    let new = subnet_path(SUB_A, "v1", "new");
    let cases: [(Value, &str); 7] = [
        (subnet("10.2.0.0/24"), "NetcfgSubnetRangeOutsideVnet"),
        (subnet("10.1.1.128/25"), "NetcfgSubnetRangesOverlap"),
        (subnet("10.1.1.1/24"), "InvalidAddressPrefixFormat"),
        (subnet("ten"), "InvalidAddressPrefixFormat"),
        (json!({"properties": {}}), "InvalidRequestFormat"),
        (
            json!({"properties": {"addressPrefix": "10.1.9.0/24", "delegations": [{"name": "d"}]}}),
            "SubnetPropertyNotSupported",
        ),
        (
            json!({"properties": {"addressPrefix": "10.1.9.0/24", "privateLinkServiceNetworkPolicies": "Sometimes"}}),
            "InvalidRequestFormat",
        ),
    ];
    for (body, code) in &cases {
        refused(&env, "PUT", &new, Some(body), 400, code).await;
    }
    // A subnet of a network that does not exist, or of another tenant's, reads as missing.
    refused(
        &env,
        "PUT",
        &subnet_path(SUB_A, "nope", "app"),
        Some(&subnet("10.1.1.0/24")),
        404,
        "ResourceNotFound",
    )
    .await;
    let theirs = subnet_path(SUB_A, "v1", "app");
    let r = env.get(&env.b, &theirs).await;
    r.expect(404);
    let r = env
        .send("PUT", &theirs, &env.b, Some(&subnet("10.1.1.0/24")), &[])
        .await;
    r.expect(403);
    let before = dump(&env);
    env.delete(&env.b, &theirs).await.expect(204);
    assert_eq!(
        dump(&env),
        before,
        "another tenant's delete changes nothing"
    );
}

#[tokio::test]
async fn the_gateway_subnet_cannot_be_removed_or_changed_while_a_gateway_uses_it() {
    let env = Env::new();
    env.put(&env.a, &vnet_path(SUB_A, "v1"), &vnet_only())
        .await
        .expect(201);
    let gs = subnet_path(SUB_A, "v1", "GatewaySubnet");
    env.put(&env.a, &gs, &subnet("10.1.255.0/27"))
        .await
        .expect(201);
    let gw = env
        .put(
            &env.a,
            &format!("{}/virtualNetworkGateways/gw1", rg_path(SUB_A, RG)),
            &gateway(SUB_A, "v1"),
        )
        .await;
    gw.expect(201);
    let ipc = gw.json()["properties"]["ipConfigurations"][0]["id"].clone();
    let s = env.get(&env.a, &gs).await.json();
    assert_eq!(s["properties"]["ipConfigurations"], json!([{"id": ipc}]));

    refused(&env, "DELETE", &gs, None, 400, "InUseSubnetCannotBeDeleted").await;
    refused(
        &env,
        "PUT",
        &gs,
        Some(&subnet("10.1.254.0/27")),
        400,
        "InUseSubnetCannotBeUpdated",
    )
    .await;
    // A network PUT that lists other subnets only would remove it: refused too.
    refused(
        &env,
        "PUT",
        &vnet_path(SUB_A, "v1"),
        Some(&json!({
            "location": "westeurope",
            "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]}, "subnets": []}
        })),
        400,
        "InUseSubnetCannotBeDeleted",
    )
    .await;
    // What does not touch its prefix is fine; other subnets come and go.
    env.put(
        &env.a,
        &gs,
        &json!({"properties": {"addressPrefix": "10.1.255.0/27", "privateEndpointNetworkPolicies": "Enabled"}}),
    )
    .await
    .expect(200);
    let app = subnet_path(SUB_A, "v1", "app");
    env.put(&env.a, &app, &subnet("10.1.0.0/24"))
        .await
        .expect(201);
    env.delete(&env.a, &app).await.expect(202);
}

#[tokio::test]
async fn a_vnet_put_without_subnets_keeps_them_from_api_version_2023_09_01() {
    let env = Env::new();
    let path = vnet_path(SUB_A, "v1");
    env.put(&env.a, &path, &vnet_only()).await.expect(201);
    env.put(
        &env.a,
        &subnet_path(SUB_A, "v1", "app"),
        &subnet("10.1.1.0/24"),
    )
    .await
    .expect(201);
    let count = |v: Value| v["properties"]["subnets"].as_array().map_or(0, Vec::len);

    // Left out on a current api-version: kept.
    let mut tagged = vnet_only();
    tagged["tags"] = json!({"env": "prod"});
    let r = env.put(&env.a, &path, &tagged).await;
    r.expect(200);
    assert_eq!(count(r.json()), 1);
    // ... and they must still fit a new address space.
    let shrunk = json!({
        "location": "westeurope",
        "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]}}
    });
    refused(
        &env,
        "PUT",
        &path,
        Some(&shrunk),
        400,
        "NetcfgSubnetRangeOutsideVnet",
    )
    .await;

    // An explicit empty list removes them.
    let mut empty = vnet_only();
    empty["properties"]["subnets"] = json!([]);
    let r = env.put(&env.a, &path, &empty).await;
    r.expect(200);
    assert_eq!(count(r.json()), 0);

    // On an older api-version, leaving them out replaces them with none, as Azure did.
    env.put(
        &env.a,
        &subnet_path(SUB_A, "v1", "app"),
        &subnet("10.1.1.0/24"),
    )
    .await
    .expect(201);
    let r = env
        .raw(
            "PUT",
            &format!("{path}?api-version=2023-06-01"),
            Some(&env.a),
            Some(&vnet_only().to_string()),
            &[],
        )
        .await;
    r.expect(200);
    assert_eq!(count(r.json()), 0);
}
