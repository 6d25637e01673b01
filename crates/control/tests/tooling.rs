//! What Azure's own tools need before they touch a circuit: the cloud metadata document,
//! the token endpoint (client credentials → an access token the API accepts), the
//! subscriptions and tenants `az login` lists, resource groups and resource providers.

mod common;

use common::*;
use control::auth::Principal;
use serde_json::{Value, json};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

fn form(id: &str, secret: &str, scope: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        enc(id),
        enc(secret),
        enc(scope)
    )
}

#[tokio::test]
async fn the_metadata_document_leads_to_a_token_the_api_accepts() {
    let env = Env::new();
    let (app, secret) = env.token(Principal::Customer {
        subscriptions: vec![SUB_A.into()],
    });
    // Discovery, with no token: what `az cloud register` and Terraform read.
    let m = env
        .raw(
            "GET",
            "/metadata/endpoints?api-version=2022-09-01",
            None,
            None,
            &[],
        )
        .await;
    m.expect(200);
    let m = m.json();
    let login = m["authentication"]["loginEndpoint"]
        .as_str()
        .expect("login");
    let audience = m["authentication"]["audiences"][0].as_str().expect("aud");
    assert!(login.ends_with("/adfs"), "{login}");
    let oidc = env
        .raw(
            "GET",
            &format!("{login}/.well-known/openid-configuration"),
            None,
            None,
            &[],
        )
        .await;
    oidc.expect(200);
    let token_url = oidc.json()["token_endpoint"]
        .as_str()
        .expect("token endpoint")
        .to_owned();

    // MSAL's way (the discovered v1 endpoint) and Terraform's (`{login}/{tenant}/oauth2/v2.0/token`).
    let tenant = env.service.directory.tenant.clone();
    env.create_circuit(&env.b, SUB_B, "rg", "theirs").await;
    for url in [token_url, format!("{login}/{tenant}/oauth2/v2.0/token")] {
        let r = env
            .raw(
                "POST",
                &url,
                None,
                Some(&form(&app, &secret, &format!("{audience}.default"))),
                &[FORM],
            )
            .await;
        r.expect(200);
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
        let t = r.json();
        assert_eq!(t["token_type"], "Bearer");
        assert!(t["expires_in"].as_u64().expect("expires_in") > 3000);
        let access = t["access_token"].as_str().expect("access token");
        assert!(!access.contains(&secret));

        // The access token works like the bearer token it came from …
        let c = env
            .send(
                "PUT",
                &circuit_path(SUB_A, "rg", "via-oauth"),
                access,
                Some(&circuit_body()),
                &[],
            )
            .await;
        assert!(c.status.is_success(), "{}", c.text);
        env.get(access, &circuit_path(SUB_A, "rg", "via-oauth"))
            .await
            .expect(200);
        // … with the same scope: another tenant's circuit reads as missing.
        env.get(access, &circuit_path(SUB_B, "rg", "theirs"))
            .await
            .expect(404);
    }

    // Revoking the application ends its access tokens at once.
    let r = env
        .raw(
            "POST",
            &format!("{login}/oauth2/token"),
            None,
            Some(&form(&app, &secret, &format!("{audience}.default"))),
            &[FORM],
        )
        .await;
    let access = r.json()["access_token"].as_str().expect("token").to_owned();
    env.service
        .with_store(|s| s.revoke_token(&app))
        .expect("revoke");
    let r = env
        .get(&access, &circuit_path(SUB_A, "rg", "via-oauth"))
        .await;
    r.expect(401);
}

