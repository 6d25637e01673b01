//! A minimal ARM client: one keep-alive `ureq` agent, a bearer token, strict status checks.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

pub const API_VERSION: &str = "2026-03-01";

/// One client with its own keep-alive connection; [`Api::fork`] makes another one for
/// another thread.
#[derive(Debug)]
pub struct Api {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(5)))
            // Longer than the server's 25 s long poll of the edge API.
            .timeout_global(Some(Duration::from_secs(120)))
            .build();
        Api {
            agent: ureq::Agent::new_with_config(config),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    /// A fresh client (own connection) to the same server with the same token.
    pub fn fork(&self) -> Api {
        Api::new(&self.base, &self.token)
    }

    /// An absolute link (a nextLink) verbatim; a path gets the base and the api-version.
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_owned();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api-version={API_VERSION}", self.base)
    }

    /// One request: the status and the body text (transport failures are errors).
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, String)> {
        let url = self.url(path);
        let auth = format!("Bearer {}", self.token);
        let result = match (method, body) {
            ("GET", None) => self
                .agent
                .get(&url)
                .header("Authorization", auth.as_str())
                .header("Accept", "application/json")
                .call(),
            ("PUT", Some(body)) => self
                .agent
                .put(&url)
                .header("Authorization", auth.as_str())
                .header("Accept", "application/json")
                .header("Content-Type", "application/json")
                .send(body.to_string().as_bytes()),
            _ => bail!("unsupported request {method} {url}"),
        };
        let mut resp = result.with_context(|| format!("{method} {url}: no answer"))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .with_context(|| format!("{method} {url}: cannot read the answer"))?;
        Ok((status, text))
    }

    /// A request that must answer one of `ok`; its JSON body.
    pub fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        ok: &[u16],
    ) -> Result<Value> {
        let (status, text) = self.send(method, path, body)?;
        if !ok.contains(&status) {
            bail!(
                "{method} {path}: unexpected status {status} (expected {ok:?}): {}",
                text.chars().take(400).collect::<String>()
            );
        }
        serde_json::from_str(&text)
            .with_context(|| format!("{method} {path}: the answer is not JSON"))
    }

    pub fn get(&self, path: &str) -> Result<Value> {
        self.expect("GET", path, None, &[200])
    }

    /// A PUT answered 200 or 201 (the operation is complete when the answer arrives).
    pub fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.expect("PUT", path, Some(body), &[200, 201])
    }
}
