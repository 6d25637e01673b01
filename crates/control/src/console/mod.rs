//! The web console, served at `/` on the API's own port: sign in with a bearer token, see
//! circuits live, create and delete circuits, peerings and authorizations.
//!
//! Parts and data flow: [`session`] keeps signed-in browsers (an opaque cookie → the token's
//! principal and a CSRF token); every page and form goes through [`arm`], which hands an ARM
//! [`crate::service::Request`] for that principal to the same [`Service::handle`] the API
//! uses — one authorization path, so a tenant sees in the console exactly what its token sees
//! in the API, and a form shows the API's validation message as it is. [`pages`] renders
//! HTML (no framework; the assets under `assets/` are embedded in the binary); [`live`]
//! answers the JSON the circuit page polls every second (links, sessions, routes, ARP,
//! counters, observed events).
//!
//! Security: the cookie is HttpOnly, Secure, SameSite=Strict; every POST carries the
//! session's CSRF token and, when the browser sends one, an Origin naming this host; pages
//! answer with a strict Content-Security-Policy (no inline script, nothing from elsewhere).

mod live;
pub mod pages;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::arm::etag::Preconditions;
use crate::arm::path::Verb;
use crate::arm::{ArmError, Outcome, version};
use crate::auth::Principal;
use crate::service::{Request, Service};
pub use session::Sessions;

const COOKIE: &str = "cw_console";

/// What the console's handlers share.
#[derive(Debug, Clone)]
pub struct Console {
    pub service: Arc<Service>,
    pub sessions: Arc<Sessions>,
    events: Arc<live::Events>,
}

impl Console {
    pub fn new(service: Arc<Service>) -> Console {
        Console {
            service,
            sessions: Arc::new(Sessions::default()),
            events: Arc::new(live::Events::default()),
        }
    }
}

/// The console's routes: `/` and everything under `/console/`.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/console/login", post(login))
        .route("/console/logout", post(logout))
        .route("/console/circuit", get(circuit_page))
        .route("/console/live", get(live_json))
        .route("/console/ce-config", get(ce_config))
        .route("/console/action", post(action))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/console.js", get(js))
        .with_state(Console::new(service))
}

// ===== ARM through the service =====

/// One ARM request for `principal`, answered by the same dispatcher as the API.
pub fn arm(
    svc: &Service,
    principal: &Principal,
    verb: Verb,
    path: &str,
    body: Option<Value>,
    skip_token: Option<String>,
) -> Result<Value, ArmError> {
    let outcome = svc.handle(Request {
        principal: principal.clone(),
        verb,
        path: path.to_owned(),
        api_version: Some(version::NEWEST_API_VERSION.to_owned()),
        skip_token,
        filter: None,
        top: None,
        body,
        preconditions: Preconditions::default(),
    })?;
    let body = match outcome {
        Outcome::Ok(b) | Outcome::Written { body: b, .. } => b.into_string(),
        Outcome::Accepted(_) | Outcome::NoContent => return Ok(Value::Null),
    };
    serde_json::from_str(&body).map_err(|_| ArmError::internal())
}

// ===== responses =====

fn secure_headers(r: &mut Response) {
    let h = r.headers_mut();
    for (k, v) in [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(&mut r);
    r
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(&mut r);
    r
}

fn status_of(e: &ArmError) -> StatusCode {
    StatusCode::from_u16(e.status.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The session of this request's cookie, if signed in.
fn session_of(c: &Console, headers: &HeaderMap) -> Option<session::Session> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = cookies.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE).then(|| v.to_owned())
    })?;
    c.sessions.get(&id)
}

/// `application/x-www-form-urlencoded` fields.
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let d = |s: &str| crate::arm::path::decode(&s.replace('+', " ")).unwrap_or_default();
            (d(k), d(v))
        })
        .collect()
}

fn field<'a>(f: &'a [(String, String)], key: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

/// A POST from another site is refused: the Origin, when sent, must name this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or_default();
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

fn forbidden_post() -> Response {
    html(
        StatusCode::FORBIDDEN,
        pages::message_page(
            "Request refused",
            "This form did not come from this console (missing or wrong CSRF token). Reload the page and try again.",
        ),
    )
}

// ===== handlers =====

async fn home(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    // An API client (bearer token) asking for `/` gets the API's answer, not a page.
    if headers.contains_key(header::AUTHORIZATION) {
        return crate::http::error_response(&ArmError::new(
            crate::arm::Status::NotFound,
            "InvalidResourceType",
            "No Microsoft.Network ExpressRoute resource is served at '/'.",
        ));
    }
    let Some(s) = session_of(&c, &headers) else {
        return html(StatusCode::OK, pages::login_page(None));
    };
    let svc = c.service.clone();
    let skip = q.get("skip").cloned();
    let out = tokio::task::spawn_blocking(move || pages::circuits_page(&svc, &s, skip, None)).await;
    match out {
        Ok(Ok(body)) => html(StatusCode::OK, body),
        Ok(Err(e)) => html(status_of(&e), pages::message_page(e.code, &e.message)),
        Err(_) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message_page("InternalServerError", "The page could not be rendered."),
        ),
    }
}

