//! In-process tests of the cloud side: virtual networks, ExpressRoute gateways and
//! connections — every route, every rule (each rejection changes nothing), tenant isolation,
//! the cross-subscription authorization flow, the prefixes the edges advertise and the
//! gateway's learned routes.

mod common;

use api::{CircuitReport, EdgeReport, PeeringReport, RouteReport};
use common::*;
use serde_json::{Value, json};

const RG: &str = "net-rg";
const VNET_PREFIX: &str = "10.1.0.0/16";
const GW_SUBNET: &str = "10.1.255.0/27";

fn vnet_path(sub: &str, rg: &str, name: &str) -> String {
    format!("{}/virtualNetworks/{name}", rg_path(sub, rg))
}

fn gw_path(sub: &str, rg: &str, name: &str) -> String {
    format!("{}/virtualNetworkGateways/{name}", rg_path(sub, rg))
}

fn conn_path(sub: &str, rg: &str, name: &str) -> String {
    format!("{}/connections/{name}", rg_path(sub, rg))
}

fn vnet_body(prefixes: &[&str], subnets: &[(&str, &str)]) -> Value {
    json!({
        "location": "westeurope",
        "tags": {"app": "web"},
        "properties": {
            "addressSpace": {"addressPrefixes": prefixes},
            "subnets": subnets.iter().map(|(n, p)| json!({"name": n, "properties": {"addressPrefix": p}})).collect::<Vec<_>>(),
        }
    })
}

fn default_vnet() -> Value {
    vnet_body(
        &[VNET_PREFIX],
        &[("default", "10.1.0.0/24"), ("GatewaySubnet", GW_SUBNET)],
    )
}

fn subnet_id(sub: &str, rg: &str, vnet: &str, subnet: &str) -> String {
    format!("{}/subnets/{subnet}", vnet_path(sub, rg, vnet))
}

fn gw_body(sub: &str, rg: &str, vnet: &str, sku: &str) -> Value {
    json!({
        "location": "westeurope",
        "properties": {
            "gatewayType": "ExpressRoute",
            "sku": {"name": sku, "tier": sku},
            "ipConfigurations": [{
                "name": "gwipconf",
                "properties": {"subnet": {"id": subnet_id(sub, rg, vnet, "GatewaySubnet")}}
            }]
        }
    })
}

fn conn_body(gateway_id: &str, circuit_id: &str, weight: i64) -> Value {
    json!({
        "location": "westeurope",
        "properties": {
            "connectionType": "ExpressRoute",
            "virtualNetworkGateway1": {"id": gateway_id},
            "peer": {"id": circuit_id},
            "routingWeight": weight
        }
    })
}

/// The whole stored state: circuits and cloud-side resources.
fn full_state(env: &Env) -> (Vec<control::model::Circuit>, Vec<(String, String)>) {
    (
        env.state(),
        env.service
            .with_store(|s| control::store::Read::dump(s))
            .expect("resources"),
    )
}

/// A request refused with `status`/`code` that changes nothing anywhere (circuits,
/// resources, and what GET `check` answers).
#[allow(clippy::too_many_arguments)]
async fn refused(
    env: &Env,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
    status: u16,
    code: &str,
    check: &str,
) -> Resp {
    let before = full_state(env);
    let generation = env.service.edges.generation();
    let r = env
        .rejected(method, path, token, body, &[], status, code, check)
        .await;
    assert_eq!(full_state(env), before, "{method} {path} changed the store");
    assert_eq!(
        env.service.edges.generation(),
        generation,
        "a refused request must not wake the edges"
    );
    r
}

async fn put_ok(env: &Env, token: &str, path: &str, body: &Value, status: u16) -> Value {
    let r = env.put(token, path, body).await;
    r.expect(status);
    r.json()
}

/// A vnet with a gateway of `sku` in (`sub`, RG): returns the gateway id.
async fn vnet_and_gateway(env: &Env, token: &str, sub: &str, name: &str, sku: &str) -> String {
    put_ok(env, token, &vnet_path(sub, RG, name), &default_vnet(), 201).await;
    let gw = put_ok(
        env,
        token,
        &gw_path(sub, RG, &format!("{name}-gw")),
        &gw_body(sub, RG, name, sku),
        201,
    )
    .await;
    gw["id"].as_str().expect("gateway id").to_owned()
}

/// A circuit with private peering, provisioned when `provision`; returns (id, service key).
async fn circuit_with_peering(
    env: &Env,
    token: &str,
    sub: &str,
    name: &str,
    body: Value,
    provision: bool,
) -> (String, String) {
    let r = env
        .put(token, &circuit_path(sub, "er-rg", name), &body)
        .await;
    r.expect(201);
    let c = r.json();
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    if provision {
        if c["properties"]["serviceProviderProperties"]["serviceProviderName"] == LAB {
            env.provider_state(&key, "Provisioned").await;
        } else {
            panic!("only lab circuits are provisioned in these tests");
        }
    }
    env.put(
        token,
        &format!(
            "{}/peerings/AzurePrivatePeering",
            circuit_path(sub, "er-rg", name)
        ),
        &private_peering(),
    )
    .await
    .expect(201);
    (c["id"].as_str().expect("id").to_owned(), key)
}

fn circuit_at(provider: &str, location: &str) -> Value {
    let mut b = circuit_body();
    set(
        &mut b,
        "properties.serviceProviderProperties.serviceProviderName",
        json!(provider),
    );
    set(
        &mut b,
        "properties.serviceProviderProperties.peeringLocation",
        json!(location),
    );
    b
}

// ===== virtual networks =====

#[tokio::test]
async fn virtual_network_crud_lists_subnets_and_lro() {
    let env = Env::new();
    let path = vnet_path(SUB_A, RG, "vnet1");
    let g0 = env.service.edges.generation();
    let r = env.put(&env.a, &path, &default_vnet()).await;
    r.expect(201);
    assert!(
        env.service.edges.generation() > g0,
        "a VNet write bumps the generation"
    );
    let v = r.json();
    assert_eq!(
        v["id"],
        format!(
            "/subscriptions/{SUB_A}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/vnet1"
        )
    );
    assert_eq!(v["type"], "Microsoft.Network/virtualNetworks");
    assert_eq!(v["location"], "westeurope");
    assert_eq!(v["tags"], json!({"app": "web"}));
    assert!(v["etag"].as_str().is_some_and(|e| e.starts_with("W/\"")));
    assert_eq!(v["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        v["properties"]["addressSpace"]["addressPrefixes"],
        json!([VNET_PREFIX])
    );
    let guid = v["properties"]["resourceGuid"]
        .as_str()
        .expect("guid")
        .to_owned();
    assert_eq!(guid.len(), 36);
    let subnets = v["properties"]["subnets"].as_array().expect("subnets");
    assert_eq!(subnets.len(), 2);
    assert_eq!(subnets[1]["name"], "GatewaySubnet");
    assert_eq!(subnets[1]["properties"]["addressPrefix"], GW_SUBNET);
    assert_eq!(
        subnets[1]["id"],
        format!("{}/subnets/GatewaySubnet", v["id"].as_str().unwrap())
    );

    // The long-running protocol: both links answer, the result is the resource.
    let async_op = r
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation");
    assert!(
        async_op.contains("/locations/westeurope/operations/"),
        "{async_op}"
    );
    let s = env.raw("GET", &async_op, Some(&env.a), None, &[]).await;
    assert_eq!(s.json()["status"], "Succeeded");
    let loc = r.header("location").expect("Location");
    let res = env.raw("GET", &loc, Some(&env.a), None, &[]).await;
    res.expect(200);
    assert_eq!(res.json()["id"], v["id"]);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));

    // GET, whatever the casing of the path; the user's casing is kept.
    let got = env
        .get(
            &env.a,
            &format!("/SUBSCRIPTIONS/{SUB_A}/resourcegroups/{RG}/PROVIDERS/microsoft.network/VIRTUALNETWORKS/vnet1"),
        )
        .await;
    got.expect(200);
    assert_eq!(got.json(), v);

    // Lists: resource group and subscription.
    put_ok(
        &env,
        &env.a,
        &vnet_path(SUB_A, "other-rg", "vnet2"),
        &vnet_body(&["10.2.0.0/16"], &[]),
        201,
    )
    .await;
    let names = |r: &Resp| -> Vec<String> {
        r.json()["value"]
            .as_array()
            .expect("value")
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let rg_list = env
        .get(&env.a, &format!("{}/virtualNetworks", rg_path(SUB_A, RG)))
        .await;
    rg_list.expect(200);
    assert_eq!(names(&rg_list), ["vnet1"]);
    let sub_list = env
        .get(
            &env.a,
            &format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/virtualNetworks"),
        )
        .await;
    assert_eq!(names(&sub_list), ["vnet1", "vnet2"]);

    // Subnets.
    let s = env
        .get(&env.a, &format!("{path}/subnets/gatewaysubnet"))
        .await;
    s.expect(200);
    let s = s.json();
    assert_eq!(s["name"], "GatewaySubnet");
    assert_eq!(s["type"], "Microsoft.Network/virtualNetworks/subnets");
    assert_eq!(s["properties"]["addressPrefix"], GW_SUBNET);
    assert_eq!(s["properties"]["provisioningState"], "Succeeded");
    let list = env.get(&env.a, &format!("{path}/subnets")).await;
    assert_eq!(names(&list), ["default", "GatewaySubnet"]);
    let missing = env.get(&env.a, &format!("{path}/subnets/nope")).await;
    missing.expect(404);
    assert_eq!(missing.code(), "ResourceNotFound");

    // Update: 200, same resourceGuid, new etag; subnets replaced as a whole.
    let upd = env
        .put(
            &env.a,
            &path,
            &vnet_body(
                &[VNET_PREFIX, "10.9.0.0/24"],
                &[("GatewaySubnet", GW_SUBNET)],
            ),
        )
        .await;
    upd.expect(200);
    let u = upd.json();
    assert_eq!(u["properties"]["resourceGuid"], guid);
    assert_ne!(u["etag"], v["etag"]);
    assert_eq!(
        u["properties"]["addressSpace"]["addressPrefixes"],
        json!([VNET_PREFIX, "10.9.0.0/24"])
    );
    assert_eq!(u["properties"]["subnets"].as_array().unwrap().len(), 1);
    // An unchanged subnet keeps its etag.
    assert_eq!(u["properties"]["subnets"][0]["etag"], subnets[1]["etag"]);

    // PATCH replaces the tags only.
    let p = env.patch(&env.a, &path, &json!({"tags": {"k": "v"}})).await;
    p.expect(200);
    assert_eq!(p.json()["tags"], json!({"k": "v"}));
    assert_eq!(
        p.json()["properties"]["addressSpace"],
        u["properties"]["addressSpace"]
    );
    assert_eq!(
        env.get(&env.a, &path).await.json()["tags"],
        json!({"k": "v"})
    );

    // If-Match on a stale etag.
    let stale = v["etag"].as_str().unwrap().to_owned();
    let before = full_state(&env);
    let r = env
        .send(
            "PUT",
            &path,
            &env.a,
            Some(&default_vnet()),
            &[("if-match", stale.as_str())],
        )
        .await;
    r.expect(412);
    assert_eq!(full_state(&env), before);

    // DELETE: 202 with the LRO headers, then gone; again: 204.
    let d = env.delete(&env.a, &path).await;
    d.expect(202);
    assert!(d.header("azure-asyncoperation").is_some());
    env.get(&env.a, &path).await.expect(404);
    env.delete(&env.a, &path).await.expect(204);
    // Methods that do not exist here.
    let r = env.post(&env.a, &path).await;
    r.expect(405);
}

