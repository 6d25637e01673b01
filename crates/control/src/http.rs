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
