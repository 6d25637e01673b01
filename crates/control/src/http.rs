//! The HTTP surface. The ARM handler is thin: authenticate the bearer token, parse the query
//! and the body (JSON only, duplicate keys refused), hand a [`Request`] to the [`Service`] on
//! a blocking thread (SQLite is synchronous) and map its [`Outcome`] or [`ArmError`] to a
//! response — in one place, [`outcome_response`] and [`error_response`].

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::HashMap;

use crate::arm::etag::Preconditions;
use crate::arm::{ArmError, Outcome, Status, Verb};
use crate::auth::Principal;
use crate::identity::{self, TokenRequest};
use crate::service::{Request, Service};

#[derive(Debug, Clone)]
pub struct App {
    pub service: Arc<Service>,
}

/// The whole API.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/edge/v1/{edge}/desired", get(edge_desired))
        .route("/edge/v1/{edge}/report", axum::routing::put(edge_report))
        .route("/admin/v1/inventory", get(get_inventory).put(put_inventory))
        .route("/metrics", get(get_metrics))
        .route("/metadata/endpoints", get(cloud_metadata))
        .route(
            "/adfs/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/adfs/{tenant}/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/adfs/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route(
            "/adfs/discovery/keys",
            get(|| async { Json(identity::keys()) }),
        )
        .route("/adfs/oauth2/token", post(token_v1))
        .route("/adfs/oauth2/v2.0/token", post(token_v2))
        .route("/adfs/{tenant}/oauth2/token", post(token_v1_in))
        .route("/adfs/{tenant}/oauth2/v2.0/token", post(token_v2_in))
        .route(
            "/admin/v1/circuits/{service_key}/drain",
            axum::routing::put(put_drain),
        )
        .fallback(dispatch)
        .with_state(app.clone())
        .merge(crate::console::router(app.service))
}

// ===== responses =====

/// A JSON answer with ARM's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    json_text(status, body.to_string())
}

fn json_text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn status_code(s: Status) -> StatusCode {
    StatusCode::from_u16(s.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An ARM error as a response: its status and `{"error":{"code","message"}}`.
pub fn error_response(e: &ArmError) -> Response {
    let mut r = json_response(status_code(e.status), &e.body());
    if e.status == Status::MethodNotAllowed {
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, PUT, PATCH, DELETE, POST"),
        );
    }
    r
}

/// A handler's outcome as a response.
pub fn outcome_response(o: Outcome) -> Response {
    let (status, body, lro) = match o {
        Outcome::Ok(v) => (StatusCode::OK, Some(v), None),
        Outcome::Written { created, body, lro } => (
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Some(body),
            lro,
        ),
        Outcome::Accepted(lro) => (StatusCode::ACCEPTED, None, Some(lro)),
        Outcome::NoContent => (StatusCode::NO_CONTENT, None, None),
    };
    let mut r = match body {
        Some(b) => json_text(status, b.into_string()),
        None => status.into_response(),
    };
    if let Some(l) = lro {
        let h = r.headers_mut();
        for (name, value) in [
            ("azure-asyncoperation", l.status_url),
            ("location", l.result_url),
            ("retry-after", l.retry_after.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
    }
    r
}

// ===== the ARM handler =====

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

fn unauthenticated(message: &str) -> ArmError {
    ArmError::new(Status::Unauthorized, "AuthenticationFailed", message)
}

/// The query string's parameters, decoded (`%24skiptoken` is `$skiptoken`).
fn query_params(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let d = |s: &str| crate::arm::path::decode(&s.replace('+', " ")).unwrap_or_default();
            (d(k), d(v))
        })
        .collect()
}

fn query_get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// The request body: JSON (by Content-Type when one is given), with no duplicate keys.
fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Option<Value>, ArmError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Some(ct) = header_str(headers, header::CONTENT_TYPE) {
        let mime = ct.split(';').next().unwrap_or_default().trim();
        let json = mime.eq_ignore_ascii_case("application/json")
            || (mime.len() > 5 && mime.to_ascii_lowercase().ends_with("+json"));
        if !json {
            return Err(ArmError::new(
                Status::UnsupportedMediaType,
                "UnsupportedMediaType",
                format!(
                    "The request body's Content-Type '{}' is not supported: send application/json.",
                    ct.chars().take(80).collect::<String>()
                ),
            ));
        }
    }
    crate::json::parse_strict(body).map(Some).map_err(|e| {
        ArmError::bad_request(
            "InvalidRequestFormat",
            format!("The request body is not valid JSON: {e}."),
        )
    })
}