#[tokio::test]
async fn virtual_network_rules_refuse_and_change_nothing() {
    let env = Env::new();
    let path = vnet_path(SUB_A, RG, "vnet1");
    put_ok(&env, &env.a, &path, &default_vnet(), 201).await;
    let base = default_vnet();
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut b = base.clone();
                remove(&mut b, "location");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "properties.addressSpace");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            with(&base, "properties.addressSpace.addressPrefixes", json!([])),
            "InvalidRequestFormat",
        ),
        (
            with(
                &base,
                "properties.addressSpace.addressPrefixes",
                json!(["10.1.0.0/33"]),
            ),
            "InvalidAddressPrefixFormat",
        ),
        (
            with(
                &base,
                "properties.addressSpace.addressPrefixes",
                json!(["banana"]),
            ),
            "InvalidAddressPrefixFormat",
        ),
        (
            with(
                &base,
                "properties.addressSpace.addressPrefixes",
                json!(["10.1.0.1/16"]),
            ),
            "InvalidAddressPrefixFormat",
        ),
        (
            with(
                &base,
                "properties.addressSpace.addressPrefixes",
                json!(["10.1.0.0/16", "10.1.128.0/17"]),
            ),
            "VnetAddressSpacesOverlap",
        ),
        (
            vnet_body(&[VNET_PREFIX], &[("GatewaySubnet", "10.2.0.0/27")]),
            "NetcfgSubnetRangeOutsideVnet",
        ),
        (
            vnet_body(
                &[VNET_PREFIX],
                &[("a", "10.1.0.0/24"), ("b", "10.1.0.128/25")],
            ),
            "NetcfgSubnetRangesOverlap",
        ),
        (
            vnet_body(
                &[VNET_PREFIX],
                &[("a", "10.1.0.0/24"), ("A", "10.1.1.0/24")],
            ),
            "DuplicateResourceName",
        ),
        (
            vnet_body(&[VNET_PREFIX], &[("a", "10.1.0.7/24")]),
            "InvalidAddressPrefixFormat",
        ),
        (
            with(
                &base,
                "properties.subnets",
                json!([{"name": "x", "properties": {}}]),
            ),
            "InvalidRequestFormat",
        ),
        (
            with(
                &base,
                "properties.subnets",
                json!([{"properties": {"addressPrefix": "10.1.0.0/24"}}]),
            ),
            "InvalidRequestFormat",
        ),
        (
            with(&base, "properties.subnets", json!("all")),
            "InvalidRequestFormat",
        ),
        (
            with(&base, "location", json!("eastus")),
            "CannotChangeLocation",
        ),
    ];
    for (body, code) in &cases {
        refused(&env, "PUT", &path, &env.a, Some(body), 400, code, &path).await;
    }
    // The same rules on create: nothing is created.
    let new = vnet_path(SUB_A, RG, "vnet-new");
    for (body, code) in cases.iter().filter(|(_, c)| *c != "CannotChangeLocation") {
        refused(&env, "PUT", &new, &env.a, Some(body), 400, code, &new).await;
    }
    refused(
        &env,
        "PUT",
        &vnet_path(SUB_A, RG, "-bad-name"),
        &env.a,
        Some(&base),
        400,
        "InvalidResourceName",
        &path,
    )
    .await;
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        None,
        400,
        "InvalidRequestFormat",
        &path,
    )
    .await;
    // IPv6 address space is fine; mixed families do not overlap.
    let r = env
        .put(
            &env.a,
            &new,
            &vnet_body(&["10.5.0.0/16", "fd00:1::/48"], &[("v6", "fd00:1::/64")]),
        )
        .await;
    r.expect(201);
}

#[tokio::test]
async fn another_tenant_sees_no_cloud_resource_and_cannot_write() {
    let env = Env::new();
    let gw_id = vnet_and_gateway(&env, &env.a, SUB_A, "vnet1", "ErGw1AZ").await;
    let (cid, _) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), true).await;
    let cpath = conn_path(SUB_A, RG, "conn1");
    put_ok(&env, &env.a, &cpath, &conn_body(&gw_id, &cid, 0), 201).await;
    let vpath = vnet_path(SUB_A, RG, "vnet1");
    let gpath = gw_path(SUB_A, RG, "vnet1-gw");
    for (path, missing) in [
        (&vpath, vnet_path(SUB_A, RG, "nope")),
        (&gpath, gw_path(SUB_A, RG, "nope")),
        (&cpath, conn_path(SUB_A, RG, "nope")),
    ] {
        let other = env.get(&env.b, path).await;
        other.expect(404);
        // Byte for byte the answer for a missing one (modulo the name).
        let absent = env.get(&env.a, &missing).await;
        absent.expect(404);
        let name = path.rsplit('/').next().unwrap();
        assert_eq!(
            other.text.replace(name, "X"),
            absent.text.replace("nope", "X")
        );
        // Writes: 403; deletes: 204 and nothing happens.
        refused(
            &env,
            "PATCH",
            path,
            &env.b,
            Some(&json!({"tags": {}})),
            403,
            "AuthorizationFailed",
            path,
        )
        .await;
        let before = full_state(&env);
        env.delete(&env.b, path).await.expect(204);
        assert_eq!(full_state(&env), before);
        env.get(&env.a, path).await.expect(200);
        // The provider principal is another tenant too.
        env.get(&env.lab, path).await.expect(404);
    }
    refused(
        &env,
        "PUT",
        &vpath,
        &env.b,
        Some(&default_vnet()),
        403,
        "AuthorizationFailed",
        &vpath,
    )
    .await;
    refused(
        &env,
        "PUT",
        &gpath,
        &env.b,
        Some(&gw_body(SUB_A, RG, "vnet1", "ErGw1AZ")),
        403,
        "AuthorizationFailed",
        &gpath,
    )
    .await;
    refused(
        &env,
        "PUT",
        &cpath,
        &env.b,
        Some(&conn_body(&gw_id, &cid, 0)),
        403,
        "AuthorizationFailed",
        &cpath,
    )
    .await;
    env.get(&env.b, &format!("{vpath}/subnets/GatewaySubnet"))
        .await
        .expect(404);
    env.post(&env.b, &format!("{gpath}/getLearnedRoutes"))
        .await
        .expect(404);
    for list in [
        format!("{}/virtualNetworks", rg_path(SUB_A, RG)),
        format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/virtualNetworks"),
        format!("{}/virtualNetworkGateways", rg_path(SUB_A, RG)),
        format!("{}/connections", rg_path(SUB_A, RG)),
    ] {
        let r = env.get(&env.b, &list).await;
        r.expect(200);
        assert_eq!(r.json()["value"], json!([]), "{list}");
        let mine = env.get(&env.a, &list).await;
        assert_eq!(mine.json()["value"].as_array().unwrap().len(), 1, "{list}");
    }
}

// ===== gateways =====

#[tokio::test]
async fn gateway_crud_and_shape() {
    let env = Env::new();
    put_ok(
        &env,
        &env.a,
        &vnet_path(SUB_A, RG, "vnet1"),
        &default_vnet(),
        201,
    )
    .await;
    let path = gw_path(SUB_A, RG, "gw1");
    let r = env
        .put(&env.a, &path, &gw_body(SUB_A, RG, "vnet1", "ergw1az"))
        .await;
    r.expect(201);
    assert!(r.header("azure-asyncoperation").is_some() && r.header("location").is_some());
    let g = r.json();
    assert_eq!(g["type"], "Microsoft.Network/virtualNetworkGateways");
    let p = &g["properties"];
    assert_eq!(p["gatewayType"], "ExpressRoute");
    assert_eq!(p["sku"], json!({"name": "ErGw1AZ", "tier": "ErGw1AZ"}));
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(p["resourceGuid"].as_str().unwrap().len(), 36);
    let ipc = &p["ipConfigurations"][0];
    assert_eq!(ipc["name"], "gwipconf");
    assert_eq!(
        ipc["properties"]["subnet"]["id"],
        subnet_id(SUB_A, RG, "vnet1", "GatewaySubnet")
    );
    assert_eq!(ipc["properties"]["privateIPAddress"], "10.1.255.4");
    assert_eq!(env.get(&env.a, &path).await.json(), g);
    // The VNet's GatewaySubnet shows the gateway's ip configuration.
    let s = env
        .get(
            &env.a,
            &format!("{}/subnets/GatewaySubnet", vnet_path(SUB_A, RG, "vnet1")),
        )
        .await
        .json();
    assert_eq!(s["properties"]["ipConfigurations"][0]["id"], ipc["id"]);
    let list = env
        .get(
            &env.a,
            &format!("{}/virtualNetworkGateways", rg_path(SUB_A, RG)),
        )
        .await
        .json();
    assert_eq!(list["value"][0]["id"], g["id"]);
    // Resize: 200, same guid.
    let up = env
        .put(&env.a, &path, &gw_body(SUB_A, RG, "vnet1", "ErGw3AZ"))
        .await;
    up.expect(200);
    assert_eq!(up.json()["properties"]["sku"]["name"], "ErGw3AZ");
    assert_eq!(up.json()["properties"]["resourceGuid"], p["resourceGuid"]);
    // Tags.
    let t = env.patch(&env.a, &path, &json!({"tags": {"t": "1"}})).await;
    t.expect(200);
    assert_eq!(t.json()["tags"], json!({"t": "1"}));
    // ErGwScale with bounds, fixed or autoscaling.
    put_ok(
        &env,
        &env.a,
        &vnet_path(SUB_A, RG, "vnet2"),
        &default_vnet(),
        201,
    )
    .await;
    let scale = with(
        &gw_body(SUB_A, RG, "vnet2", "ErGwScale"),
        "properties.autoScaleConfiguration",
        json!({"bounds": {"min": 2, "max": 10}}),
    );
    let s = put_ok(&env, &env.a, &gw_path(SUB_A, RG, "gw2"), &scale, 201).await;
    assert_eq!(
        s["properties"]["autoScaleConfiguration"],
        json!({"bounds": {"min": 2, "max": 10}})
    );
    let fixed = with(
        &scale,
        "properties.autoScaleConfiguration.bounds",
        json!({"min": 1, "max": 1}),
    );
    put_ok(&env, &env.a, &gw_path(SUB_A, RG, "gw2"), &fixed, 200).await;
    // Delete: 202, then 204.
    env.delete(&env.a, &gw_path(SUB_A, RG, "gw2"))
        .await
        .expect(202);
    env.delete(&env.a, &gw_path(SUB_A, RG, "gw2"))
        .await
        .expect(204);
    env.get(&env.a, &gw_path(SUB_A, RG, "gw2"))
        .await
        .expect(404);
}