async fn login(State(c): State<Console>, headers: HeaderMap, body: Bytes) -> Response {
    if !same_origin(&headers) {
        return forbidden_post();
    }
    let fields = form_fields(&body);
    let token = field(&fields, "token").trim().to_owned();
    let svc = c.service.clone();
    let principal =
        tokio::task::spawn_blocking(move || svc.read(|st| crate::auth::authenticate(st, &token)))
            .await;
    let principal = match principal {
        Ok(Ok(Some(p))) if !matches!(p, Principal::Edge { .. }) => p,
        _ => {
            return html(
                StatusCode::UNAUTHORIZED,
                pages::login_page(Some(
                    "The token is unknown, revoked, or not a console token.",
                )),
            );
        }
    };
    let id = c.sessions.create(principal);
    let mut r = redirect("/");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        session::TTL.as_secs()
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(c): State<Console>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = form_fields(&body);
    if let Some(s) = session_of(&c, &headers)
        && same_origin(&headers)
        && s.csrf_matches(field(&fields, "csrf"))
    {
        c.sessions.remove(&s.id);
    }
    let mut r = redirect("/");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "cw_console=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

async fn circuit_page(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(s) = session_of(&c, &headers) else {
        return redirect("/");
    };
    let id = q.get("id").cloned().unwrap_or_default();
    let svc = c.service.clone();
    let out = tokio::task::spawn_blocking(move || pages::circuit_page(&svc, &s, &id, None)).await;
    match out {
        Ok(Ok(body)) => html(StatusCode::OK, body),
        Ok(Err(e)) => html(status_of(&e), pages::message_page(e.code, &e.message)),
        Err(_) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message_page("InternalServerError", "The page could not be rendered."),
        ),
    }
}

async fn live_json(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(s) = session_of(&c, &headers) else {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    let id = q.get("id").cloned().unwrap_or_default();
    let (svc, events) = (c.service.clone(), c.events.clone());
    let out = tokio::task::spawn_blocking(move || live::snapshot(&svc, &events, &s, &id)).await;
    let (status, body) = match out {
        Ok(Ok(v)) => (StatusCode::OK, v),
        Ok(Err(e)) => (status_of(&e), e.body()),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, json!({})),
    };
    let mut r = crate::http::json_response(status, &body);
    secure_headers(&mut r);
    r
}

async fn ce_config(
    State(c): State<Console>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(s) = session_of(&c, &headers) else {
        return redirect("/");
    };
    let id = q.get("id").cloned().unwrap_or_default();
    let vendor = q.get("vendor").cloned().unwrap_or_default();
    let svc = c.service.clone();
    // Secrets stay out of a GET: the download never holds the MD5 key.
    let out = tokio::task::spawn_blocking(move || {
        arm(
            &svc,
            &s.principal,
            Verb::Post,
            &format!("{id}/customerEdgeConfiguration"),
            Some(json!({"vendor": vendor})),
            None,
        )
    })
    .await;
    match out {
        Ok(Ok(v)) => {
            let name = v["fileName"].as_str().unwrap_or("ce.conf").to_owned();
            let text = v["content"].as_str().unwrap_or_default().to_owned();
            let mut r = (StatusCode::OK, text).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            secure_headers(&mut r);
            r
        }
        Ok(Err(e)) => html(status_of(&e), pages::message_page(e.code, &e.message)),
        Err(_) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message_page("InternalServerError", "No configuration."),
        ),
    }
}

/// Every state-changing form posts here: `op` names what to do, `back` where to return.
async fn action(State(c): State<Console>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(s) = session_of(&c, &headers) else {
        return redirect("/");
    };
    let fields = form_fields(&body);
    if !same_origin(&headers) || !s.csrf_matches(field(&fields, "csrf")) {
        return forbidden_post();
    }
    let svc = c.service.clone();
    let out = tokio::task::spawn_blocking(move || pages::apply_form(&svc, &s, &fields)).await;
    match out {
        Ok(pages::FormResult::Done(to)) => redirect(&to),
        Ok(pages::FormResult::Failed { status, body }) => html(status_of_code(status), body),
        Err(_) => html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::message_page("InternalServerError", "The form could not be applied."),
        ),
    }
}

fn status_of_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    )
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut r = (StatusCode::OK, text).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}
