//! The HTTP surface: one handler that authenticates, parses the ARM path (case-insensitive)
//! and hands the request to the [`Service`] on a blocking thread (SQLite is synchronous).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::arm::{ArmError, check_api_version, json_response, parse_path};
use crate::auth::authenticate;
use crate::service::{Reply, Request, Service};

#[derive(Debug, Clone)]
pub struct App {
    pub service: Arc<Service>,
    /// "https" or "http": the scheme of links we hand out.
    pub scheme: &'static str,
}

/// The whole API.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/edge/v1/{edge}/desired", get(edge_desired))
        .route("/edge/v1/{edge}/report", axum::routing::put(edge_report))
        .route("/admin/v1/inventory", get(get_inventory).put(put_inventory))
        .route("/metrics", get(get_metrics))
        .route(
            "/admin/v1/circuits/{service_key}/drain",
            axum::routing::put(put_drain),
        )
        .fallback(dispatch)
        .with_state(app)
}

async fn openapi() -> Response {
    json_response(StatusCode::OK, &crate::openapi::document())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

async fn dispatch(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = header_str(
        &headers,
        header::HeaderName::from_static("x-ms-client-request-id"),
    );
    let service = app.service.clone();
    // HTTP/2 carries the authority in the URI, HTTP/1.1 in the Host header.
    let host = uri
        .authority()
        .map(|a| a.to_string())
        .or_else(|| header_str(&headers, header::HOST))
        .unwrap_or_else(|| "127.0.0.1".into());
    let base = format!("{}://{host}", app.scheme);
    let result = tokio::task::spawn_blocking(move || {
        let Some(secret) = bearer(&headers) else {
            return Err(unauthenticated(
                "The request has no 'Authorization: Bearer <token>' header.",
            ));
        };
        let principal = service
            .with_store(|st| authenticate(st, &secret))?
            .ok_or_else(|| unauthenticated("The bearer token is unknown or revoked."))?;
        let target = parse_path(uri.path()).ok_or_else(|| {
            ArmError::new(
                StatusCode::NOT_FOUND,
                "InvalidResourceType",
                format!(
                    "No Microsoft.Network ExpressRoute resource is served at '{}'.",
                    uri.path()
                ),
            )
        })?;
        let api_version = check_api_version(query.get("api-version").map(String::as_str))?;
        let skip = query
            .get("$skipToken")
            .or_else(|| query.get("$skiptoken"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(serde_json::from_slice(&body).map_err(|e| {
                ArmError::bad_request(
                    "InvalidRequestFormat",
                    format!("The request body is not valid JSON: {e}."),
                )
            })?)
        };
        let req = Request {
            principal,
            method,
            target,
            api_version,
            base,
            path: uri.path().to_owned(),
            body,
            if_match: header_str(&headers, header::IF_MATCH),
            if_none_match: header_str(&headers, header::IF_NONE_MATCH),
            skip,
        };
        service.handle(&req)
    })
    .await;
    let mut response = match result {
        Ok(Ok(reply)) => reply_response(reply),
        Ok(Err(e)) => e.into_response(),
        Err(join) => {
            tracing::error!("request handler failed: {join}");
            ArmError::internal().into_response()
        }
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-ms-request-id", v.clone());
        h.insert("x-ms-correlation-request-id", v);
    }
    if let Some(v) = client_request_id.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert("x-ms-client-request-id", v);
    }
    response
}

fn unauthenticated(message: &str) -> ArmError {
    ArmError::new(StatusCode::UNAUTHORIZED, "AuthenticationFailed", message)
}

fn reply_response(reply: Reply) -> Response {
    let mut r = match &reply.body {
        Some(b) => json_response(reply.status, b),
        None => reply.status.into_response(),
    };
    for (name, value) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    r
}

// ===== edges and operators =====

/// Authenticates the bearer token on a blocking thread.
async fn principal(app: &App, headers: &HeaderMap) -> Result<crate::auth::Principal, ArmError> {
    let secret = bearer(headers).ok_or_else(|| {
        unauthenticated("The request has no 'Authorization: Bearer <token>' header.")
    })?;
    let service = app.service.clone();
    tokio::task::spawn_blocking(move || service.with_store(|st| authenticate(st, &secret)))
        .await
        .map_err(|_| ArmError::internal())??
        .ok_or_else(|| unauthenticated("The bearer token is unknown or revoked."))
}

fn forbidden(what: &str) -> ArmError {
    ArmError::new(
        StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        format!("This token may not {what}."),
    )
}

/// How long an edge's desired-state request waits for a change before answering anyway.
const LONG_POLL: std::time::Duration = std::time::Duration::from_secs(25);

/// `GET /edge/v1/{edge}/desired?after=N`: the edge's desired state as soon as its generation
/// differs from `after` (at once when it already does; after a long poll otherwise).
async fn edge_desired(
    State(app): State<App>,
    axum::extract::Path(edge): axum::extract::Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let p = principal(&app, &headers).await?;
        if !p.is_edge(&edge) {
            return Err(forbidden(&format!("act as edge '{edge}'")));
        }
        if let Some(after) = query.get("after").and_then(|a| a.parse::<u64>().ok()) {
            app.service.edges.wait_for_change(after, LONG_POLL).await;
        }
        let service = app.service.clone();
        let desired = tokio::task::spawn_blocking(move || service.edge_desired(&edge))
            .await
            .map_err(|_| ArmError::internal())??;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(desired).unwrap_or_default(),
        ))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT /edge/v1/{edge}/report`: the edge's live state.
async fn edge_report(
    State(app): State<App>,
    axum::extract::Path(edge): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let p = principal(&app, &headers).await?;
        if !p.is_edge(&edge) {
            return Err(forbidden(&format!("act as edge '{edge}'")));
        }
        let report: api::EdgeReport = serde_json::from_slice(&body).map_err(|e| {
            ArmError::bad_request(
                "InvalidRequestFormat",
                format!("The report is not valid: {e}."),
            )
        })?;
        app.service.edge_report(&edge, report)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn get_inventory(State(app): State<App>, headers: HeaderMap) -> Response {
    let result = async {
        if principal(&app, &headers).await? != crate::auth::Principal::Admin {
            return Err(forbidden("read the inventory"));
        }
        let inv = app.service.edges.inventory();
        Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(inv).unwrap_or_default(),
        ))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /metrics`: Prometheus metrics from the edges' reports (admin only).