#[tokio::test]
async fn gateway_rules_refuse_and_change_nothing() {
    let env = Env::new();
    put_ok(
        &env,
        &env.a,
        &vnet_path(SUB_A, RG, "vnet1"),
        &default_vnet(),
        201,
    )
    .await;
    put_ok(
        &env,
        &env.a,
        &vnet_path(SUB_A, RG, "nogw"),
        &vnet_body(&["10.3.0.0/16"], &[("default", "10.3.0.0/24")]),
        201,
    )
    .await;
    put_ok(
        &env,
        &env.b,
        &vnet_path(SUB_B, RG, "theirs"),
        &default_vnet(),
        201,
    )
    .await;
    let path = gw_path(SUB_A, RG, "gw1");
    let base = gw_body(SUB_A, RG, "vnet1", "ErGw1AZ");
    let scale = with(
        &gw_body(SUB_A, RG, "vnet1", "ErGwScale"),
        "properties.autoScaleConfiguration",
        json!({"bounds": {"min": 2, "max": 4}}),
    );
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&base, "properties.gatewayType", json!("Vpn")),
            "GatewayTypeNotSupported",
        ),
        (
            with(&base, "properties.gatewayType", json!("LocalGateway")),
            "GatewayTypeNotSupported",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "properties.gatewayType");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "location");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            with(
                &base,
                "properties.sku",
                json!({"name": "VpnGw1", "tier": "VpnGw1"}),
            ),
            "InvalidGatewaySku",
        ),
        (
            with(
                &base,
                "properties.sku",
                json!({"name": "ErGw1AZ", "tier": "ErGw2AZ"}),
            ),
            "InvalidGatewaySku",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "properties.sku");
                b
            },
            "InvalidGatewaySku",
        ),
        (
            with(
                &base,
                "properties.autoScaleConfiguration",
                json!({"bounds": {"min": 2, "max": 2}}),
            ),
            "InvalidAutoScaleConfiguration",
        ),
        (
            with(
                &scale,
                "properties.autoScaleConfiguration.bounds",
                json!({"min": 0, "max": 2}),
            ),
            "InvalidAutoScaleConfiguration",
        ),
        (
            with(
                &scale,
                "properties.autoScaleConfiguration.bounds",
                json!({"min": 2, "max": 41}),
            ),
            "InvalidAutoScaleConfiguration",
        ),
        (
            with(
                &scale,
                "properties.autoScaleConfiguration.bounds",
                json!({"min": 5, "max": 3}),
            ),
            "InvalidAutoScaleConfiguration",
        ),
        (
            with(
                &scale,
                "properties.autoScaleConfiguration.bounds",
                json!({"min": 1, "max": 3}),
            ),
            "InvalidAutoScaleConfiguration",
        ),
        (
            with(
                &scale,
                "properties.autoScaleConfiguration.bounds",
                json!({"min": 2}),
            ),
            "InvalidAutoScaleConfiguration",
        ),
        (
            with(&base, "properties.ipConfigurations", json!([])),
            "InvalidRequestFormat",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "properties.ipConfigurations");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            with(
                &base,
                "properties.ipConfigurations",
                json!([
                    base["properties"]["ipConfigurations"][0],
                    base["properties"]["ipConfigurations"][0]
                ]),
            ),
            "InvalidRequestFormat",
        ),
        (
            with(
                &base,
                "properties.ipConfigurations",
                json!([{"name": "x", "properties": {"subnet": {"id": subnet_id(SUB_A, RG, "vnet1", "default")}}}]),
            ),
            "InvalidGatewaySubnet",
        ),
        (
            with(
                &base,
                "properties.ipConfigurations",
                json!([{"name": "x", "properties": {"subnet": {"id": "/not/a/subnet"}}}]),
            ),
            "InvalidGatewaySubnet",
        ),
        (
            with(
                &base,
                "properties.ipConfigurations",
                json!([{"name": "x", "properties": {"subnet": {"id": subnet_id(SUB_B, RG, "theirs", "GatewaySubnet")}}}]),
            ),
            "InvalidGatewaySubnet",
        ),
        (
            gw_body(SUB_A, RG, "missing", "ErGw1AZ"),
            "InvalidResourceReference",
        ),
        (
            gw_body(SUB_A, RG, "nogw", "ErGw1AZ"),
            "InvalidResourceReference",
        ),
        (
            with(&base, "location", json!("eastus")),
            "VirtualNetworkLocationMismatch",
        ),
    ];
    for (body, code) in &cases {
        let r = refused(&env, "PUT", &path, &env.a, Some(body), 400, code, &path).await;
        if *code == "GatewayTypeNotSupported" {
            assert!(
                r.json()["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("only ExpressRoute"),
                "{}",
                r.text
            );
        }
    }
    // One gateway per VNet, and a gateway cannot move.
    put_ok(&env, &env.a, &path, &base, 201).await;
    let second = gw_path(SUB_A, "other-rg", "gw2");
    refused(
        &env,
        "PUT",
        &second,
        &env.a,
        Some(&base),
        400,
        "VirtualNetworkGatewayAlreadyExists",
        &path,
    )
    .await;
    put_ok(
        &env,
        &env.a,
        &vnet_path(SUB_A, RG, "vnet3"),
        &default_vnet(),
        201,
    )
    .await;
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&gw_body(SUB_A, RG, "vnet3", "ErGw1AZ")),
        400,
        "CannotChangeGatewaySubnet",
        &path,
    )
    .await;
    // The gateway's VNet and subnet cannot go while it exists.
    let vpath = vnet_path(SUB_A, RG, "vnet1");
    let r = refused(
        &env,
        "DELETE",
        &vpath,
        &env.a,
        None,
        400,
        "InUseSubnetCannotBeDeleted",
        &vpath,
    )
    .await;
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gw1"),
        "{}",
        r.text
    );
    refused(
        &env,
        "PUT",
        &vpath,
        &env.a,
        Some(&vnet_body(&[VNET_PREFIX], &[("default", "10.1.0.0/24")])),
        400,
        "InUseSubnetCannotBeDeleted",
        &vpath,
    )
    .await;
    refused(
        &env,
        "PUT",
        &vpath,
        &env.a,
        Some(&vnet_body(
            &[VNET_PREFIX],
            &[("GatewaySubnet", "10.1.254.0/27")],
        )),
        400,
        "InUseSubnetCannotBeUpdated",
        &vpath,
    )
    .await;
    // Other changes to the VNet are fine.
    put_ok(
        &env,
        &env.a,
        &vpath,
        &vnet_body(
            &[VNET_PREFIX, "10.20.0.0/16"],
            &[("GatewaySubnet", GW_SUBNET)],
        ),
        200,
    )
    .await;
    // Once the gateway is gone, so can the VNet be.
    env.delete(&env.a, &path).await.expect(202);
    env.delete(&env.a, &vpath).await.expect(202);
}

// ===== connections =====

#[tokio::test]
async fn connection_in_the_same_subscription() {
    let env = Env::new();
    let gw_id = vnet_and_gateway(&env, &env.a, SUB_A, "vnet1", "ErGw1AZ").await;
    // Peering configured but the provider has not provisioned: NotConnected.
    let (cid, key) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), false).await;
    let path = conn_path(SUB_A, RG, "conn1");
    let g0 = env.service.edges.generation();
    let r = env.put(&env.a, &path, &conn_body(&gw_id, &cid, 10)).await;
    r.expect(201);
    assert!(env.service.edges.generation() > g0);
    assert!(r.header("azure-asyncoperation").is_some());
    let c = r.json();
    assert_eq!(c["type"], "Microsoft.Network/connections");
    let p = &c["properties"];
    assert_eq!(p["connectionType"], "ExpressRoute");
    assert_eq!(p["virtualNetworkGateway1"]["id"], gw_id);
    assert_eq!(p["peer"]["id"], cid);
    assert_eq!(p["routingWeight"], 10);
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(p["connectionStatus"], "NotConnected");
    assert_eq!(p["resourceGuid"].as_str().unwrap().len(), 36);
    assert!(p.get("authorizationKey").is_none());
    // The provider provisions: Connected.
    env.provider_state(&key, "Provisioned").await;
    let got = env.get(&env.a, &path).await.json();
    assert_eq!(got["properties"]["connectionStatus"], "Connected");
    // Default weight 0; update weight in place.
    let up = env
        .put(
            &env.a,
            &path,
            &with(
                &conn_body(&gw_id, &cid, 0),
                "properties.routingWeight",
                Value::Null,
            ),
        )
        .await;
    up.expect(200);
    assert_eq!(up.json()["properties"]["routingWeight"], 0);
    assert_eq!(up.json()["properties"]["resourceGuid"], p["resourceGuid"]);
    // Tags, list.
    env.patch(&env.a, &path, &json!({"tags": {"x": "y"}}))
        .await
        .expect(200);
    let list = env
        .get(&env.a, &format!("{}/connections", rg_path(SUB_A, RG)))
        .await
        .json();
    assert_eq!(list["value"][0]["tags"], json!({"x": "y"}));
    assert_eq!(
        list["value"][0]["properties"]["connectionStatus"],
        "Connected"
    );
    // Delete: 202, then 204.
    env.delete(&env.a, &path).await.expect(202);
    env.delete(&env.a, &path).await.expect(204);
    env.get(&env.a, &path).await.expect(404);
}

