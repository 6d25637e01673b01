//! Route filters, their rule, the BGP service communities they choose from, and the Microsoft
//! peering that names one: every rule refused with its ARM code and nothing changed.

mod common;

use common::*;
use serde_json::{Value, json};

const RG: &str = "rf-rg";

fn filter_path(sub: &str, name: &str) -> String {
    format!("{}/routeFilters/{name}", rg_path(sub, RG))
}

fn filter_body(rules: Value) -> Value {
    json!({"location": "westeurope", "tags": {"team": "net"}, "properties": {"rules": rules}})
}

fn rule(access: &str, communities: &[&str]) -> Value {
    json!({"name": "allow-services", "properties": {
        "access": access, "routeFilterRuleType": "Community", "communities": communities}})
}

#[tokio::test]
async fn service_communities_list_the_catalogues_services() {
    let env = Env::new();
    let r = env
        .get(
            &env.a,
            &format!("/subscriptions/{SUB_A}/providers/Microsoft.Network/bgpServiceCommunities"),
        )
        .await;
    r.expect(200);
    let list = r.json();
    let exchange = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .find(|s| s["name"] == "ExchangeOnline")
        .cloned()
        .expect("Exchange Online listed");
    let c = &exchange["properties"]["bgpCommunities"][0];
    assert_eq!(c["communityValue"], "12076:5010");
    assert!(
        !c["communityPrefixes"]
            .as_array()
            .expect("prefixes")
            .is_empty()
    );
}

#[tokio::test]
async fn a_filter_allows_known_service_communities_in_one_rule() {
    let env = Env::new();
    let path = filter_path(SUB_A, "rf1");
    for (body, code) in [
        (
            filter_body(json!([rule("Deny", &["12076:5010"])])),
            "RouteFilterRuleAccessNotSupported",
        ),
        (
            filter_body(json!([rule("Allow", &["12076:9999"])])),
            "InvalidRouteFilterRuleCommunity",
        ),
        (
            filter_body(json!([rule("Allow", &["exchange"])])),
            "InvalidRouteFilterRuleCommunity",
        ),
        (
            filter_body(json!([rule("Allow", &[])])),
            "InvalidRouteFilterRuleCommunity",
        ),
        (
            filter_body(
                json!([rule("Allow", &["12076:5010"]), {"name": "second", "properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": ["12076:5020"]}}]),
            ),
            "RouteFilterRuleLimitReached",
        ),
        (
            with(&filter_body(json!([])), "location", json!("moon")),
            "LocationNotAvailableForResourceType",
        ),
    ] {
        env.rejected("PUT", &path, &env.a, Some(&body), &[], 400, code, &path)
            .await;
    }
    let r = env
        .put(
            &env.a,
            &path,
            &filter_body(json!([rule("Allow", &["12076:5010", "12076:5020"])])),
        )
        .await;
    r.expect(201);
    let f = r.json();
    assert_eq!(f["type"], "Microsoft.Network/routeFilters");
    assert_eq!(
        f["properties"]["rules"][0]["properties"]["communities"],
        json!(["12076:5010", "12076:5020"])
    );
    assert_eq!(f["properties"]["peerings"], json!([]));

    // The rule as a child resource: replaced in place, a second refused.
    let rules = format!("{path}/routeFilterRules");
    let r = env
        .put(&env.a, &format!("{rules}/allow-services"), &json!({"properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": ["12076:5060"]}}))
        .await;
    r.expect(200);
    let listed = env.get(&env.a, &rules).await.json();
    assert_eq!(
        listed["value"][0]["properties"]["communities"],
        json!(["12076:5060"])
    );
    let second = format!("{rules}/second");
    env.rejected(
        "PUT",
        &second,
        &env.a,
        Some(&json!({"properties": {"access": "Allow", "routeFilterRuleType": "Community", "communities": ["12076:5010"]}})),
        &[],
        400,
        "RouteFilterRuleLimitReached",
        &path,
    )
    .await;
    // Another tenant sees nothing.
    env.get(&env.b, &path).await.expect(404);
}

#[tokio::test]
async fn a_microsoft_peering_names_its_filter_and_the_filter_shows_where_it_is_attached() {
    let env = Env::new();
    let fpath = filter_path(SUB_A, "rf1");
    let f = env
        .put(
            &env.a,
            &fpath,
            &filter_body(json!([rule("Allow", &["12076:5010"])])),
        )
        .await;
    f.expect(201);
    let fid = f.json()["id"].as_str().expect("id").to_owned();
    env.put(&env.a, &circuit_path(SUB_A, "er-rg", "er"), &circuit_body())
        .await
        .expect(201);
    let peerings = format!("{}/peerings", circuit_path(SUB_A, "er-rg", "er"));

    // Private peering takes no filter; another tenant's filter reads as missing.
    let private = with(
        &private_peering(),
        "properties.routeFilter",
        json!({"id": fid}),
    );
    env.rejected(
        "PUT",
        &format!("{peerings}/AzurePrivatePeering"),
        &env.a,
        Some(&private),
        &[],
        400,
        "RouteFilterNotSupportedOnPeering",
        &fpath,
    )
    .await;
    let theirs = filter_path(SUB_B, "rf-b");
    env.put(&env.b, &theirs, &filter_body(json!([])))
        .await
        .expect(201);
    let foreign = with(
        &microsoft_peering(),
        "properties.routeFilter",
        json!({"id": theirs}),
    );
    let ms = format!("{peerings}/MicrosoftPeering");
    env.rejected(
        "PUT",
        &ms,
        &env.a,
        Some(&foreign),
        &[],
        400,
        "InvalidResourceReference",
        &fpath,
    )
    .await;

    let body = with(
        &microsoft_peering(),
        "properties.routeFilter",
        json!({"id": fid}),
    );
    let r = env.put(&env.a, &ms, &body).await;
    r.expect(201);
    assert_eq!(
        r.json()["properties"]["routeFilter"]["id"]
            .as_str()
            .map(str::to_ascii_lowercase),
        Some(fid.to_ascii_lowercase())
    );
    let f = env.get(&env.a, &fpath).await.json();
    let attached: Vec<String> = f["properties"]["peerings"]
        .as_array()
        .expect("peerings")
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_ascii_lowercase))
        .collect();
    assert_eq!(attached, [ms.to_ascii_lowercase()]);
    env.rejected(
        "DELETE",
        &fpath,
        &env.a,
        None,
        &[],
        400,
        "InUseRouteFilterCannotBeDeleted",
        &fpath,
    )
    .await;

    // A peering PUT without the filter detaches it; then it may go.
    env.put(&env.a, &ms, &microsoft_peering()).await.expect(200);
    assert_eq!(
        env.get(&env.a, &fpath).await.json()["properties"]["peerings"],
        json!([])
    );
    env.delete(&env.a, &fpath).await.expect(202);
    env.get(&env.a, &fpath).await.expect(404);
}
