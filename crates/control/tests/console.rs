//! The console in-process: sign-in and its cookie, CSRF on forms, what each tenant sees,
//! forms that show the API's validation messages as they are, the live JSON and the
//! configuration download. (The real browser drives it in tests/console.)

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

async fn send(
    env: &Env,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Page {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "127.0.0.1");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    let body = match form {
        Some(f) => {
            b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(f.to_owned())
        }
        None => Body::empty(),
    };
    let r = env
        .app
        .clone()
        .oneshot(b.body(body).expect("request"))
        .await
        .expect("answer");
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.into_body().collect().await.expect("body").to_bytes();
    Page {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs in with `token`: the session cookie and the page's CSRF token.
async fn sign_in(env: &Env, token: &str) -> (String, String) {
    let r = send(
        env,
        "POST",
        "/console/login",
        None,
        Some(&format!("token={}", enc(token))),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let set = r.headers[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "the session cookie lacks {flag}: {set}");
    }
    let cookie = set.split(';').next().expect("cookie pair").to_owned();
    let home = send(env, "GET", "/", Some(&cookie), None).await;
    assert_eq!(home.status, StatusCode::OK);
    let csrf = home
        .text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .expect("a CSRF token in the page")
        .to_owned();
    (cookie, csrf)
}

fn circuit_id(sub: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Network/expressRouteCircuits/{name}"
    )
}

#[tokio::test]
async fn a_wrong_token_does_not_sign_in_and_pages_need_a_session() {
    let env = Env::new();
    let r = send(&env, "POST", "/console/login", None, Some("token=cw_nope")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let r = send(&env, "GET", "/", None, None).await;
    assert!(r.text.contains("Sign in"), "{}", r.text);
    let csp = r.headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let r = send(
        &env,
        "GET",
        "/console/live?id=x",
        Some("cw_console=forged"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_tenant_sees_only_its_own_circuits_and_the_admin_sees_all() {
    let env = Env::new();
    env.create_circuit(&env.a, SUB_A, "rg", "er-a").await;
    env.create_circuit(&env.b, SUB_B, "rg", "er-b").await;
    let (a, _) = sign_in(&env, &env.a).await;
    let list = send(&env, "GET", "/", Some(&a), None).await.text;
    assert!(list.contains(">er-a<"), "{list}");
    assert!(!list.contains("er-b"), "A sees B's circuit: {list}");
    // B's circuit page reads exactly like a missing circuit.
    let other = send(
        &env,
        "GET",
        &format!("/console/circuit?id={}", enc(&circuit_id(SUB_B, "er-b"))),
        Some(&a),
        None,
    )
    .await;
    let missing = send(
        &env,
        "GET",
        &format!("/console/circuit?id={}", enc(&circuit_id(SUB_B, "nope"))),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other.text.replace("er-b", "X"),
        missing.text.replace("nope", "X"),
        "another tenant's circuit must read like a missing one"
    );
    let live = send(
        &env,
        "GET",
        &format!("/console/live?id={}", enc(&circuit_id(SUB_B, "er-b"))),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(live.status, StatusCode::NOT_FOUND);

    let (admin, _) = sign_in(&env, &env.admin).await;
    let list = send(&env, "GET", "/", Some(&admin), None).await.text;
    assert!(list.contains(">er-a<") && list.contains(">er-b<"), "{list}");

    // A provider sees its cross-connections, by service key, not the customers' circuits.
    let (lab, _) = sign_in(&env, &env.lab).await;
    let list = send(&env, "GET", "/", Some(&lab), None).await.text;
    assert!(list.contains("Cross-connections"), "{list}");
    assert!(!list.contains("er-a"), "{list}");
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_show_the_api_validation_message_as_is() {
    let env = Env::new();
    env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let (a, csrf) = sign_in(&env, &env.a).await;
    let id = enc(&circuit_id(SUB_A, "er"));
    let peering = |csrf: &str, vlan: &str| {
        format!(
            "csrf={csrf}&op=create_peering&id={id}&type=AzurePrivatePeering&peer_asn=65010&primary=172.16.0.0%2F30&secondary=172.16.0.4%2F30&vlan={vlan}&shared_key="
        )
    };
    // No token, a wrong token, or another site's Origin: refused, nothing written.
    for form in [peering("", "100"), peering("00", "100")] {
        let r = send(&env, "POST", "/console/action", Some(&a), Some(&form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let cross = env
        .app
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/console/action")
                .header(header::HOST, "127.0.0.1")
                .header(header::ORIGIN, "https://evil.example")
                .header(header::COOKIE, &a)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(peering(&csrf, "100")))
                .expect("request"),
        )
        .await
        .expect("answer");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let c = env.get(&env.a, &circuit_id(SUB_A, "er")).await;
    assert_eq!(c.json()["properties"]["peerings"], Value::Array(vec![]));

    // A VLAN the API refuses: the page shows the API's code and message.
    let api = env
        .put(
            &env.a,
            &format!("{}/peerings/AzurePrivatePeering", circuit_id(SUB_A, "er")),
            &serde_json::json!({"properties": {"peeringType": "AzurePrivatePeering", "peerASN": 65010,
                "primaryPeerAddressPrefix": "172.16.0.0/30", "secondaryPeerAddressPrefix": "172.16.0.4/30", "vlanId": 5000}}),
        )
        .await;
    let message = api.json()["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    let r = send(
        &env,
        "POST",
        "/console/action",
        Some(&a),
        Some(&peering(&csrf, "5000")),
    )
    .await;
    assert_eq!(r.status.as_u16(), api.status.as_u16());
    let shown = pages_text(&r.text);
    assert!(
        shown.contains(&message),
        "the form hides the API's message {message:?}: {shown}"
    );

    // The same form with a good VLAN creates the peering; deleting it removes it.
    let r = send(
        &env,
        "POST",
        "/console/action",
        Some(&a),
        Some(&peering(&csrf, "100")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let c = env.get(&env.a, &circuit_id(SUB_A, "er")).await;
    assert_eq!(
        c.json()["properties"]["peerings"][0]["properties"]["vlanId"],
        100
    );
    let del = format!("csrf={csrf}&op=delete_peering&id={id}&peering=AzurePrivatePeering");
    let r = send(&env, "POST", "/console/action", Some(&a), Some(&del)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let c = env.get(&env.a, &circuit_id(SUB_A, "er")).await;
    assert_eq!(c.json()["properties"]["peerings"], Value::Array(vec![]));
}

/// The page's text with the HTML escapes of quotes undone (messages quote names).
fn pages_text(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_circuit_page_draws_the_topology_and_the_live_json_names_both_links() {
    let env = Env::new();
    env.create_circuit(&env.a, SUB_A, "rg", "er").await;
    let (a, _) = sign_in(&env, &env.a).await;
    let id = enc(&circuit_id(SUB_A, "er"));
    let page = send(
        &env,
        "GET",
        &format!("/console/circuit?id={id}"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    for element in [
        "id=\"topology\"",
        "id=\"link-primary\"",
        "id=\"link-secondary\"",
        "id=\"traffic\"",
        "id=\"peering-form\"",
    ] {
        assert!(page.text.contains(element), "no {element}");
    }
    let live = send(
        &env,
        "GET",
        &format!("/console/live?id={id}"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(live.status, StatusCode::OK);
    let v: Value = serde_json::from_str(&live.text).expect("json");
    for role in ["primary", "secondary"] {
        assert_eq!(
            v["links"][role]["health"], "unknown",
            "no edge reported: {v}"
        );
        assert!(v["links"][role]["edge"].is_string());
    }
    // The download answers the generator's text (no peering yet: its clear error).
    let r = send(
        &env,
        "GET",
        &format!("/console/ce-config?id={id}&vendor=bird"),
        Some(&a),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("CircuitHasNoPeering"), "{}", r.text);
}