#[tokio::test]
async fn connection_rules_refuse_and_change_nothing() {
    let env = Env::new();
    let gw_id = vnet_and_gateway(&env, &env.a, SUB_A, "vnet1", "ErGw1AZ").await;
    let gw2 = vnet_and_gateway(&env, &env.a, SUB_A, "vnet2", "ErGw1AZ").await;
    let gw_b = vnet_and_gateway(&env, &env.b, SUB_B, "vnetb", "ErGw1AZ").await;
    let (cid, _) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), false).await;
    let (cid2, _) = circuit_with_peering(&env, &env.a, SUB_A, "er2", circuit_body(), false).await;
    // A circuit without private peering.
    let bare = env.create_circuit(&env.a, SUB_A, "er-rg", "bare").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = conn_path(SUB_A, RG, "conn1");
    let base = conn_body(&gw_id, &cid, 0);
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&base, "properties.connectionType", json!("IPsec")),
            "ConnectionTypeNotSupported",
        ),
        (
            with(&base, "properties.connectionType", json!("Vnet2Vnet")),
            "ConnectionTypeNotSupported",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "properties.connectionType");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "location");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "properties.virtualNetworkGateway1");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            {
                let mut b = base.clone();
                remove(&mut b, "properties.peer");
                b
            },
            "InvalidRequestFormat",
        ),
        (
            conn_body(&gw_path(SUB_A, RG, "nope"), &cid, 0),
            "InvalidResourceReference",
        ),
        (conn_body(&gw_b, &cid, 0), "InvalidResourceReference"),
        (
            conn_body("/subscriptions/x/garbage", &cid, 0),
            "InvalidResourceReference",
        ),
        (
            conn_body(&gw_id, &vnet_path(SUB_A, RG, "vnet1"), 0),
            "InvalidResourceReference",
        ),
        (
            conn_body(&gw_id, &circuit_path(SUB_A, "er-rg", "nope"), 0),
            "InvalidResourceReference",
        ),
        (conn_body(&gw_id, &cid, -1), "InvalidRoutingWeight"),
        (
            with(&base, "properties.routingWeight", json!(1.5)),
            "InvalidRoutingWeight",
        ),
        (
            with(&base, "properties.routingWeight", json!(4_294_967_296_i64)),
            "InvalidRoutingWeight",
        ),
        (conn_body(&gw_id, &bare, 0), "PrivatePeeringNotConfigured"),
        (
            with(
                &base,
                "properties.authorizationKey",
                json!("00000000-0000-0000-0000-000000000000"),
            ),
            "InvalidAuthorizationKey",
        ),
    ];
    for (body, code) in &cases {
        let r = refused(&env, "PUT", &path, &env.a, Some(body), 400, code, &path).await;
        if *code == "PrivatePeeringNotConfigured" {
            assert!(
                r.json()["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("private peering first"),
                "{}",
                r.text
            );
        }
    }
    // Created, then: peer and gateway cannot change; the same gateway→circuit link twice is refused.
    put_ok(&env, &env.a, &path, &base, 201).await;
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&conn_body(&gw_id, &cid2, 0)),
        400,
        "ExpressRouteConnectionPeerCannotBeChanged",
        &path,
    )
    .await;
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&conn_body(&gw2, &cid, 0)),
        400,
        "VirtualNetworkGatewayCannotBeChanged",
        &path,
    )
    .await;
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&with(&base, "location", json!("eastus"))),
        400,
        "CannotChangeLocation",
        &path,
    )
    .await;
    let dup = conn_path(SUB_A, RG, "conn-dup");
    refused(
        &env,
        "PUT",
        &dup,
        &env.a,
        Some(&base),
        400,
        "GatewayAlreadyConnectedToCircuit",
        &dup,
    )
    .await;
    // The peer id is matched whatever its casing.
    let shouted = env
        .put(&env.a, &path, &conn_body(&gw_id, &cid.to_uppercase(), 3))
        .await;
    shouted.expect(200);
    assert_eq!(shouted.json()["properties"]["peer"]["id"], cid);
    // Dependents first: circuit, its private peering, the gateway.
    let circuit = circuit_path(SUB_A, "er-rg", "er1");
    let r = refused(
        &env,
        "DELETE",
        &circuit,
        &env.a,
        None,
        400,
        "InUseCircuitCannotBeDeleted",
        &circuit,
    )
    .await;
    let m = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        m.contains("delete the connections first") && m.contains("conn1"),
        "{m}"
    );
    let peering = format!("{circuit}/peerings/AzurePrivatePeering");
    refused(
        &env,
        "DELETE",
        &peering,
        &env.a,
        None,
        400,
        "InUsePeeringCannotBeDeleted",
        &peering,
    )
    .await;
    let gpath = gw_path(SUB_A, RG, "vnet1-gw");
    refused(
        &env,
        "DELETE",
        &gpath,
        &env.a,
        None,
        400,
        "InUseVirtualNetworkGatewayCannotBeDeleted",
        &gpath,
    )
    .await;
    // After the connection: all of them go.
    env.delete(&env.a, &path).await.expect(202);
    env.delete(&env.a, &peering).await.expect(202);
    env.delete(&env.a, &circuit).await.expect(202);
    env.delete(&env.a, &gpath).await.expect(202);
}

#[tokio::test]
async fn cross_subscription_connection_uses_an_authorization() {
    let env = Env::new();
    // A owns the circuit; B owns the VNet.
    let (cid, _) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), true).await;
    let circuit = circuit_path(SUB_A, "er-rg", "er1");
    let auth_path = format!("{circuit}/authorizations/for-b");
    let auth = put_ok(&env, &env.a, &auth_path, &json!({}), 201).await;
    let key = auth["properties"]["authorizationKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let gw_b = vnet_and_gateway(&env, &env.b, SUB_B, "vnetb", "ErGw1AZ").await;
    let path = conn_path(SUB_B, RG, "to-a");

    // Without a key, and with a wrong one: refused, and the answer does not tell whether the
    // circuit exists.
    let ghost = circuit_path(SUB_A, "er-rg", "ghost");
    let norm = |r: &Resp, id: &str| {
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .replace(id, "<circuit>")
    };
    let r1 = refused(
        &env,
        "PUT",
        &path,
        &env.b,
        Some(&conn_body(&gw_b, &cid, 0)),
        400,
        "AuthorizationKeyRequired",
        &circuit,
    )
    .await;
    let r2 = refused(
        &env,
        "PUT",
        &path,
        &env.b,
        Some(&conn_body(&gw_b, &ghost, 0)),
        400,
        "AuthorizationKeyRequired",
        &circuit,
    )
    .await;
    assert_eq!(norm(&r1, &cid), norm(&r2, &ghost));
    let wrong = with(
        &conn_body(&gw_b, &cid, 0),
        "properties.authorizationKey",
        json!(uuid_like()),
    );
    let ghost_key = with(
        &conn_body(&gw_b, &ghost, 0),
        "properties.authorizationKey",
        json!(key),
    );
    let r3 = refused(
        &env,
        "PUT",
        &path,
        &env.b,
        Some(&wrong),
        400,
        "InvalidAuthorizationKey",
        &circuit,
    )
    .await;
    let r4 = refused(
        &env,
        "PUT",
        &path,
        &env.b,
        Some(&ghost_key),
        400,
        "InvalidAuthorizationKey",
        &circuit,
    )
    .await;
    assert_eq!(norm(&r3, &cid), norm(&r4, &ghost));

    // With the key: connected, and the authorization is InUse by this connection.
    let good = with(
        &conn_body(&gw_b, &cid, 5),
        "properties.authorizationKey",
        json!(key),
    );
    let c = put_ok(&env, &env.b, &path, &good, 201).await;
    assert_eq!(c["properties"]["connectionStatus"], "Connected");
    assert_eq!(c["properties"]["authorizationKey"], key);
    let a = env.get(&env.a, &auth_path).await.json();
    assert_eq!(a["properties"]["authorizationUseStatus"], "InUse");
    assert_eq!(a["properties"]["connectionResourceUri"], c["id"]);
    assert_ne!(a["etag"], auth["etag"]);
    // B still cannot read A's circuit.
    env.get(&env.b, &circuit).await.expect(404);
    // A GET-modify-PUT of the connection keeps working (the key is bound already).
    let mut again = env.get(&env.b, &path).await.json();
    again["properties"]["routingWeight"] = json!(7);
    let r = env.put(&env.b, &path, &again).await;
    r.expect(200);
    assert_eq!(r.json()["properties"]["routingWeight"], 7);
    // A used key cannot serve a second connection; the authorization cannot be deleted.
    let gw_b2 = vnet_and_gateway(&env, &env.b, SUB_B, "vnetb2", "ErGw1AZ").await;
    let second = conn_path(SUB_B, RG, "to-a-2");
    refused(
        &env,
        "PUT",
        &second,
        &env.b,
        Some(&with(
            &conn_body(&gw_b2, &cid, 0),
            "properties.authorizationKey",
            json!(key),
        )),
        400,
        "InvalidAuthorizationKey",
        &second,
    )
    .await;
    refused(
        &env,
        "DELETE",
        &auth_path,
        &env.a,
        None,
        409,
        "AuthorizationInUse",
        &auth_path,
    )
    .await;
    // The circuit owner cannot delete the circuit while B is connected; B's ids stay hidden.
    let r = refused(
        &env,
        "DELETE",
        &circuit,
        &env.a,
        None,
        409,
        "CircuitNotDeprovisioned",
        &circuit,
    )
    .await;
    assert!(!r.text.contains(SUB_B));
    // Deleting the connection frees the authorization.
    env.delete(&env.b, &path).await.expect(202);
    let a = env.get(&env.a, &auth_path).await.json();
    assert_eq!(a["properties"]["authorizationUseStatus"], "Available");
    assert!(a["properties"].get("connectionResourceUri").is_none());
    env.delete(&env.a, &auth_path).await.expect(202);
}

