//! Identity for Azure's own tools, the way Azure Stack Hub and the sovereign clouds do it:
//! a cloud metadata document (`GET /metadata/endpoints`, what `az cloud register` and
//! Terraform's `metadata_host` read), an OpenID Connect discovery document and an OAuth 2.0
//! token endpoint under an AD FS-style authority (`<public url>/adfs`, which lets MSAL skip
//! instance discovery against Microsoft's hosts).
//!
//! A service principal is a bearer token of the store: its id is the application id, its
//! secret the client secret (stored hashed, shown once). The client-credentials grant answers
//! with a signed access token (a JWT, HMAC-SHA256 with a key kept in the store) that names
//! the application; every request checks the signature and the expiry, then reads the
//! application's token record, so revoking it takes effect at once, as for bearer tokens.
//! No HTTP types here: the handlers in `http.rs` hand in the form and map the answers.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::hmac;
use serde_json::{Value, json};

use crate::auth::hash_token;
use crate::store::{Read, Store, StoreError};

/// The authority's path: AD FS-shaped, so MSAL treats it as its own tenant.
pub const AUTHORITY: &str = "/adfs";
/// How long an access token lasts, as Azure AD's do.
pub const TOKEN_LIFETIME_SECONDS: u64 = 3600;

/// The directory this Causeway is: its tenant id and the key its access tokens are signed
/// with, both made on first start and kept in the store (every replica shares them).
pub struct Directory {
    pub tenant: String,
    key: hmac::Key,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Directory {
    pub fn open(store: &mut Store) -> Result<Directory, StoreError> {
        let tenant = store.meta_or_insert("tenant", || uuid::Uuid::new_v4().to_string())?;
        let key = store.meta_or_insert("token_signing_key", || {
            let mut k = [0u8; 32];
            getrandom::fill(&mut k).expect("invariant: the OS random source is available");
            hex::encode(k)
        })?;
        Ok(Directory {
            tenant,
            key: hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
        })
    }

    /// A signed access token for application `app`, valid from `now` for the lifetime.
    fn sign(&self, public_url: &str, app: &str, now: u64) -> String {
        let header = B64.encode(br#"{"typ":"JWT","alg":"HS256","kid":"causeway"}"#);
        let claims = json!({
            "aud": audience(public_url),
            "iss": issuer(public_url),
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "appid": app,
            "appidacr": "1",
            "idtyp": "app",
            "oid": app,
            "sub": app,
            "tid": self.tenant,
            "ver": "1.0",
        });
        let payload = B64.encode(claims.to_string());
        let signed = format!("{header}.{payload}");
        let tag = hmac::sign(&self.key, signed.as_bytes());
        format!("{signed}.{}", B64.encode(tag.as_ref()))
    }

    /// The application an access token names, if this directory signed it for this
    /// audience and it has not expired.
    pub fn verify(&self, public_url: &str, token: &str, now: u64) -> Option<String> {
        let (signed, tag) = token.rsplit_once('.')?;
        let (_, payload) = signed.split_once('.')?;
        let tag = B64.decode(tag).ok()?;
        hmac::verify(&self.key, signed.as_bytes(), &tag).ok()?;
        let claims: Value = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
        let exp = claims.get("exp")?.as_u64()?;
        let nbf = claims.get("nbf").and_then(Value::as_u64).unwrap_or(0);
        if now >= exp || now + 300 < nbf {
            return None;
        }
        if !same_resource(claims.get("aud")?.as_str()?, public_url) {
            return None;
        }
        claims.get("appid")?.as_str().map(str::to_owned)
    }
}

/// Whether `token` has the shape of an access token (three base64url parts).
pub fn is_access_token(token: &str) -> bool {
    token.split('.').count() == 3
}

pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What access tokens are for: the resource manager's URL with a trailing slash (as
/// `https://management.core.windows.net/` is Azure's).
pub fn audience(public_url: &str) -> String {
    format!("{public_url}/")
}

fn issuer(public_url: &str) -> String {
    format!("{public_url}{AUTHORITY}")
}

/// Whether a scope's or resource's URL names this resource manager (case and trailing
/// slashes aside, as Azure AD compares them).
fn same_resource(resource: &str, public_url: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
    norm(resource) == norm(public_url)
}

/// `GET /metadata/endpoints`: this Causeway described as a cloud. api-version 2019-05-01
/// answers the list of clouds; the later ones (2022-09-01, what az and Terraform send) the
/// one cloud.
pub fn metadata(public_url: &str, api_version: Option<&str>) -> Value {
    let base = format!("{public_url}/");
    let cloud = json!({
        "name": "Causeway",
        "portal": base,
        "resourceManager": base,
        "authentication": {
            "loginEndpoint": issuer(public_url),
            "audiences": [audience(public_url)],
            "tenant": "adfs",
            "identityProvider": "ADFS",
        },
        "media": base,
        "graphAudience": base,
        "graph": base,
        "microsoftGraphResourceId": base,
        "activeDirectoryDataLake": base,
        "batch": base,
        "gallery": base,
        "sqlManagement": base,
        "vmImageAliasDoc": format!("{public_url}/vmimagealiases"),
        "appInsightsResourceId": base,
        "appInsightsTelemetryChannelResourceId": base,
        "attestationResourceId": base,
        "synapseAnalyticsResourceId": base,
        "logAnalyticsResourceId": base,
        "ossrDbmsResourceId": base,
        "suffixes": {
            "azureDataLakeStoreFileSystem": "causeway.invalid",
            "acrLoginServer": "causeway.invalid",
            "sqlServerHostname": "causeway.invalid",
            "azureDataLakeAnalyticsCatalogAndJob": "causeway.invalid",
            "keyVaultDns": "vault.causeway.invalid",
            "storage": "causeway.invalid",
            "azureFrontDoorEndpointSuffix": "causeway.invalid",
            "storageSyncEndpointSuffix": "causeway.invalid",
            "mhsmDns": "causeway.invalid",
            "mysqlServerEndpoint": "causeway.invalid",
            "postgresqlServerEndpoint": "causeway.invalid",
            "mariadbServerEndpoint": "causeway.invalid",
            "synapseAnalytics": "causeway.invalid",
            "attestationEndpoint": "causeway.invalid",
        },
    });
    if api_version == Some("2019-05-01") {
        json!([cloud])
    } else {
        cloud
    }
}

/// The OpenID Connect discovery document of the authority.
pub fn openid_configuration(public_url: &str, tenant: &str) -> Value {
    let auth = issuer(public_url);
    json!({
        "issuer": auth,
        "token_endpoint": format!("{auth}/oauth2/token"),
        "authorization_endpoint": format!("{auth}/oauth2/authorize"),
        "device_authorization_endpoint": format!("{auth}/oauth2/devicecode"),
        "jwks_uri": format!("{auth}/discovery/keys"),
        "response_types_supported": ["token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "scopes_supported": ["openid"],
        "claims_supported": ["aud", "iss", "iat", "nbf", "exp", "appid", "oid", "sub", "tid"],
        "access_token_issuer": auth,
        "tenant_region_scope": "Causeway",
        "tenant_id": tenant,
    })
}

/// The JSON Web Key set: empty, since access tokens are verified only by the server that
/// signed them (HMAC), never by clients.
pub fn keys() -> Value {
    json!({"keys": []})
}

/// An OAuth 2.0 error answer, in the shape MSAL and go-azure-sdk read (`error`,
/// `error_description`, `error_codes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub code: u32,
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, code: u32, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    pub fn body(&self) -> Value {
        let trace = uuid::Uuid::new_v4().to_string();
        json!({
            "error": self.error,
            "error_description": format!("AADSTS{}: {}", self.code, self.description),
            "error_codes": [self.code],
            "timestamp": crate::time::now_rfc3339(),
            "trace_id": trace,
            "correlation_id": trace,
        })
    }
}

/// A token request: the form fields that matter, and the tenant named in the path.
#[derive(Default)]
pub struct TokenRequest {
    pub tenant: Option<String>,
    /// Whether it came to the v2.0 endpoint (scopes) or the v1 one (resource).
    pub v2: bool,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("tenant", &self.tenant)
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenRequest {
    /// From an `application/x-www-form-urlencoded` body and an optional HTTP Basic
    /// credential (`client_secret_basic`).
    pub fn from_form(body: &[u8], basic: Option<(String, String)>) -> TokenRequest {
        let mut r = TokenRequest::default();
        for (k, v) in form_urlencoded::parse(body) {
            let v = Some(v.into_owned());
            match k.as_ref() {
                "grant_type" => r.grant_type = v,
                "client_id" => r.client_id = v,
                "client_secret" => r.client_secret = v,
                "scope" => r.scope = v,
                "resource" => r.resource = v,
                _ => {}
            }
        }
        if let Some((id, secret)) = basic {
            r.client_id.get_or_insert(id);
            r.client_secret.get_or_insert(secret);
        }
        r
    }
}

/// Answers a token request: client credentials of a service principal → an access token.
pub fn token(
    dir: &Directory,
    store: &impl Read,
    public_url: &str,
    req: &TokenRequest,
) -> Result<Value, OAuthError> {
    if let Some(t) = &req.tenant {
        let known = ["adfs", "common", "organizations"];
        if !known.iter().any(|k| t.eq_ignore_ascii_case(k)) && !t.eq_ignore_ascii_case(&dir.tenant)
        {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                90002,
                format!(
                    "Tenant '{t}' not found. This directory's tenant is {}.",
                    dir.tenant
                ),
            ));
        }
    }
    match req.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(g) => {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                70003,
                format!("The grant type '{g}' is not supported; use client_credentials."),
            ));
        }
        None => {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            ));
        }
    }
    let Some(client_id) = req.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Err(OAuthError::new(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    };
    let Some(secret) = req.client_secret.as_deref().filter(|s| !s.is_empty()) else {
        return Err(OAuthError::new(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };
    // The resource: v2 names it in a scope (`<resource>/.default`), v1 as `resource`.
    let resource = match (&req.scope, &req.resource) {
        (Some(scope), _) => scope
            .split_whitespace()
            .find_map(|s| s.strip_suffix(".default"))
            .map(str::to_owned)
            .ok_or_else(|| {
                OAuthError::new(
                    400,
                    "invalid_scope",
                    70011,
                    format!(
                        "The provided value for the input parameter 'scope' is not valid: use '{}.default'.",
                        audience(public_url)
                    ),
                )
            })?,
        (None, Some(r)) => r.clone(),
        (None, None) => {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            ));
        }
    };
    if !same_resource(&resource, public_url) {
        return Err(OAuthError::new(
            400,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found; this directory issues tokens for {} only.",
                audience(public_url)
            ),
        ));
    }
    let internal = |_| OAuthError::new(500, "temporarily_unavailable", 90033, "Try again.");
    let client = client_id.to_ascii_lowercase();
    let by_secret = store.token_by_hash(&hash_token(secret)).map_err(internal)?;
    match by_secret {
        Some(t) if t.id == client && !t.revoked => {}
        _ => {
            return Err(match store.token_by_id(&client).map_err(internal)? {
                Some(t) if !t.revoked => OAuthError::new(
                    401,
                    "invalid_client",
                    7000215,
                    format!("Invalid client secret provided for application '{client_id}'."),
                ),
                _ => OAuthError::new(
                    400,
                    "unauthorized_client",
                    700016,
                    format!(
                        "Application with identifier '{client_id}' was not found in the directory '{}'.",
                        dir.tenant
                    ),
                ),
            });
        }
    }
    let now = now_seconds();
    let access = dir.sign(public_url, &client, now);
    let mut answer = json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECONDS - 1,
        "ext_expires_in": TOKEN_LIFETIME_SECONDS - 1,
        "access_token": access,
    });
    if !req.v2 {
        answer["expires_on"] = json!((now + TOKEN_LIFETIME_SECONDS - 1).to_string());
        answer["not_before"] = json!(now.to_string());
        answer["resource"] = json!(resource);
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Principal, create_token};

    const URL: &str = "https://127.0.0.1:8443";

    fn setup() -> (Store, Directory, String, String) {
        let mut store = Store::open_in_memory().expect("store");
        let dir = Directory::open(&mut store).expect("directory");
        let p = Principal::Customer {
            subscriptions: vec!["00000000-0000-0000-0000-000000000001".into()],
        };
        let (id, secret) = create_token(&mut store, &p).expect("token");
        (store, dir, id, secret)
    }

    fn request(id: &str, secret: &str) -> TokenRequest {
        TokenRequest {
            v2: true,
            grant_type: Some("client_credentials".into()),
            client_id: Some(id.into()),
            client_secret: Some(secret.into()),
            scope: Some(format!("{URL}/.default")),
            ..TokenRequest::default()
        }
    }

    #[test]
    fn client_credentials_give_a_token_that_verifies_until_it_expires() {
        let (store, dir, id, secret) = setup();
        let answer = token(&dir, &store, URL, &request(&id, &secret)).expect("token");
        assert_eq!(answer["token_type"], "Bearer");
        assert_eq!(answer["expires_in"], TOKEN_LIFETIME_SECONDS - 1);
        let access = answer["access_token"].as_str().expect("access token");
        assert!(is_access_token(access));
        let now = now_seconds();
        assert_eq!(dir.verify(URL, access, now), Some(id.clone()));
        assert_eq!(dir.verify(URL, access, now + TOKEN_LIFETIME_SECONDS), None);
        // Another audience, a changed payload or another directory's key: refused.
        assert_eq!(dir.verify("https://elsewhere", access, now), None);
        let mut parts: Vec<&str> = access.split('.').collect();
        let forged = B64
            .encode(json!({"aud": audience(URL), "exp": now + 99, "appid": "other"}).to_string());
        parts[1] = &forged;
        assert_eq!(dir.verify(URL, &parts.join("."), now), None);
        let mut other = Store::open_in_memory().expect("store");
        let other = Directory::open(&mut other).expect("directory");
        assert_eq!(other.verify(URL, access, now), None);
    }

    #[test]
    fn the_scope_may_differ_from_the_audience_by_case_and_trailing_slashes_only() {
        let (store, dir, id, secret) = setup();
        for scope in [
            format!("{URL}/.default"),
            format!("{URL}//.default"),
            format!("{}/.default", URL.to_uppercase()),
        ] {
            let mut r = request(&id, &secret);
            r.scope = Some(scope.clone());
            token(&dir, &store, URL, &r).unwrap_or_else(|e| panic!("{scope}: {e:?}"));
        }
        let mut r = request(&id, &secret);
        r.scope = Some("https://graph.microsoft.com/.default".into());
        assert_eq!(
            token(&dir, &store, URL, &r).expect_err("graph").error,
            "invalid_resource"
        );
        let mut r = request(&id, &secret);
        r.scope = Some("openid".into());
        assert_eq!(
            token(&dir, &store, URL, &r).expect_err("no .default").error,
            "invalid_scope"
        );
        // v1: `resource` instead of a scope, and the v1 fields in the answer.
        let mut r = request(&id, &secret);
        (r.scope, r.resource, r.v2) = (None, Some(format!("{URL}/")), false);
        let a = token(&dir, &store, URL, &r).expect("v1");
        assert_eq!(a["resource"], format!("{URL}/"));
        assert!(a["expires_on"].is_string());
    }

    #[test]
    fn bad_credentials_get_the_errors_msal_expects_and_never_echo_the_secret() {
        let (mut store, dir, id, secret) = setup();
        let wrong = token(&dir, &store, URL, &request(&id, "cw_wrong")).expect_err("wrong");
        assert_eq!((wrong.status, wrong.error), (401, "invalid_client"));
        assert!(!wrong.body().to_string().contains("cw_wrong"));
        let unknown = token(
            &dir,
            &store,
            URL,
            &request("11111111-1111-4111-8111-111111111111", &secret),
        )
        .expect_err("unknown");
        assert_eq!(
            (unknown.status, unknown.error),
            (400, "unauthorized_client")
        );
        assert!(!unknown.body().to_string().contains(&secret));
        let mut r = request(&id, &secret);
        r.grant_type = Some("password".into());
        assert_eq!(
            token(&dir, &store, URL, &r).expect_err("grant").error,
            "unsupported_grant_type"
        );
        let mut r = request(&id, &secret);
        r.tenant = Some("not-this-directory".into());
        assert_eq!(
            token(&dir, &store, URL, &r).expect_err("tenant").error,
            "invalid_request"
        );
        let mut r = request(&id, &secret);
        r.tenant = Some(dir.tenant.to_uppercase());
        token(&dir, &store, URL, &r).expect("our tenant, any case");
        // A revoked application gets no token.
        assert!(store.revoke_token(&id).expect("revoke"));
        let revoked = token(&dir, &store, URL, &request(&id, &secret)).expect_err("revoked");
        assert_eq!(revoked.error, "unauthorized_client");
    }

    #[test]
    fn the_form_and_basic_credentials_are_read() {
        let r = TokenRequest::from_form(
            b"grant_type=client_credentials&client_id=abc&scope=https%3A%2F%2Fh%2F.default",
            Some(("ignored".into(), "s3cret".into())),
        );
        assert_eq!(r.client_id.as_deref(), Some("abc"));
        assert_eq!(r.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(r.scope.as_deref(), Some("https://h/.default"));
        assert!(!format!("{r:?}").contains("s3cret"));
    }

    #[test]
    fn the_metadata_document_names_the_authority_and_the_audience() {
        let m = metadata(URL, Some("2022-09-01"));
        assert_eq!(m["resourceManager"], format!("{URL}/"));
        assert_eq!(m["authentication"]["loginEndpoint"], format!("{URL}/adfs"));
        assert_eq!(m["authentication"]["audiences"][0], audience(URL));
        assert!(m["suffixes"].is_object());
        assert_eq!(metadata(URL, Some("2019-05-01"))[0], m);
    }
}
