//! Shared helpers for the in-process HTTP tests: a router over an in-memory store, tokens
//! for each kind of principal, and request helpers in the `Router::oneshot` style.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use control::auth::{Principal, create_token};
use control::catalog::Catalog;
use control::http::{App, router};
use control::model::Circuit;
use control::service::{DEFAULT_PAGE_SIZE, Service};
use control::store::Store;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A service on the backend `CAUSEWAY_TEST_STORE` names: `postgres` (a fresh schema on the
/// server `CAUSEWAY_TEST_POSTGRES` names; scripts/test starts one and runs the suites that
/// use this a second time so) or, by default, SQLite in memory.
pub fn test_service(catalog: Catalog) -> Service {
    if std::env::var("CAUSEWAY_TEST_STORE").as_deref() == Ok("postgres") {
        let url = std::env::var("CAUSEWAY_TEST_POSTGRES")
            .expect("CAUSEWAY_TEST_STORE=postgres needs CAUSEWAY_TEST_POSTGRES");
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let pool = control::store::postgres::Pool::connect(&url, Some(&schema))
            .expect("a PostgreSQL store");
        Service::open_postgres(pool, catalog, control::inventory::Inventory::default())
    } else {
        Service::new(Store::open_in_memory().expect("store"), catalog)
    }
}

/// What azure-mgmt-network 33.x sends.
pub const API: &str = "2026-03-01";
pub const SUB_A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
pub const SUB_B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
pub const LAB: &str = "Causeway Lab";
pub const LAB_SUB: &str = "00000000-0000-0000-0000-00000000c0de";
pub const LAB_RG: &str = "CrossConnection-Lab";
pub const EQUINIX_SUB: &str = "00000000-0000-0000-0000-0000000e0001";
pub const SHARED_KEY: &str = "Md5-S3cret!Key#42";

/// One control plane, in memory, with a token per principal.
#[derive(Debug, Clone)]
pub struct Env {
    pub app: Router,
    pub service: Arc<Service>,
    pub admin: String,
    /// Customer of SUB_A.
    pub a: String,
    /// Customer of SUB_B.
    pub b: String,
    /// Provider "Causeway Lab".
    pub lab: String,
    /// Provider "Equinix".
    pub equinix: String,
}

impl Env {
    pub fn new() -> Env {
        Env::with(Catalog::default(), DEFAULT_PAGE_SIZE)
    }

    pub fn with(catalog: Catalog, page_size: usize) -> Env {
        let mut service = test_service(catalog);
        service.page_size = page_size;
        let service = Arc::new(service);
        let tok = |p: Principal| {
            service
                .with_store(|s| create_token(s, &p))
                .expect("token")
                .1
        };
        let admin = tok(Principal::Admin);
        let a = tok(Principal::Customer {
            subscriptions: vec![SUB_A.into()],
        });
        let b = tok(Principal::Customer {
            subscriptions: vec![SUB_B.into()],
        });
        let lab = tok(Principal::Provider { name: LAB.into() });
        let equinix = tok(Principal::Provider {
            name: "Equinix".into(),
        });
        let app = router(App {
            service: service.clone(),
        });
        Env {
            app,
            service,
            admin,
            a,
            b,
            lab,
            equinix,
        }
    }

    /// A new token for `p`: (id, secret).
    pub fn token(&self, p: Principal) -> (String, String) {
        self.service
            .with_store(|s| create_token(s, &p))
            .expect("token")
    }

    /// Every stored circuit (the whole customer-visible state, etags included).
    pub fn state(&self) -> Vec<Circuit> {
        self.service
            .with_store(|s| {
                control::store::Read::list(s, "expressRouteCircuits", None, None, 0, usize::MAX)
            })
            .expect("all circuits")
            .into_iter()
            .map(|(_, body)| serde_json::from_str(&body).expect("a stored circuit"))
            .collect()
    }

    /// Sends a request exactly as given (`uri` may be a full `https://host/...` link).
    pub async fn raw(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let uri = uri
            .strip_prefix("https://127.0.0.1")
            .or_else(|| uri.strip_prefix("https://localhost"))
            .unwrap_or(uri);
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            b = b.header("content-type", "application/json");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b
            .body(Body::from(body.unwrap_or("").to_owned()))
            .expect("request");
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        Resp {
            method: method.to_owned(),
            uri: uri.to_owned(),
            status,
            headers,
            text: String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
        }
    }

    /// Sends with `api-version` = [`API`] appended to `path`.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let text = body.map(Value::to_string);
        self.raw(
            method,
            &with_api(path),
            Some(token),
            text.as_deref(),
            headers,
        )
        .await
    }

    pub async fn get(&self, token: &str, path: &str) -> Resp {
        self.send("GET", path, token, None, &[]).await
    }

    pub async fn put(&self, token: &str, path: &str, body: &Value) -> Resp {
        self.send("PUT", path, token, Some(body), &[]).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: &Value) -> Resp {
        self.send("PATCH", path, token, Some(body), &[]).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Resp {
        self.send("DELETE", path, token, None, &[]).await
    }

    pub async fn post(&self, token: &str, path: &str) -> Resp {
        self.send("POST", path, token, None, &[]).await
    }

    /// Creates a circuit (asserting 201) and returns its body.
    pub async fn create_circuit(&self, token: &str, sub: &str, rg: &str, name: &str) -> Value {
        let r = self
            .put(token, &circuit_path(sub, rg, name), &circuit_body())
            .await;
        r.expect(201);
        r.json()
    }

    /// The provider moves a circuit (by service key) to `state`, asserting 200.
    pub async fn provider_state(&self, service_key: &str, state: &str) -> Resp {
        let r = self
            .put(
                &self.lab,
                &cross_path(service_key),
                &json!({"properties": {"serviceProviderProvisioningState": state}}),
            )
            .await;
        r.expect(200);
        r
    }

    /// Sends a request that must be refused with `status`/`code` and change nothing: the
    /// whole store is identical afterwards and a GET of `check` answers the same bytes
    /// (etag included) as before.
    #[allow(clippy::too_many_arguments)]
    pub async fn rejected(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        status: u16,
        code: &str,
        check: &str,
    ) -> Resp {
        let before = self.state();
        let get_before = self.get(&self.admin, check).await;
        let r = self.send(method, path, token, body, headers).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{method} {path} with {body:?}: expected {status} {code}, got {} {}",
            r.status,
            r.text
        );
        assert_eq!(r.code(), code, "{method} {path} with {body:?}: {}", r.text);
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "an error has a message: {}",
            r.text
        );
        assert_eq!(
            self.state(),
            before,
            "rejected {method} {path} changed the store"
        );
        let get_after = self.get(&self.admin, check).await;
        assert_eq!(get_after.status, get_before.status);
        assert_eq!(
            get_after.text, get_before.text,
            "rejected {method} {path} changed what GET {check} answers"
        );
        r
    }
}