#[tokio::test]
async fn a_deprovisioned_circuit_with_a_foreign_connection_cannot_be_deleted() {
    let env = Env::new();
    let (cid, _) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), false).await;
    let circuit = circuit_path(SUB_A, "er-rg", "er1");
    let auth = put_ok(
        &env,
        &env.a,
        &format!("{circuit}/authorizations/k"),
        &json!({}),
        201,
    )
    .await;
    let gw_b = vnet_and_gateway(&env, &env.b, SUB_B, "vnetb", "ErGw1AZ").await;
    let body = with(
        &conn_body(&gw_b, &cid, 0),
        "properties.authorizationKey",
        auth["properties"]["authorizationKey"].clone(),
    );
    let c = put_ok(&env, &env.b, &conn_path(SUB_B, RG, "c"), &body, 201).await;
    assert_eq!(c["properties"]["connectionStatus"], "NotConnected");
    let r = refused(
        &env,
        "DELETE",
        &circuit,
        &env.a,
        None,
        400,
        "InUseCircuitCannotBeDeleted",
        &circuit,
    )
    .await;
    assert!(
        !r.text.contains(SUB_B),
        "another tenant's connection ids stay hidden: {}",
        r.text
    );
}

fn uuid_like() -> String {
    "11111111-2222-4333-8444-555555555555".into()
}

// ===== limits =====

#[tokio::test]
async fn a_standard_circuit_takes_ten_connections() {
    let env = Env::new();
    let (cid, _) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), false).await;
    for i in 0..10 {
        let gw = vnet_and_gateway(&env, &env.a, SUB_A, &format!("v{i}"), "ErGw1AZ").await;
        put_ok(
            &env,
            &env.a,
            &conn_path(SUB_A, RG, &format!("c{i}")),
            &conn_body(&gw, &cid, 0),
            201,
        )
        .await;
    }
    let gw = vnet_and_gateway(&env, &env.a, SUB_A, "v10", "ErGw1AZ").await;
    let path = conn_path(SUB_A, RG, "c10");
    let r = refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&conn_body(&gw, &cid, 0)),
        400,
        "ExpressRouteCircuitConnectionLimitReached",
        &path,
    )
    .await;
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10"),
        "{}",
        r.text
    );
    // Premium 50 Mbps takes 20: the upgrade lets the eleventh in.
    let mut premium = circuit_body();
    set(
        &mut premium,
        "sku",
        json!({"name": "Premium_MeteredData", "tier": "Premium", "family": "MeteredData"}),
    );
    env.put(&env.a, &circuit_path(SUB_A, "er-rg", "er1"), &premium)
        .await
        .expect(200);
    put_ok(&env, &env.a, &path, &conn_body(&gw, &cid, 0), 201).await;
}

#[tokio::test]
async fn gateway_and_virtual_network_limits() {
    let env = Env::new();
    let mut circuits = Vec::new();
    for i in 0..5 {
        circuits.push(
            circuit_with_peering(
                &env,
                &env.a,
                SUB_A,
                &format!("lab{i}"),
                circuit_body(),
                false,
            )
            .await
            .0,
        );
    }
    let (ams, _) = circuit_with_peering(
        &env,
        &env.a,
        SUB_A,
        "ams",
        circuit_at("Equinix", "Amsterdam"),
        false,
    )
    .await;
    // ErGw1AZ: 4 connections.
    let gw = vnet_and_gateway(&env, &env.a, SUB_A, "small", "ErGw1AZ").await;
    for (i, c) in circuits.iter().take(4).enumerate() {
        put_ok(
            &env,
            &env.a,
            &conn_path(SUB_A, RG, &format!("s{i}")),
            &conn_body(&gw, c, 0),
            201,
        )
        .await;
    }
    let path = conn_path(SUB_A, RG, "s4");
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&conn_body(&gw, &ams, 0)),
        400,
        "GatewayConnectionLimitReached",
        &path,
    )
    .await;
    // A smaller SKU than the connections it has is refused too.
    let gpath = gw_path(SUB_A, RG, "small-gw");
    put_ok(
        &env,
        &env.a,
        &gpath,
        &gw_body(SUB_A, RG, "small", "ErGw2AZ"),
        200,
    )
    .await;
    // ErGw2AZ takes 8; but a VNet links at most 4 circuits of one peering location.
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&conn_body(&gw, &circuits[4], 0)),
        400,
        "VirtualNetworkCircuitLimitReached",
        &path,
    )
    .await;
    put_ok(&env, &env.a, &path, &conn_body(&gw, &ams, 0), 201).await;
    // Now the gateway is down-sized too far.
    put_ok(
        &env,
        &env.a,
        &gpath,
        &gw_body(SUB_A, RG, "small", "ErGw2AZ"),
        200,
    )
    .await;
    refused(
        &env,
        "PUT",
        &gpath,
        &env.a,
        Some(&gw_body(SUB_A, RG, "small", "Standard")),
        400,
        "GatewayConnectionLimitReached",
        &gpath,
    )
    .await;
}

#[tokio::test]
async fn a_virtual_network_links_sixteen_circuits() {
    let env = Env::new();
    let gw = vnet_and_gateway(&env, &env.a, SUB_A, "big", "ErGwScale").await;
    let locations = [
        ("Causeway Lab", "Lab"),
        ("Equinix", "Amsterdam"),
        ("Equinix", "London"),
        ("Equinix", "Silicon Valley"),
    ];
    let mut n = 0;
    for (provider, location) in locations {
        for _ in 0..4 {
            let (c, _) = circuit_with_peering(
                &env,
                &env.a,
                SUB_A,
                &format!("c{n}"),
                // Premium: the North American locations reach a West European network.
                with_tier(&circuit_at(provider, location), "Premium", "MeteredData"),
                false,
            )
            .await;
            put_ok(
                &env,
                &env.a,
                &conn_path(SUB_A, RG, &format!("k{n}")),
                &conn_body(&gw, &c, 0),
                201,
            )
            .await;
            n += 1;
        }
    }
    let (c, _) = circuit_with_peering(
        &env,
        &env.a,
        SUB_A,
        "dc",
        with_tier(
            &circuit_at("Equinix", "Washington DC"),
            "Premium",
            "MeteredData",
        ),
        false,
    )
    .await;
    let path = conn_path(SUB_A, RG, "k16");
    let r = refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&conn_body(&gw, &c, 0)),
        400,
        "VirtualNetworkCircuitLimitReached",
        &path,
    )
    .await;
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("16"),
        "{}",
        r.text
    );
}

// ===== what the edges advertise, and what the gateway learns =====

fn advertise_of(env: &Env, edge: &str, key: &str) -> Option<Vec<String>> {
    let d = env.service.edge_desired(edge).expect("desired");
    d.circuits
        .iter()
        .find(|c| c.service_key == key)
        .map(|c| c.advertise.clone())
}

#[tokio::test]
async fn connected_virtual_network_prefixes_are_advertised_on_both_links() {
    let env = Env::new();
    let (cid, key) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), true).await;
    for edge in ["lab-edge-1", "lab-edge-2"] {
        assert_eq!(
            advertise_of(&env, edge, &key),
            Some(vec![]),
            "{edge}: nothing before a connection"
        );
    }
    let gw = vnet_and_gateway(&env, &env.a, SUB_A, "vnet1", "ErGw1AZ").await;
    let g0 = env.service.edges.generation();
    let conn = conn_path(SUB_A, RG, "c1");
    put_ok(&env, &env.a, &conn, &conn_body(&gw, &cid, 0), 201).await;
    assert!(
        env.service.edges.generation() > g0,
        "edges wake on a connection"
    );
    for edge in ["lab-edge-1", "lab-edge-2"] {
        assert_eq!(
            advertise_of(&env, edge, &key),
            Some(vec![VNET_PREFIX.to_owned()]),
            "{edge}"
        );
    }
    // A second VNet in another subscription, through an authorization; and an address space change.
    let auth = put_ok(
        &env,
        &env.a,
        &format!("{}/authorizations/b", circuit_path(SUB_A, "er-rg", "er1")),
        &json!({}),
        201,
    )
    .await;
    put_ok(
        &env,
        &env.b,
        &vnet_path(SUB_B, RG, "vb"),
        &vnet_body(
            &["10.50.0.0/16", "fd00:50::/48"],
            &[("GatewaySubnet", "10.50.255.0/27")],
        ),
        201,
    )
    .await;
    let gwb = put_ok(
        &env,
        &env.b,
        &gw_path(SUB_B, RG, "gwb"),
        &gw_body(SUB_B, RG, "vb", "Standard"),
        201,
    )
    .await;
    let body = with(
        &conn_body(gwb["id"].as_str().unwrap(), &cid, 0),
        "properties.authorizationKey",
        auth["properties"]["authorizationKey"].clone(),
    );
    put_ok(&env, &env.b, &conn_path(SUB_B, RG, "cb"), &body, 201).await;
    let g1 = env.service.edges.generation();
    put_ok(
        &env,
        &env.a,
        &vnet_path(SUB_A, RG, "vnet1"),
        &vnet_body(
            &[VNET_PREFIX, "10.2.0.0/16"],
            &[("GatewaySubnet", GW_SUBNET)],
        ),
        200,
    )
    .await;
    assert!(
        env.service.edges.generation() > g1,
        "edges wake on an address space change"
    );
    let want: Vec<String> = ["10.1.0.0/16", "10.2.0.0/16", "10.50.0.0/16", "fd00:50::/48"]
        .map(String::from)
        .to_vec();
    for edge in ["lab-edge-1", "lab-edge-2"] {
        assert_eq!(advertise_of(&env, edge, &key), Some(want.clone()), "{edge}");
    }
    let c = env.service.advertised_prefixes(
        &env.state()
            .into_iter()
            .find(|c| c.service_key == key)
            .unwrap(),
    );
    assert_eq!(c, want);
    // Deleting the connections withdraws the prefixes.
    env.delete(&env.a, &conn).await.expect(202);
    env.delete(&env.b, &conn_path(SUB_B, RG, "cb"))
        .await
        .expect(202);
    for edge in ["lab-edge-1", "lab-edge-2"] {
        assert_eq!(advertise_of(&env, edge, &key), Some(vec![]), "{edge}");
    }
}

fn learned(network: &str, next_hop: &str, path: &str) -> RouteReport {
    RouteReport {
        network: network.into(),
        next_hop: next_hop.into(),
        as_path: path.into(),
        local_pref: 100,
        learned: true,
    }
}

