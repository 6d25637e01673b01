//! Signed-in browsers: an opaque random id (the cookie) → the principal its token stands for
//! and a CSRF token for its forms. Kept in memory: a restart signs everyone out, which is
//! what a console session should do. The token itself is never kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Principal;

/// How long a session lives after sign-in.
pub const TTL: Duration = Duration::from_secs(8 * 3600);
/// Sessions kept at most; the oldest go first beyond it.
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub principal: Principal,
    pub csrf: String,
    created: Instant,
}

impl Session {
    /// Whether a form's token is this session's (compared in constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("invariant: the OS random source is available");
    hex::encode(buf)
}

impl Sessions {
    /// A new session for `principal`; its id.
    pub fn create(&self, principal: Principal) -> String {
        let s = Session {
            id: random_hex(32),
            principal,
            csrf: random_hex(16),
            created: Instant::now(),
        };
        let id = s.id.clone();
        let mut all = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|_, s| s.created.elapsed() < TTL);
        if all.len() >= MAX_SESSIONS
            && let Some(oldest) = all.values().min_by_key(|s| s.created).map(|s| s.id.clone())
        {
            all.remove(&oldest);
        }
        all.insert(id.clone(), s);
        id
    }

    pub fn get(&self, id: &str) -> Option<Session> {
        let all = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        all.get(id).filter(|s| s.created.elapsed() < TTL).cloned()
    }

    pub fn remove(&self, id: &str) {
        self.by_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_knows_its_principal_and_only_its_own_csrf_token() {
        let s = Sessions::default();
        let id = s.create(Principal::Admin);
        let got = s.get(&id).expect("session");
        assert_eq!(got.principal, Principal::Admin);
        assert!(got.csrf_matches(&got.csrf.clone()));
        assert!(!got.csrf_matches(""));
        assert!(!got.csrf_matches(&"0".repeat(got.csrf.len())));
        s.remove(&id);
        assert!(s.get(&id).is_none());
        assert!(s.get("nope").is_none());
    }
}
