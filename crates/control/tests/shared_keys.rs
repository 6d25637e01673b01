//! `connections/{c}/sharedkey` on an ExpressRoute connection: GET answers the key resource
//! with an empty value (what Terraform reads on every connection read); PUT is refused and
//! changes nothing; another tenant's connection reads as missing.

mod common;

use common::*;
use serde_json::json;

const RG: &str = "net-rg";

/// A circuit with private peering, a VNet with a gateway, and a connection: its path.
async fn connection(env: &Env) -> String {
    let c = env.create_circuit(&env.a, SUB_A, "er-rg", "er1").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    env.provider_state(&key, "Provisioned").await;
    let circuit = circuit_path(SUB_A, "er-rg", "er1");
    env.put(
        &env.a,
        &format!("{circuit}/peerings/AzurePrivatePeering"),
        &private_peering(),
    )
    .await
    .expect(201);
    let vnet = format!("{}/virtualNetworks/v1", rg_path(SUB_A, RG));
    env.put(
        &env.a,
        &vnet,
        &json!({"location": "westeurope", "properties": {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "GatewaySubnet", "properties": {"addressPrefix": "10.1.255.0/27"}}]
        }}),
    )
    .await
    .expect(201);
    let gw = env
        .put(
            &env.a,
            &format!("{}/virtualNetworkGateways/gw1", rg_path(SUB_A, RG)),
            &json!({"location": "westeurope", "properties": {
                "gatewayType": "ExpressRoute",
                "sku": {"name": "Standard", "tier": "Standard"},
                "ipConfigurations": [{"name": "default", "properties": {
                    "subnet": {"id": format!("{vnet}/subnets/GatewaySubnet")}
                }}]
            }}),
        )
        .await;
    gw.expect(201);
    let path = format!("{}/connections/conn1", rg_path(SUB_A, RG));
    env.put(
        &env.a,
        &path,
        &json!({"location": "westeurope", "properties": {
            "connectionType": "ExpressRoute",
            "virtualNetworkGateway1": {"id": gw.json()["id"]},
            "peer": {"id": c["id"]},
            "routingWeight": 0
        }}),
    )
    .await
    .expect(201);
    path
}

#[tokio::test]
async fn an_expressroute_connection_has_an_empty_shared_key_that_cannot_be_set() {
    let env = Env::new();
    let conn = connection(&env).await;
    let key = format!("{conn}/sharedkey");
    let r = env.get(&env.a, &key).await;
    r.expect(200);
    assert_eq!(
        r.json(),
        json!({"id": format!("/subscriptions/{SUB_A}/resourceGroups/{RG}/providers/Microsoft.Network/connections/conn1/sharedkey"), "value": ""})
    );

    let before = env
        .service
        .with_store(|s| control::store::Read::dump(s))
        .expect("dump");
    let put = env.put(&env.a, &key, &json!({"value": "s3cret"})).await;
    put.expect(400);
    assert_eq!(put.code(), "SharedKeyNotSupportedOnExpressRouteConnection");
    assert!(!put.text.contains("s3cret"), "the key is never echoed");
    let after = env
        .service
        .with_store(|s| control::store::Read::dump(s))
        .expect("dump");
    assert_eq!(before, after, "a refused PUT changes nothing");
    assert_eq!(env.get(&env.a, &key).await.json()["value"], "");

    // Another tenant's, or a missing connection's, key reads as missing.
    env.get(&env.b, &key).await.expect(404);
    env.get(
        &env.a,
        &format!("{}/connections/nope/sharedkey", rg_path(SUB_A, RG)),
    )
    .await
    .expect(404);
}