fn report(edge: &str, key: &str, routes: Vec<RouteReport>) -> EdgeReport {
    EdgeReport {
        edge: edge.into(),
        generation: 1,
        net_admin: true,
        circuits: vec![CircuitReport {
            service_key: key.into(),
            peerings: vec![PeeringReport {
                name: "AzurePrivatePeering".into(),
                routes,
                ..Default::default()
            }],
            ..Default::default()
        }],
        gateways: Vec::new(),
    }
}

#[tokio::test]
async fn gateway_learned_routes_come_from_both_links() {
    let env = Env::new();
    let (cid, key) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), true).await;
    let gw = vnet_and_gateway(&env, &env.a, SUB_A, "vnet1", "ErGw1AZ").await;
    let gpath = gw_path(SUB_A, RG, "vnet1-gw");
    put_ok(
        &env,
        &env.a,
        &conn_path(SUB_A, RG, "c1"),
        &conn_body(&gw, &cid, 100),
        201,
    )
    .await;

    // Nothing reported yet: empty, in the right shape.
    let r = env.post(&env.a, &format!("{gpath}/getLearnedRoutes")).await;
    r.expect(202);
    let res = env
        .raw(
            "GET",
            &r.header("location").unwrap(),
            Some(&env.a),
            None,
            &[],
        )
        .await;
    res.expect(200);
    assert_eq!(res.json(), json!({"value": []}));

    // The private peering's /30s: primary 192.168.15.16/30, secondary 192.168.15.20/30.
    let own = RouteReport {
        learned: false,
        ..learned(VNET_PREFIX, "192.168.15.18", "")
    };
    env.service
        .edge_report(
            "lab-edge-1",
            report(
                "lab-edge-1",
                &key,
                vec![
                    learned("172.16.0.0/16", "192.168.15.17", "65001"),
                    learned("172.16.0.0/16", "192.168.15.17", "65001"),
                    own.clone(),
                ],
            ),
        )
        .expect("report");
    env.service
        .edge_report(
            "lab-edge-2",
            report(
                "lab-edge-2",
                &key,
                vec![learned("172.16.0.0/16", "192.168.15.21", "65001 65001")],
            ),
        )
        .expect("report");
    let r = env.post(&env.a, &format!("{gpath}/getlearnedroutes")).await;
    r.expect(202);
    assert!(r.header("azure-asyncoperation").is_some());
    let v = env
        .raw(
            "GET",
            &r.header("location").unwrap(),
            Some(&env.a),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(
        v,
        json!({"value": [
            {"localAddress": "10.1.255.4", "network": "172.16.0.0/16", "nextHop": "192.168.15.17", "sourcePeer": "192.168.15.18", "origin": "EBgp", "asPath": "12076-65001", "weight": 100},
            {"localAddress": "10.1.255.4", "network": "172.16.0.0/16", "nextHop": "192.168.15.21", "sourcePeer": "192.168.15.22", "origin": "EBgp", "asPath": "12076-65001-65001", "weight": 100},
        ]})
    );
    // Advertised: the VNet's prefixes.
    let r = env
        .post(&env.a, &format!("{gpath}/getAdvertisedRoutes"))
        .await;
    r.expect(202);
    let v = env
        .raw(
            "GET",
            &r.header("location").unwrap(),
            Some(&env.a),
            None,
            &[],
        )
        .await
        .json();
    let nets: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["network"].as_str().unwrap())
        .collect();
    assert_eq!(nets, [VNET_PREFIX]);
    // GET is not how actions are called; other tenants get 404.
    env.get(&env.a, &format!("{gpath}/getLearnedRoutes"))
        .await
        .expect(405);
    env.post(&env.b, &format!("{gpath}/getLearnedRoutes"))
        .await
        .expect(404);
    env.post(
        &env.a,
        &format!("{}/getLearnedRoutes", gw_path(SUB_A, RG, "nope")),
    )
    .await
    .expect(404);
}

// ===== durability =====

#[tokio::test]
async fn cloud_resources_survive_a_restart() {
    use control::auth::{Principal, create_token};
    use control::catalog::Catalog;
    use control::http::{App, router};
    use control::service::Service;
    use control::store::Store;
    use std::sync::Arc;

    let dir = std::env::temp_dir().join(format!(
        "causeway-cloud-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("state.db");
    let start = || {
        let service = Arc::new(Service::new(
            Store::open(&db).expect("store"),
            Catalog::default(),
        ));
        let app = router(App {
            service: service.clone(),
        });
        (service, app)
    };
    let (service, app) = start();
    let token = service
        .with_store(|s| create_token(s, &Principal::Admin))
        .expect("token")
        .1;
    let env = Env {
        app,
        service,
        admin: token.clone(),
        a: token.clone(),
        b: token.clone(),
        lab: token.clone(),
        equinix: token.clone(),
    };
    let (cid, _) = circuit_with_peering(&env, &token, SUB_A, "er1", circuit_body(), true).await;
    let gw = vnet_and_gateway(&env, &token, SUB_A, "vnet1", "ErGw1AZ").await;
    put_ok(
        &env,
        &token,
        &conn_path(SUB_A, RG, "c1"),
        &conn_body(&gw, &cid, 3),
        201,
    )
    .await;
    let paths = [
        vnet_path(SUB_A, RG, "vnet1"),
        gw_path(SUB_A, RG, "vnet1-gw"),
        conn_path(SUB_A, RG, "c1"),
    ];
    let mut before = Vec::new();
    for p in &paths {
        before.push(env.get(&token, p).await.text);
    }
    let generation = env.service.edges.generation();
    drop(env);
    let (service, app) = start();
    assert_eq!(service.edges.generation(), generation);
    let env = Env {
        app,
        service,
        admin: token.clone(),
        a: token.clone(),
        b: token.clone(),
        lab: token.clone(),
        equinix: token.clone(),
    };
    for (p, b) in paths.iter().zip(before) {
        let r = env.get(&token, p).await;
        r.expect(200);
        assert_eq!(r.text, b, "{p}");
    }
    drop(env);
    let _ = std::fs::remove_dir_all(&dir);
}

// ===== the fabric: where gateways and edges meet =====

#[tokio::test]
async fn a_connection_puts_both_edges_and_the_gateway_on_the_vnet_fabric() {
    let env = Env::new();
    let (cid, key) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), true).await;
    let gw = vnet_and_gateway(&env, &env.a, SUB_A, "vnet1", "ErGw1AZ").await;
    let host = env
        .service
        .edge_desired("lab-gateway")
        .expect("gateway host");
    assert_eq!(host.gateways.len(), 1);
    assert!(host.gateways[0].peers.is_empty(), "no connection yet");
    assert!(
        host.circuits.is_empty(),
        "the gateway host carries no circuit"
    );

    put_ok(
        &env,
        &env.a,
        &conn_path(SUB_A, RG, "c1"),
        &conn_body(&gw, &cid, 42),
        201,
    )
    .await;
    let host = env
        .service
        .edge_desired("lab-gateway")
        .expect("gateway host");
    let g = &host.gateways[0];
    assert_eq!(g.id.to_ascii_lowercase(), gw.to_ascii_lowercase());
    // GatewaySubnet 10.1.255.0/27 (GW_SUBNET): gateway at +4, the connection's edges at +5, +6.
    let base: std::net::Ipv4Addr = GW_SUBNET.split('/').next().unwrap().parse().unwrap();
    let at = |o: u32| std::net::Ipv4Addr::from(u32::from(base) + o);
    assert_eq!(g.fabric.gateway, at(4));
    assert_eq!(g.fabric.gateway_as, 65515);
    assert_eq!(g.host_addresses, ["10.1.0.1/24"]);
    let peers: Vec<_> = g
        .peers
        .iter()
        .map(|p| (p.address, p.weight, p.role, p.service_key.clone()))
        .collect();
    assert_eq!(
        peers,
        [
            (at(5), 42, api::Role::Primary, key.clone()),
            (at(6), 42, api::Role::Secondary, key.clone())
        ]
    );
    for (edge, local) in [("lab-edge-1", at(5)), ("lab-edge-2", at(6))] {
        let d = env.service.edge_desired(edge).expect("desired");
        let c = d
            .circuits
            .iter()
            .find(|c| c.service_key == key)
            .expect("circuit");
        assert_eq!(c.vnets.len(), 1, "{edge}");
        let v = &c.vnets[0];
        assert_eq!(v.local, local, "{edge}");
        assert_eq!(v.fabric, g.fabric, "{edge}: one segment for all");
        assert_eq!(v.prefixes, [VNET_PREFIX], "{edge}");
    }

    // Deleting the connection takes the circuit off the fabric.
    env.delete(&env.a, &conn_path(SUB_A, RG, "c1")).await;
    let d = env.service.edge_desired("lab-edge-1").expect("desired");
    let c = d
        .circuits
        .iter()
        .find(|c| c.service_key == key)
        .expect("circuit");
    assert!(c.vnets.is_empty());
    let host = env
        .service
        .edge_desired("lab-gateway")
        .expect("gateway host");
    assert!(host.gateways[0].peers.is_empty());
}

#[tokio::test]
async fn learned_routes_come_from_the_running_gateway_when_its_host_reports() {
    let env = Env::new();
    let (cid, _key) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), true).await;
    let gw = vnet_and_gateway(&env, &env.a, SUB_A, "vnet1", "ErGw1AZ").await;
    let gpath = gw_path(SUB_A, RG, "vnet1-gw");
    put_ok(
        &env,
        &env.a,
        &conn_path(SUB_A, RG, "c1"),
        &conn_body(&gw, &cid, 7),
        201,
    )
    .await;
    // The gateway host reports the gateway's RIB: the customer's prefix from both edges,
    // at their fabric addresses (GatewaySubnet 10.1.255.0/27: +5 and +6).
    let route = |next_hop: &str| RouteReport {
        network: "172.16.0.0/16".into(),
        next_hop: next_hop.into(),
        as_path: "12076 65001".into(),
        local_pref: 100,
        learned: true,
    };
    let host = EdgeReport {
        edge: "lab-gateway".into(),
        generation: 1,
        net_admin: true,
        circuits: Vec::new(),
        gateways: vec![api::GatewayReport {
            id: gw.clone(),
            namespace: "cwg-test".into(),
            routes: vec![route("10.1.255.5"), route("10.1.255.6")],
            ..Default::default()
        }],
    };
    env.service
        .edge_report("lab-gateway", host)
        .expect("the gateway host may report");
    let r = env.post(&env.a, &format!("{gpath}/getLearnedRoutes")).await;
    r.expect(202);
    let v = env
        .raw(
            "GET",
            &r.header("location").unwrap(),
            Some(&env.a),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(
        v,
        json!({"value": [
            {"localAddress": "10.1.255.4", "network": "172.16.0.0/16", "nextHop": "10.1.255.5", "sourcePeer": "10.1.255.5", "origin": "EBgp", "asPath": "12076-65001", "weight": 7},
            {"localAddress": "10.1.255.4", "network": "172.16.0.0/16", "nextHop": "10.1.255.6", "sourcePeer": "10.1.255.6", "origin": "EBgp", "asPath": "12076-65001", "weight": 7},
        ]})
    );
}