async fn get_metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    let result = async {
        if principal(&app, &headers).await? != crate::auth::Principal::Admin {
            return Err(forbidden("read metrics"));
        }
        let service = app.service.clone();
        let circuits =
            tokio::task::spawn_blocking(move || service.with_store(|s| s.circuit_count()).ok())
                .await
                .map_err(|_| ArmError::internal())?;
        let text = crate::metrics::render(&app.service.edges.reports(), circuits);
        Ok(([(header::CONTENT_TYPE, api::metrics::CONTENT_TYPE)], text).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT /admin/v1/inventory`: replaces the edge inventory (validated, then persisted).
async fn put_inventory(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        if principal(&app, &headers).await? != crate::auth::Principal::Admin {
            return Err(forbidden("change the inventory"));
        }
        let inv: crate::inventory::Inventory = serde_json::from_slice(&body).map_err(|e| {
            ArmError::bad_request(
                "InvalidInventory",
                format!("The inventory is not valid: {e}."),
            )
        })?;
        inv.validate(&app.service.catalog)
            .map_err(|e| ArmError::bad_request("InvalidInventory", e.to_string()))?;
        let service = app.service.clone();
        let saved = inv.clone();
        tokio::task::spawn_blocking(move || service.set_inventory(saved))
            .await
            .map_err(|_| ArmError::internal())??;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(inv).unwrap_or_default(),
        ))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT /admin/v1/circuits/{serviceKey}/drain` with `{"link": "primary", "prepend": 3}`:
/// drains one link of a circuit with AS-path prepends (0 restores it).
async fn put_drain(
    State(app): State<App>,
    axum::extract::Path(service_key): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        if principal(&app, &headers).await? != crate::auth::Principal::Admin {
            return Err(forbidden("drain links"));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            ArmError::bad_request("InvalidRequestFormat", format!("Not JSON: {e}."))
        })?;
        let link = v["link"].as_str().unwrap_or_default().to_ascii_lowercase();
        if link != "primary" && link != "secondary" {
            return Err(ArmError::bad_request(
                "InvalidLink",
                "'link' must be primary or secondary.",
            ));
        }
        let prepend = v["prepend"]
            .as_u64()
            .filter(|p| *p <= 10)
            .ok_or_else(|| ArmError::bad_request("InvalidPrepend", "'prepend' must be 0 to 10."))?;
        let service = app.service.clone();
        tokio::task::spawn_blocking(move || service.set_drain(&service_key, &link, prepend as u8))
            .await
            .map_err(|_| ArmError::internal())??;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