/// An answer, with its body as text.
#[derive(Debug, Clone)]
pub struct Resp {
    pub method: String,
    pub uri: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {:?}",
                self.method, self.uri, self.text
            )
        })
    }

    /// The ARM error code.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_owned())
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{} {}: {}",
            self.method,
            self.uri,
            self.text
        );
        self
    }
}

pub fn with_api(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version={API}")
}

pub fn rg_path(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network")
}

pub fn circuit_path(sub: &str, rg: &str, name: &str) -> String {
    format!("{}/expressRouteCircuits/{name}", rg_path(sub, rg))
}

pub fn cross_path(service_key: &str) -> String {
    format!(
        "{}/expressRouteCrossConnections/{service_key}",
        rg_path(LAB_SUB, LAB_RG)
    )
}

pub fn circuit_body() -> Value {
    json!({
        "location": "West Europe",
        "tags": {"env": "test"},
        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
        "properties": {
            "serviceProviderProperties": {
                "serviceProviderName": LAB,
                "peeringLocation": "Lab",
                "bandwidthInMbps": 50
            }
        }
    })
}

pub fn private_peering() -> Value {
    json!({
        "properties": {
            "peeringType": "AzurePrivatePeering",
            "peerASN": 65001,
            "primaryPeerAddressPrefix": "192.168.15.16/30",
            "secondaryPeerAddressPrefix": "192.168.15.20/30",
            "vlanId": 100,
            "sharedKey": SHARED_KEY
        }
    })
}

pub fn microsoft_peering() -> Value {
    json!({
        "properties": {
            "peeringType": "MicrosoftPeering",
            "peerASN": 64512,
            "primaryPeerAddressPrefix": "123.0.0.0/30",
            "secondaryPeerAddressPrefix": "123.0.0.4/30",
            "vlanId": 200,
            "microsoftPeeringConfig": {
                "advertisedPublicPrefixes": ["123.1.0.0/24"],
                "customerASN": 64513,
                "routingRegistryName": "ARIN"
            }
        }
    })
}

/// Sets `value` at the dot-separated `path` inside `v`, creating objects on the way.
pub fn set(v: &mut Value, path: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        if cur.get(*p).is_none() {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
    cur[parts[parts.len() - 1]] = value;
}

/// Removes the dot-separated `path` from `v`.
pub fn remove(v: &mut Value, path: &str) {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = v;
    for p in &parts[..parts.len() - 1] {
        cur = &mut cur[*p];
    }
    if let Some(o) = cur.as_object_mut() {
        o.remove(parts[parts.len() - 1]);
    }
}

/// A copy of `base` with `path` set to `value`.
pub fn with(base: &Value, path: &str, value: Value) -> Value {
    let mut v = base.clone();
    set(&mut v, path, value);
    v
}