// ===== reach: where a circuit's SKU lets it link =====

fn with_tier(body: &Value, tier: &str, family: &str) -> Value {
    with(
        body,
        "sku",
        json!({"name": format!("{tier}_{family}"), "tier": tier, "family": family}),
    )
}

/// A virtual network and gateway in `region`: returns the gateway id.
async fn vnet_and_gateway_in(env: &Env, name: &str, region: &str) -> String {
    let vnet = with(&default_vnet(), "location", json!(region));
    put_ok(env, &env.a, &vnet_path(SUB_A, RG, name), &vnet, 201).await;
    let gw = with(
        &gw_body(SUB_A, RG, name, "ErGw1AZ"),
        "location",
        json!(region),
    );
    let gw = put_ok(
        env,
        &env.a,
        &gw_path(SUB_A, RG, &format!("{name}-gw")),
        &gw,
        201,
    )
    .await;
    gw["id"].as_str().expect("gateway id").to_owned()
}

#[tokio::test]
async fn a_standard_circuit_links_only_inside_its_geopolitical_region_and_premium_anywhere() {
    let env = Env::new();
    let gw = vnet_and_gateway_in(&env, "weu", "westeurope").await;
    let body = circuit_at("Equinix", "Silicon Valley");
    let (c, _) = circuit_with_peering(&env, &env.a, SUB_A, "sv", body.clone(), false).await;
    let cpath = circuit_path(SUB_A, "er-rg", "sv");
    let circuit = env.get(&env.a, &cpath).await.json();
    let reach = &circuit["properties"]["causeway"]["reach"];
    assert_eq!(reach["scope"], "GeopoliticalRegion");
    assert_eq!(reach["geopoliticalRegion"], "North America");
    let regions: Vec<&str> = reach["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(regions.contains(&"westus") && regions.contains(&"canadacentral"));
    assert!(!regions.contains(&"westeurope"), "{regions:?}");

    // North America → West Europe needs Premium: refused, nothing changes, the message says so.
    let path = conn_path(SUB_A, RG, "sv-weu");
    let r = refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&conn_body(&gw, &c, 0)),
        400,
        "CircuitNotPremiumForGeopoliticalRegion",
        &path,
    )
    .await;
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("Premium") && msg.contains("Europe"), "{msg}");

    // Upgraded to Premium, the same link is accepted and says why it may exist.
    put_ok(
        &env,
        &env.a,
        &cpath,
        &with_tier(&body, "Premium", "MeteredData"),
        200,
    )
    .await;
    let circuit = env.get(&env.a, &cpath).await.json();
    assert_eq!(
        circuit["properties"]["causeway"]["reach"]["scope"],
        "Global"
    );
    let conn = put_ok(&env, &env.a, &path, &conn_body(&gw, &c, 0), 201).await;
    let reach = &conn["properties"]["causeway"]["reach"];
    assert_eq!(reach["virtualNetworkGeopoliticalRegion"], "Europe");
    assert_eq!(reach["circuitGeopoliticalRegion"], "North America");
    assert_eq!(reach["reachableWith"], json!(["Premium"]));

    // Back to Standard would strand the link: refused, the circuit stays Premium.
    let r = refused(
        &env,
        "PUT",
        &cpath,
        &env.a,
        Some(&with_tier(&body, "Standard", "MeteredData")),
        400,
        "CircuitSkuChangeStrandsConnection",
        &cpath,
    )
    .await;
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        msg.contains("sv-weu") && msg.contains("westeurope"),
        "{msg}"
    );
    assert_eq!(
        env.get(&env.a, &cpath).await.json()["sku"]["tier"],
        "Premium"
    );

    // Without the link the downgrade goes through.
    env.delete(&env.a, &path).await.expect(202);
    put_ok(
        &env,
        &env.a,
        &cpath,
        &with_tier(&body, "Standard", "MeteredData"),
        200,
    )
    .await;
}

#[tokio::test]
async fn a_local_circuit_reaches_only_its_metro_region() {
    let env = Env::new();
    let weu = vnet_and_gateway_in(&env, "weu", "westeurope").await;
    let neu = vnet_and_gateway_in(&env, "neu", "northeurope").await;
    let body = with_tier(
        &circuit_at("Equinix", "Amsterdam"),
        "Local",
        "UnlimitedData",
    );
    let (c, _) = circuit_with_peering(&env, &env.a, SUB_A, "ams", body, false).await;
    let circuit = env
        .get(&env.a, &circuit_path(SUB_A, "er-rg", "ams"))
        .await
        .json();
    let reach = &circuit["properties"]["causeway"]["reach"];
    assert_eq!(reach["scope"], "Metro");
    assert_eq!(reach["regions"], json!(["westeurope"]));

    let path = conn_path(SUB_A, RG, "ams-neu");
    let r = refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&conn_body(&neu, &c, 0)),
        400,
        "LocalCircuitCannotReachRegion",
        &path,
    )
    .await;
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        msg.contains("westeurope") && msg.contains("Standard"),
        "{msg}"
    );
    let conn = put_ok(
        &env,
        &env.a,
        &conn_path(SUB_A, RG, "ams-weu"),
        &conn_body(&weu, &c, 0),
        201,
    )
    .await;
    assert_eq!(
        conn["properties"]["causeway"]["reach"]["reachableWith"],
        json!(["Local", "Standard", "Premium"])
    );
}

#[tokio::test]
async fn locations_list_the_regions_and_hide_another_tenants_subscription() {
    let env = Env::new();
    let r = env
        .get(&env.a, &format!("/subscriptions/{SUB_A}/locations"))
        .await;
    r.expect(200);
    let list = r.json();
    let regions = list["value"].as_array().expect("value");
    let weu = regions
        .iter()
        .find(|l| l["name"] == "westeurope")
        .expect("westeurope listed");
    assert_eq!(weu["displayName"], "West Europe");
    assert_eq!(weu["regionalDisplayName"], "(Europe) West Europe");
    assert_eq!(weu["type"], "Region");
    assert_eq!(
        weu["id"],
        format!("/subscriptions/{SUB_A}/locations/westeurope")
    );
    assert!(regions.iter().any(|l| l["name"] == "eastus"));
    assert!(
        !regions.iter().any(|l| l["name"] == "usgovvirginia"),
        "no sovereign region here"
    );
    env.get(&env.a, &format!("/subscriptions/{SUB_B}/locations"))
        .await
        .expect(404);
}

/// The IPv4 route limit the edge is told for the circuit's private peering.
fn edge_v4_limit(env: &Env, key: &str) -> u32 {
    let d = env.service.edge_desired("lab-edge-1").expect("desired");
    let c = d
        .circuits
        .iter()
        .find(|c| c.service_key == key)
        .expect("circuit on lab-edge-1");
    c.peerings
        .iter()
        .find(|p| p.name == "AzurePrivatePeering")
        .expect("private peering")
        .max_prefixes_v4
}

fn sessions_report(key: &str, received: u32) -> EdgeReport {
    let mut r = report("lab-edge-1", key, Vec::new());
    r.circuits[0].peerings[0].sessions = vec![api::SessionReport {
        neighbor: "192.168.15.17".into(),
        remote_as: 65001,
        state: "Established".into(),
        prefixes_received: received,
        prefixes_accepted: received,
        family: "ipv4".into(),
        ..Default::default()
    }];
    r
}

#[tokio::test]
async fn a_tier_change_reaches_the_edges_at_once_and_a_downgrade_keeps_the_customers_routes() {
    let env = Env::new();
    let body = circuit_body();
    let (_, key) = circuit_with_peering(&env, &env.a, SUB_A, "er1", body.clone(), true).await;
    let cpath = circuit_path(SUB_A, "er-rg", "er1");
    assert_eq!(edge_v4_limit(&env, &key), 4_000);

    let before = env.service.edges.generation();
    put_ok(
        &env,
        &env.a,
        &cpath,
        &with_tier(&body, "Premium", "MeteredData"),
        200,
    )
    .await;
    assert!(
        env.service.edges.generation() > before,
        "the edges are told"
    );
    assert_eq!(edge_v4_limit(&env, &key), 10_000, "Premium's limit at once");

    // The customer announces 6,000 routes: Standard (4,000) would drop the session.
    env.service
        .edge_report("lab-edge-1", sessions_report(&key, 6_000))
        .expect("report");
    let r = refused(
        &env,
        "PUT",
        &cpath,
        &env.a,
        Some(&with_tier(&body, "Standard", "MeteredData")),
        400,
        "CircuitSkuChangeExceedsRouteLimit",
        &cpath,
    )
    .await;
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("6000") && msg.contains("4000"), "{msg}");
    assert_eq!(edge_v4_limit(&env, &key), 10_000);

    env.service
        .edge_report("lab-edge-1", sessions_report(&key, 3_000))
        .expect("report");
    put_ok(
        &env,
        &env.a,
        &cpath,
        &with_tier(&body, "Standard", "MeteredData"),
        200,
    )
    .await;
    assert_eq!(edge_v4_limit(&env, &key), 4_000);
}

// ===== Global Reach =====

fn gr_path(circuit: &str, name: &str) -> String {
    format!(
        "{}/peerings/AzurePrivatePeering/connections/{name}",
        circuit_path(SUB_A, "er-rg", circuit)
    )
}

fn gr_body(peer_circuit_id: &str, prefix: &str) -> Value {
    json!({"properties": {
        "peerExpressRouteCircuitPeering": {"id": format!("{peer_circuit_id}/peerings/AzurePrivatePeering")},
        "addressPrefix": prefix
    }})
}