#[tokio::test]
async fn a_bad_secret_gets_invalid_client_and_a_forged_token_gets_401() {
    let env = Env::new();
    let (app, secret) = env.token(Principal::Customer {
        subscriptions: vec![SUB_A.into()],
    });
    let r = env
        .raw(
            "POST",
            "/adfs/oauth2/token",
            None,
            Some(&form(
                &app,
                "cw_not-the-secret",
                "https://127.0.0.1/.default",
            )),
            &[FORM],
        )
        .await;
    r.expect(401);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(!r.text.contains("cw_not-the-secret"));
    // Basic credentials are read too (client_secret_basic).
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{app}:{secret}"));
    let r = env
        .raw(
            "POST",
            "/adfs/oauth2/v2.0/token",
            None,
            Some("grant_type=client_credentials&scope=https%3A%2F%2F127.0.0.1%2F.default"),
            &[FORM, ("authorization", &format!("Basic {basic}"))],
        )
        .await;
    r.expect(200);
    let access = r.json()["access_token"].as_str().expect("token").to_owned();
    // One flipped character of the signature: refused.
    let mut forged = access.clone();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let r = env.get(&forged, &format!("/subscriptions/{SUB_A}")).await;
    r.expect(401);
    env.get(&access, &format!("/subscriptions/{SUB_A}"))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_principal_lists_its_own_subscriptions_and_the_one_tenant() {
    let env = Env::new();
    let tenant = env.service.directory.tenant.clone();
    let r = env.get(&env.a, "/subscriptions").await;
    r.expect(200);
    let subs: Vec<Value> = r.json()["value"].as_array().expect("value").clone();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["subscriptionId"], SUB_A);
    assert_eq!(subs[0]["tenantId"], tenant.as_str());
    assert_eq!(subs[0]["state"], "Enabled");
    env.get(&env.a, &format!("/subscriptions/{SUB_A}"))
        .await
        .expect(200);
    let other = env.get(&env.a, &format!("/subscriptions/{SUB_B}")).await;
    other.expect(404);
    assert_eq!(other.code(), "SubscriptionNotFound");
    // The admin sees every subscription a token names.
    let all = env.get(&env.admin, "/subscriptions").await.json();
    let ids: Vec<&str> = all["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|s| s["subscriptionId"].as_str().expect("id"))
        .collect();
    assert!(ids.contains(&SUB_A) && ids.contains(&SUB_B), "{ids:?}");
    let t = env.get(&env.a, "/tenants").await.json();
    assert_eq!(t["value"][0]["tenantId"], tenant.as_str());
}

fn group(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourcegroups/{rg}")
}

#[tokio::test]
async fn resource_groups_are_created_read_listed_and_tagged() {
    let env = Env::new();
    let path = group(SUB_A, "Network-RG");
    let r = env.send("HEAD", &path, &env.a, None, &[]).await;
    r.expect(404);
    let r = env
        .put(
            &env.a,
            &path,
            &json!({"location": "West Europe", "tags": {"env": "lab"}}),
        )
        .await;
    r.expect(201);
    let g = r.json();
    assert_eq!(g["location"], "westeurope");
    assert_eq!(g["type"], "Microsoft.Resources/resourceGroups");
    assert_eq!(g["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        g["id"],
        format!("/subscriptions/{SUB_A}/resourceGroups/Network-RG")
    );
    // `az group exists`: 204, no body.
    let r = env
        .send("HEAD", &group(SUB_A, "network-rg"), &env.a, None, &[])
        .await;
    r.expect(204);
    assert!(r.text.is_empty());
    // Another tenant: as if missing, and cannot create it.
    env.send("HEAD", &path, &env.b, None, &[]).await.expect(404);
    env.get(&env.b, &path).await.expect(404);
    env.put(
        &env.b,
        &group(SUB_A, "x"),
        &json!({"location": "westeurope"}),
    )
    .await
    .expect(403);
    // Same location again: 200; another location: 409.
    env.put(&env.a, &path, &json!({"location": "westeurope"}))
        .await
        .expect(200);
    let r = env.put(&env.a, &path, &json!({"location": "eastus"})).await;
    r.expect(409);
    assert_eq!(r.code(), "InvalidResourceGroupLocation");
    // Validation up front, nothing stored.
    for (body, code) in [
        (json!({}), "InvalidRequestFormat"),
        (
            json!({"location": "moon"}),
            "LocationNotAvailableForResourceType",
        ),
    ] {
        let r = env.put(&env.a, &group(SUB_A, "bad"), &body).await;
        r.expect(400);
        assert_eq!(r.code(), code, "{body}");
    }
    env.get(&env.a, &group(SUB_A, "bad")).await.expect(404);
    let r = env
        .put(
            &env.a,
            &group(SUB_A, "ends."),
            &json!({"location": "westeurope"}),
        )
        .await;
    r.expect(400);
    assert_eq!(r.code(), "InvalidResourceGroupName");
    // PATCH tags.
    let r = env
        .patch(&env.a, &path, &json!({"tags": {"owner": "net"}}))
        .await;
    r.expect(200);
    assert_eq!(r.json()["tags"], json!({"owner": "net"}));
    // List.
    let r = env
        .get(&env.a, &format!("/subscriptions/{SUB_A}/resourcegroups"))
        .await;
    r.expect(200);
    assert_eq!(r.json()["value"].as_array().expect("value").len(), 1);
    assert!(
        env.get(&env.b, &format!("/subscriptions/{SUB_B}/resourcegroups"))
            .await
            .json()["value"]
            .as_array()
            .expect("value")
            .is_empty()
    );
}

#[tokio::test]
async fn a_group_that_only_holds_resources_reads_with_their_location() {
    let env = Env::new();
    env.create_circuit(&env.a, SUB_A, "implicit", "er").await;
    let r = env.get(&env.a, &group(SUB_A, "implicit")).await;
    r.expect(200);
    assert_eq!(r.json()["location"], "westeurope");
    env.send("HEAD", &group(SUB_A, "implicit"), &env.a, None, &[])
        .await
        .expect(204);
}

#[tokio::test]
async fn deleting_a_group_deletes_what_it_holds_unless_a_circuit_is_provisioned() {
    let env = Env::new();
    let path = group(SUB_A, "rg");
    env.put(&env.a, &path, &json!({"location": "westeurope"}))
        .await
        .expect(201);
    let c = env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let key = c["properties"]["serviceKey"]
        .as_str()
        .expect("key")
        .to_owned();
    env.provider_state(&key, "Provisioned").await.expect(200);
    let r = env.delete(&env.a, &path).await;
    r.expect(409);
    assert_eq!(r.code(), "ResourceGroupDeletionBlocked");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .expect("m")
            .contains("er")
    );
    // Nothing was deleted.
    env.get(&env.a, &circuit_path(SUB_A, "rg", "er"))
        .await
        .expect(200);
    env.get(&env.a, &path).await.expect(200);

    for state in ["Deprovisioning", "NotProvisioned"] {
        env.provider_state(&key, state).await.expect(200);
    }
    env.create_circuit(&env.a, SUB_A, "rg", "er2").await;
    env.create_circuit(&env.a, SUB_A, "other", "kept").await;
    let r = env.delete(&env.a, &path).await;
    r.expect(202);
    assert!(r.header("location").is_some());
    env.get(&env.a, &path).await.expect(404);
    for name in ["er", "er2"] {
        env.get(&env.a, &circuit_path(SUB_A, "rg", name))
            .await
            .expect(404);
    }
    env.get(&env.a, &circuit_path(SUB_A, "other", "kept"))
        .await
        .expect(200);
    env.delete(&env.a, &path).await.expect(404);
}

#[tokio::test]
async fn providers_list_the_network_types_and_any_namespace_can_be_registered() {
    let env = Env::new();
    let r = env
        .get(&env.a, &format!("/subscriptions/{SUB_A}/providers"))
        .await;
    r.expect(200);
    let list = r.json();
    let network = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .find(|p| p["namespace"] == "Microsoft.Network")
        .expect("Microsoft.Network")
        .clone();
    assert_eq!(network["registrationState"], "Registered");
    let types: Vec<&str> = network["resourceTypes"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["resourceType"].as_str().expect("type"))
        .collect();
    for t in [
        "expressRouteCircuits",
        "expressRouteCircuits/peerings",
        "virtualNetworks",
        "virtualNetworkGateways",
        "connections",
    ] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }
    assert!(
        network["resourceTypes"][0]["apiVersions"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    );
    let ns = format!("/subscriptions/{SUB_A}/providers/Microsoft.Compute");
    assert_eq!(
        env.get(&env.a, &ns).await.json()["registrationState"],
        "NotRegistered"
    );
    let r = env.post(&env.a, &format!("{ns}/register")).await;
    r.expect(200);
    assert_eq!(r.json()["registrationState"], "Registered");
    assert_eq!(
        env.get(&env.a, &ns).await.json()["registrationState"],
        "Registered"
    );
    // Registered in A only.
    assert_eq!(
        env.get(
            &env.b,
            &format!("/subscriptions/{SUB_B}/providers/Microsoft.Compute")
        )
        .await
        .json()["registrationState"],
        "NotRegistered"
    );
}
