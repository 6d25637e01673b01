//! The long-running-operation protocol, as Azure Network speaks it.
//!
//! A PUT, DELETE or POST action answers with `Azure-AsyncOperation` (the status to poll),
//! `Location` (the result) and `Retry-After`. Causeway finishes the work before it answers and
//! commits the operation record in the same transaction as the change, so the first poll
//! reads `Succeeded`. Every URL is built from the server's configured public URL and from
//! validated, escaped parts — never from the request's `Host` header, which a client can forge.

use serde::{Deserialize, Serialize};

use super::path::encode;

/// An operation's stored record (what `Azure-AsyncOperation` and `Location` poll).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    pub sub: String,
    pub status: String,
    /// The resource id whose GET is the operation's result (PUT), or none (DELETE).
    pub resource_path: Option<String>,
    /// A stored result body (POST actions).
    pub result: Option<serde_json::Value>,
    pub start_time: String,
    pub end_time: String,
}

impl Operation {
    /// A finished operation in subscription `sub`.
    pub fn succeeded(
        sub: &str,
        resource_path: Option<String>,
        result: Option<serde_json::Value>,
    ) -> Operation {
        let now = crate::time::now_rfc3339();
        Operation {
            id: uuid::Uuid::new_v4().to_string(),
            sub: sub.to_owned(),
            status: "Succeeded".into(),
            resource_path,
            result,
            start_time: now.clone(),
            end_time: now,
        }
    }
}

/// Where a client polls an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lro {
    /// `Azure-AsyncOperation`: the status.
    pub status_url: String,
    /// `Location`: the result.
    pub result_url: String,
    /// `Retry-After` seconds (the SDK ignores 0).
    pub retry_after: u32,
}

impl Lro {
    /// The poll URLs of `op`, in `region` (a normalised region name, or `global`).
    pub fn new(public_url: &str, op: &Operation, region: &str, api_version: &str) -> Lro {
        let prefix = format!(
            "{public_url}/subscriptions/{}/providers/Microsoft.Network/locations/{}",
            encode(&op.sub),
            encode(region)
        );
        let version = encode(api_version);
        Lro {
            status_url: format!("{prefix}/operations/{}?api-version={version}", op.id),
            result_url: format!("{prefix}/operationResults/{}?api-version={version}", op.id),
            retry_after: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_urls_are_built_from_the_public_url_and_escaped_parts() {
        let op = Operation::succeeded("s/../x", None, None);
        let l = Lro::new("https://cw.example:8443", &op, "west?europe", "2024-05-01");
        assert!(l.status_url.starts_with(
            "https://cw.example:8443/subscriptions/s%2F..%2Fx/providers/Microsoft.Network/locations/west%3Feurope/operations/"
        ));
        assert!(l.result_url.ends_with("?api-version=2024-05-01"));
        assert_eq!(l.retry_after, 1);
    }
}