#[tokio::test]
async fn global_reach_joins_two_circuits_on_one_side_and_the_peer_sees_it() {
    let env = Env::new();
    let (a, _) = circuit_with_peering(&env, &env.a, SUB_A, "a", circuit_body(), true).await;
    let (b, _) = circuit_with_peering(
        &env,
        &env.a,
        SUB_A,
        "b",
        circuit_at("Equinix", "Amsterdam"),
        false,
    )
    .await;
    let path = gr_path("a", "gr1");
    for (prefix, code) in [
        ("10.99.0.0/28", "InvalidGlobalReachAddressPrefix"),
        ("10.99.0.4/29", "InvalidGlobalReachAddressPrefix"),
        ("192.168.15.16/29", "GlobalReachAddressPrefixOverlaps"),
    ] {
        refused(
            &env,
            "PUT",
            &path,
            &env.a,
            Some(&gr_body(&b, prefix)),
            400,
            code,
            &path,
        )
        .await;
    }
    let g = put_ok(&env, &env.a, &path, &gr_body(&b, "10.99.0.0/29"), 201).await;
    assert_eq!(g["properties"]["addressPrefix"], "10.99.0.0/29");
    assert_eq!(
        g["properties"]["peerExpressRouteCircuitPeering"]["id"]
            .as_str()
            .map(str::to_ascii_lowercase),
        Some(format!("{b}/peerings/AzurePrivatePeering").to_ascii_lowercase())
    );
    assert_eq!(
        g["type"],
        "Microsoft.Network/expressRouteCircuits/peerings/connections"
    );

    // The peer shows it read-only, pointing back at the initiator.
    let bpeer = format!(
        "{}/peerings/AzurePrivatePeering/peerConnections",
        circuit_path(SUB_A, "er-rg", "b")
    );
    let list = env.get(&env.a, &bpeer).await.json();
    let items = list["value"].as_array().expect("value");
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["properties"]["connectionName"], "gr1");
    assert_eq!(
        items[0]["properties"]["peerExpressRouteCircuitPeering"]["id"]
            .as_str()
            .map(str::to_ascii_lowercase),
        Some(format!("{a}/peerings/AzurePrivatePeering").to_ascii_lowercase())
    );

    // One side only: the reverse is refused; the peer's private peering cannot go.
    let rev = gr_path("b", "back");
    refused(
        &env,
        "PUT",
        &rev,
        &env.a,
        Some(&gr_body(&a, "10.98.0.0/29")),
        409,
        "GlobalReachAlreadyConfigured",
        &rev,
    )
    .await;
    let bpp = format!(
        "{}/peerings/AzurePrivatePeering",
        circuit_path(SUB_A, "er-rg", "b")
    );
    refused(
        &env,
        "DELETE",
        &bpp,
        &env.a,
        None,
        400,
        "InUsePeeringCannotBeDeleted",
        &bpp,
    )
    .await;
    // Peer and prefix are fixed once made.
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&gr_body(&b, "10.97.0.0/29")),
        400,
        "GlobalReachConnectionCannotBeChanged",
        &path,
    )
    .await;

    env.delete(&env.a, &path).await.expect(202);
    env.get(&env.a, &path).await.expect(404);
    let list = env.get(&env.a, &bpeer).await.json();
    assert_eq!(list["value"], json!([]));
    env.delete(&env.a, &bpp).await.expect(202);
}

#[tokio::test]
async fn global_reach_needs_two_locations_no_local_and_premium_across_areas() {
    let env = Env::new();
    let (_ams, _) = circuit_with_peering(
        &env,
        &env.a,
        SUB_A,
        "ams",
        circuit_at("Equinix", "Amsterdam"),
        false,
    )
    .await;
    let (ams2, _) = circuit_with_peering(
        &env,
        &env.a,
        SUB_A,
        "ams2",
        circuit_at("Megaport", "Amsterdam"),
        false,
    )
    .await;
    let sv_body = circuit_at("Equinix", "Silicon Valley");
    let (sv, _) = circuit_with_peering(&env, &env.a, SUB_A, "sv", sv_body.clone(), false).await;
    let local = with_tier(&circuit_at("Equinix", "London"), "Local", "UnlimitedData");
    let (lon, _) = circuit_with_peering(&env, &env.a, SUB_A, "lon", local, false).await;

    let p = gr_path("ams", "x");
    refused(
        &env,
        "PUT",
        &p,
        &env.a,
        Some(&gr_body(&ams2, "10.99.0.0/29")),
        400,
        "GlobalReachSamePeeringLocation",
        &p,
    )
    .await;
    refused(
        &env,
        "PUT",
        &p,
        &env.a,
        Some(&gr_body(&lon, "10.99.0.0/29")),
        400,
        "GlobalReachNotSupportedOnLocalSku",
        &p,
    )
    .await;
    let r = refused(
        &env,
        "PUT",
        &p,
        &env.a,
        Some(&gr_body(&sv, "10.99.0.0/29")),
        400,
        "GlobalReachRequiresPremium",
        &p,
    )
    .await;
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        msg.contains("Europe") && msg.contains("North America"),
        "{msg}"
    );

    // Both Premium: across areas is allowed.
    let ams_premium = with_tier(
        &circuit_at("Equinix", "Amsterdam"),
        "Premium",
        "MeteredData",
    );
    put_ok(
        &env,
        &env.a,
        &circuit_path(SUB_A, "er-rg", "ams"),
        &ams_premium,
        200,
    )
    .await;
    refused(
        &env,
        "PUT",
        &p,
        &env.a,
        Some(&gr_body(&sv, "10.99.0.0/29")),
        400,
        "GlobalReachRequiresPremium",
        &p,
    )
    .await;
    put_ok(
        &env,
        &env.a,
        &circuit_path(SUB_A, "er-rg", "sv"),
        &with_tier(&sv_body, "Premium", "MeteredData"),
        200,
    )
    .await;
    put_ok(&env, &env.a, &p, &gr_body(&sv, "10.99.0.0/29"), 201).await;
}

#[tokio::test]
async fn global_reach_to_another_subscription_needs_and_uses_its_authorization() {
    let env = Env::new();
    circuit_with_peering(&env, &env.a, SUB_A, "mine", circuit_body(), true).await;
    let (theirs, _) = circuit_with_peering(
        &env,
        &env.b,
        SUB_B,
        "theirs",
        circuit_at("Equinix", "London"),
        false,
    )
    .await;
    let p = gr_path("mine", "to-b");
    refused(
        &env,
        "PUT",
        &p,
        &env.a,
        Some(&gr_body(&theirs, "10.99.0.0/29")),
        400,
        "AuthorizationKeyRequired",
        &p,
    )
    .await;
    // A circuit that does not exist answers the same.
    let ghost = circuit_path(SUB_B, "er-rg", "ghost")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let ghost = ghost.trim_end_matches('/').to_owned();
    refused(
        &env,
        "PUT",
        &p,
        &env.a,
        Some(&gr_body(&ghost, "10.99.0.0/29")),
        400,
        "AuthorizationKeyRequired",
        &p,
    )
    .await;

    let apath = format!(
        "{}/authorizations/gr",
        circuit_path(SUB_B, "er-rg", "theirs")
    );
    let auth = put_ok(&env, &env.b, &apath, &json!({}), 201).await;
    let key = auth["properties"]["authorizationKey"]
        .as_str()
        .expect("key")
        .to_owned();
    let mut body = gr_body(&theirs, "10.99.0.0/29");
    set(
        &mut body,
        "properties.authorizationKey",
        json!("00000000-0000-0000-0000-000000000000"),
    );
    refused(
        &env,
        "PUT",
        &p,
        &env.a,
        Some(&body),
        400,
        "InvalidAuthorizationKey",
        &p,
    )
    .await;
    set(&mut body, "properties.authorizationKey", json!(key));
    put_ok(&env, &env.a, &p, &body, 201).await;
    let auth = env.get(&env.b, &apath).await.json();
    assert_eq!(auth["properties"]["authorizationUseStatus"], "InUse");
    env.delete(&env.a, &p).await.expect(202);
    let auth = env.get(&env.b, &apath).await.json();
    assert_eq!(auth["properties"]["authorizationUseStatus"], "Available");
}

#[tokio::test]
async fn fast_path_needs_a_gateway_sku_that_offers_it() {
    let env = Env::new();
    let (c, _) = circuit_with_peering(&env, &env.a, SUB_A, "er1", circuit_body(), true).await;
    let small = vnet_and_gateway(&env, &env.a, SUB_A, "small", "ErGw1AZ").await;
    let path = conn_path(SUB_A, RG, "fp");
    let body = with(
        &conn_body(&small, &c, 0),
        "properties.expressRouteGatewayBypass",
        json!(true),
    );
    let r = refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&body),
        400,
        "FastPathNotSupportedOnGatewaySku",
        &path,
    )
    .await;
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("ErGw3AZ") && msg.contains("ErGw1AZ"), "{msg}");
    // Without FastPath the same link is fine; turning it on later is refused the same way.
    put_ok(&env, &env.a, &path, &conn_body(&small, &c, 0), 201).await;
    refused(
        &env,
        "PUT",
        &path,
        &env.a,
        Some(&body),
        400,
        "FastPathNotSupportedOnGatewaySku",
        &path,
    )
    .await;

    let big = vnet_and_gateway(&env, &env.a, SUB_A, "big", "ErGw3AZ").await;
    let fast = with(
        &conn_body(&big, &c, 0),
        "properties.expressRouteGatewayBypass",
        json!(true),
    );
    let conn = put_ok(&env, &env.a, &conn_path(SUB_A, RG, "fp-big"), &fast, 201).await;
    assert_eq!(conn["properties"]["expressRouteGatewayBypass"], true);
}

#[tokio::test]
async fn direct_port_locations_come_from_the_inventory() {
    let env = Env::new();
    let base =
        format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/ExpressRoutePortsLocations");
    let list = env.get(&env.a, &base).await.json();
    let names: Vec<&str> = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["Lab"],
        "only locations whose inventory sells Direct"
    );
    let lab = env.get(&env.a, &format!("{base}/Lab")).await;
    lab.expect(200);
    let speeds: Vec<u64> = lab.json()["properties"]["availableBandwidths"]
        .as_array()
        .expect("bandwidths")
        .iter()
        .filter_map(|b| b["valueInGbps"].as_u64())
        .collect();
    assert_eq!(speeds, [10, 100]);
    assert!(
        lab.json()["properties"]["address"]
            .as_str()
            .is_some_and(|a| !a.is_empty())
    );
    env.get(&env.a, &format!("{base}/Amsterdam"))
        .await
        .expect(404);
}
