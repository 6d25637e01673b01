//! Bearer tokens and principals.
//!
//! A token is `cw_` followed by 64 hex digits of randomness; the store keeps only its
//! SHA-256. Principals: the admin; customers scoped to one or more subscriptions; providers
//! scoped to one provider name (they see the cross-connections of circuits naming them).

use sha2::{Digest, Sha256};

use crate::store::{Read, Store, StoreError, TokenRecord};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Admin,
    Customer {
        subscriptions: Vec<String>,
    },
    Provider {
        name: String,
    },
    /// An edge router: reads its desired state and reports its live state, nothing else.
    Edge {
        name: String,
    },
}

impl Principal {
    /// The stored form: `admin`, `customer:SUB[,SUB…]`, `provider:NAME`.
    pub fn encode(&self) -> String {
        match self {
            Principal::Admin => "admin".into(),
            Principal::Customer { subscriptions } => {
                format!("customer:{}", subscriptions.join(","))
            }
            Principal::Provider { name } => format!("provider:{name}"),
            Principal::Edge { name } => format!("edge:{name}"),
        }
    }

    pub fn decode(s: &str) -> Option<Principal> {
        if s == "admin" {
            return Some(Principal::Admin);
        }
        if let Some(subs) = s.strip_prefix("customer:") {
            let subscriptions: Vec<String> = subs
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            return (!subscriptions.is_empty()).then_some(Principal::Customer { subscriptions });
        }
        if let Some(name) = s.strip_prefix("edge:") {
            return (!name.is_empty()).then(|| Principal::Edge {
                name: name.to_owned(),
            });
        }
        let name = s.strip_prefix("provider:")?;
        (!name.is_empty()).then(|| Principal::Provider {
            name: name.to_owned(),
        })
    }

    /// Whether this principal owns customer resources in `sub`.
    pub fn owns_subscription(&self, sub: &str) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Customer { subscriptions } => {
                subscriptions.iter().any(|s| s.eq_ignore_ascii_case(sub))
            }
            Principal::Provider { .. } | Principal::Edge { .. } => false,
        }
    }

    /// What kind of principal this is (named in authorization errors).
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Admin => "admin",
            Principal::Customer { .. } => "customer",
            Principal::Provider { .. } => "provider",
            Principal::Edge { .. } => "edge",
        }
    }

    /// Whether this principal may act as edge `edge`.
    pub fn is_edge(&self, edge: &str) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Edge { name } => name == edge,
            _ => false,
        }
    }

    /// Whether this principal acts for `provider`.
    pub fn is_provider(&self, provider: &str) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Provider { name } => name.eq_ignore_ascii_case(provider),
            Principal::Customer { .. } | Principal::Edge { .. } => false,
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("invariant: the OS random source is available");
    hex::encode(buf)
}

fn now_rfc3339() -> String {
    crate::time::now_rfc3339()
}

/// Creates a token for `principal`; returns (id, secret). The secret is shown once.
pub fn create_token(
    store: &mut Store,
    principal: &Principal,
) -> Result<(String, String), StoreError> {
    let secret = format!("cw_{}", random_hex(32));
    // A GUID, so that the token is also a service principal: id = application (client) id,
    // secret = client secret (`identity.rs`).
    let id = uuid::Uuid::new_v4().to_string();
    store.insert_token(&TokenRecord {
        id: id.clone(),
        hash: hash_token(&secret),
        principal: principal.encode(),
        created: now_rfc3339(),
        revoked: false,
    })?;
    Ok((id, secret))
}

/// The principal behind an application id (a service principal's access token).
pub fn principal_of_app(store: &impl Read, app: &str) -> Result<Option<Principal>, StoreError> {
    Ok(store
        .token_by_id(app)?
        .filter(|t| !t.revoked)
        .and_then(|t| Principal::decode(&t.principal)))
}

/// The principal a bearer secret stands for, if it is known and not revoked.
pub fn authenticate(store: &impl Read, secret: &str) -> Result<Option<Principal>, StoreError> {
    let Some(t) = store.token_by_hash(&hash_token(secret))? else {
        return Ok(None);
    };
    if t.revoked {
        return Ok(None);
    }
    Ok(Principal::decode(&t.principal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_authenticates_until_revoked_and_only_its_hash_is_stored() {
        let mut store = Store::open_in_memory().expect("store");
        let p = Principal::Customer {
            subscriptions: vec!["sub-a".into(), "sub-b".into()],
        };
        let (id, secret) = create_token(&mut store, &p).expect("create");
        assert_eq!(authenticate(&store, &secret).expect("auth"), Some(p));
        let stored = store.tokens().expect("list");
        assert!(
            stored
                .iter()
                .all(|t| t.hash != secret && !t.hash.contains(&secret[3..]))
        );
        assert!(store.revoke_token(&id).expect("revoke"));
        assert_eq!(authenticate(&store, &secret).expect("auth"), None);
        assert_eq!(authenticate(&store, "cw_nope").expect("auth"), None);
    }

    #[test]
    fn principals_round_trip_through_their_stored_form() {
        for p in [
            Principal::Admin,
            Principal::Customer {
                subscriptions: vec!["a".into()],
            },
            Principal::Provider {
                name: "Causeway Lab".into(),
            },
        ] {
            assert_eq!(Principal::decode(&p.encode()), Some(p));
        }
        assert_eq!(Principal::decode("customer:"), None);
        assert_eq!(Principal::decode("root"), None);
    }
}
