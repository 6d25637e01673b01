//! ARM template deployments as az and simple templates send them: literal resources with
//! `parameters('…')`, outputs by `reference('…')`, each resource through its own PUT.

mod common;

use common::*;
use serde_json::{Value, json};

fn dep_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB_A}/resourcegroups/dep-rg/providers/Microsoft.Resources/deployments/{name}"
    )
}

fn vnet(name: &str, prefix: &str) -> Value {
    json!({
        "type": "Microsoft.Network/virtualNetworks", "name": name, "apiVersion": "2025-01-01",
        "location": "[parameters('where')]", "dependsOn": [],
        "properties": {"addressSpace": {"addressPrefixes": [prefix]}}
    })
}

fn deployment(resources: Value, outputs: Value) -> Value {
    json!({"properties": {"mode": "Incremental", "template": {
        "$schema": "https://schema.management.azure.com/schemas/2015-01-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"where": {"type": "string"}},
        "resources": resources,
        "outputs": outputs
    }, "parameters": {"where": {"value": "westeurope"}}}})
}

#[tokio::test]
async fn a_template_deploys_its_resources_and_outputs_their_properties() {
    let env = Env::new();
    let body = deployment(
        json!([vnet("v1", "10.60.0.0/16")]),
        json!({"resource": {"type": "object", "value": "[reference('v1')]"}}),
    );
    let r = env.put(&env.a, &dep_path("d1"), &body).await;
    r.expect(201);
    let d = r.json();
    assert_eq!(d["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        d["properties"]["outputs"]["resource"]["value"]["addressSpace"]["addressPrefixes"],
        json!(["10.60.0.0/16"])
    );
    assert_eq!(
        d["properties"]["parameters"]["where"],
        json!({"type": "string"})
    );
    let v = env
        .get(
            &env.a,
            &format!("{}/virtualNetworks/v1", rg_path(SUB_A, "dep-rg")),
        )
        .await;
    v.expect(200);
    assert_eq!(v.json()["location"], "westeurope");
    env.get(&env.a, &dep_path("d1")).await.expect(200);
    env.get(&env.b, &dep_path("d1")).await.expect(404);
    // The group's delete takes the deployed network and the record with it.
    env.delete(
        &env.a,
        &format!("/subscriptions/{SUB_A}/resourcegroups/dep-rg"),
    )
    .await
    .expect(202);
    env.get(&env.a, &dep_path("d1")).await.expect(404);
}

#[tokio::test]
async fn an_unsupported_expression_deploys_nothing_and_a_refused_resource_says_why() {
    let env = Env::new();
    let vpath = format!("{}/virtualNetworks/v2", rg_path(SUB_A, "dep-rg"));
    let mut bad = vnet("v2", "10.61.0.0/16");
    bad["location"] = json!("[resourceGroup().location]");
    env.rejected(
        "PUT",
        &dep_path("d2"),
        &env.a,
        Some(&deployment(json!([bad]), json!({}))),
        &[],
        400,
        "InvalidTemplate",
        &vpath,
    )
    .await;
    let r = env
        .put(
            &env.a,
            &dep_path("d3"),
            &deployment(json!([vnet("v3", "not-a-prefix")]), json!({})),
        )
        .await;
    r.expect(400);
    assert_eq!(r.code(), "DeploymentFailed");
    let msg = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(msg.contains("virtualNetworks/v3"), "{msg}");
    env.get(&env.a, &dep_path("d3")).await.expect(404);
}