async fn dispatch(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let method_name = method.as_str().to_owned();
    let client_request_id = header_str(
        &headers,
        header::HeaderName::from_static("x-ms-client-request-id"),
    );
    let service = app.service.clone();
    let handle = move || -> Result<Outcome, ArmError> {
        let secret = bearer(&headers).ok_or_else(|| {
            unauthenticated("The request has no 'Authorization: Bearer <token>' header.")
        })?;
        let principal = service
            .authenticate(&secret)?
            .ok_or_else(|| unauthenticated("The bearer token is unknown or revoked."))?;
        let verb = Verb::parse(method.as_str()).ok_or_else(|| {
            ArmError::new(
                Status::MethodNotAllowed,
                "MethodNotAllowed",
                format!("The method {method} is not allowed on this resource."),
            )
        })?;
        let query = query_params(uri.query());
        let body = parse_body(&headers, &body)?;
        let req = Request {
            principal,
            verb,
            path: uri.path().to_owned(),
            api_version: query_get(&query, "api-version").map(str::to_owned),
            skip_token: query_get(&query, "$skiptoken").map(str::to_owned),
            filter: query_get(&query, "$filter").map(str::to_owned),
            top: query_get(&query, "$top").map(str::to_owned),
            body,
            preconditions: Preconditions {
                if_match: header_str(&headers, header::IF_MATCH),
                if_none_match: header_str(&headers, header::IF_NONE_MATCH),
            },
        };
        service.handle(req)
    };
    // Reads are a few indexed look-ups on a reader connection: answered on the runtime's
    // own thread, since a hand-off to the blocking pool and back cost more than the work
    // (two thirds of a GET's CPU went to thread wake-ups). Writes wait for the disk and go
    // to the blocking pool.
    // A shared store's reads wait on the network: those go to the blocking pool too.
    let result = if matches!(method_name.as_str(), "GET" | "HEAD") && !app.service.is_shared() {
        Ok(handle())
    } else {
        tokio::task::spawn_blocking(handle).await
    };
    let mut response = match result {
        Ok(Ok(outcome)) => outcome_response(outcome),
        Ok(Err(e)) => error_response(&e),
        Err(join) => {
            tracing::error!("request handler failed: {join}");
            error_response(&ArmError::internal())
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

// ===== identity (no bearer token: this is where tokens come from) =====

async fn cloud_metadata(State(app): State<App>, uri: Uri) -> Response {
    let query = query_params(uri.query());
    let version = query_get(&query, "api-version");
    json_response(
        StatusCode::OK,
        &identity::metadata(&app.service.public_url, version),
    )
}

async fn openid_configuration(State(app): State<App>) -> Response {
    json_response(
        StatusCode::OK,
        &identity::openid_configuration(&app.service.public_url, &app.service.directory.tenant),
    )
}

async fn token_v1(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    token(app, None, false, &headers, &body).await
}

async fn token_v2(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    token(app, None, true, &headers, &body).await
}

async fn token_v1_in(
    State(app): State<App>,
    axum::extract::Path(tenant): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(app, Some(tenant), false, &headers, &body).await
}

async fn token_v2_in(
    State(app): State<App>,
    axum::extract::Path(tenant): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(app, Some(tenant), true, &headers, &body).await
}

/// The client-credentials grant (`client_secret_post` or `client_secret_basic`).
async fn token(
    app: App,
    tenant: Option<String>,
    v2: bool,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let basic = header_str(headers, header::AUTHORIZATION).and_then(|h| basic_credentials(&h));
    let mut req = TokenRequest::from_form(body, basic);
    req.tenant = tenant;
    req.v2 = v2;
    let service = app.service.clone();
    let answer = tokio::task::spawn_blocking(move || {
        service.read(|st| identity::token(&service.directory, st, &service.public_url, &req))
    })
    .await;
    let mut response = match answer {
        Ok(Ok(v)) => json_response(StatusCode::OK, &v),
        Ok(Err(e)) => json_response(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            &e.body(),
        ),
        Err(_) => error_response(&ArmError::internal()),
    };
    // RFC 6749 §5.1: token answers are never cached.
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `Authorization: Basic base64(id:secret)`, form-decoded as RFC 6749 §2.3.1 says.
fn basic_credentials(h: &str) -> Option<(String, String)> {
    use base64::Engine;
    let raw = h
        .strip_prefix("Basic ")
        .or_else(|| h.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let dec = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

async fn openapi(State(app): State<App>) -> Response {
    json_response(
        StatusCode::OK,
        &crate::openapi::document(app.service.routes()),
    )
}

// ===== edges and operators =====

/// Authenticates the bearer token on a blocking thread.
async fn principal(app: &App, headers: &HeaderMap) -> Result<Principal, ArmError> {
    let secret = bearer(headers).ok_or_else(|| {
        unauthenticated("The request has no 'Authorization: Bearer <token>' header.")
    })?;
    let service = app.service.clone();
    tokio::task::spawn_blocking(move || service.authenticate(&secret))
        .await
        .map_err(|_| ArmError::internal())??
        .ok_or_else(|| unauthenticated("The bearer token is unknown or revoked."))
}

fn forbidden(what: &str) -> ArmError {
    ArmError::new(
        Status::Forbidden,
        "AuthorizationFailed",
        format!("This token may not {what}."),
    )
}

/// Runs an operator or edge handler, answering errors as ARM error bodies.
async fn answer(f: impl std::future::Future<Output = Result<Response, ArmError>>) -> Response {
    f.await.unwrap_or_else(|e| error_response(&e))
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
    answer(async {
        let p = principal(&app, &headers).await?;
        if !p.is_edge(&edge) {
            return Err(forbidden(&format!("act as edge '{edge}'")));
        }
        if let Some(after) = query.get("after").and_then(|a| a.parse::<u64>().ok()) {
            app.service
                .wait_for_edge_change(&edge, after, LONG_POLL)
                .await?;
        }
        let service = app.service.clone();
        let desired = tokio::task::spawn_blocking(move || service.edge_desired(&edge))
            .await
            .map_err(|_| ArmError::internal())??;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(desired).unwrap_or_default(),
        ))
    })
    .await
}

/// `PUT /edge/v1/{edge}/report`: the edge's live state.
async fn edge_report(
    State(app): State<App>,
    axum::extract::Path(edge): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(async {
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
    })
    .await
}

async fn get_inventory(State(app): State<App>, headers: HeaderMap) -> Response {
    answer(async {
        if principal(&app, &headers).await? != Principal::Admin {
            return Err(forbidden("read the inventory"));
        }
        let inv = app.service.edges.inventory();
        Ok(json_response(
            StatusCode::OK,
            &serde_json::to_value(&*inv).unwrap_or_default(),
        ))
    })
    .await
}

/// `GET /metrics`: Prometheus metrics from the edges' reports (admin only).
async fn get_metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    answer(async {
        if principal(&app, &headers).await? != Principal::Admin {
            return Err(forbidden("read metrics"));
        }
        let service = app.service.clone();
        let circuits = tokio::task::spawn_blocking(move || {
            service
                .read(|s| crate::store::Read::count(s, crate::resources::circuits::KIND))
                .ok()
        })
        .await
        .map_err(|_| ArmError::internal())?;
        let text = crate::metrics::render(&app.service.edges.reports(), circuits);
        Ok(([(header::CONTENT_TYPE, api::metrics::CONTENT_TYPE)], text).into_response())
    })
    .await
}

/// `PUT /admin/v1/inventory`: replaces the edge inventory (validated, then persisted).
async fn put_inventory(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    answer(async {
        if principal(&app, &headers).await? != Principal::Admin {
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
    })
    .await
}

/// `PUT /admin/v1/circuits/{serviceKey}/drain` with `{"link": "primary", "prepend": 3}`:
/// drains one link of a circuit with AS-path prepends (0 restores it).
async fn put_drain(
    State(app): State<App>,
    axum::extract::Path(service_key): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(async {
        if principal(&app, &headers).await? != Principal::Admin {
            return Err(forbidden("drain links"));
        }
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
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
    })
    .await
}
