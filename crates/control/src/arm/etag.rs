//! Etags and the `If-Match` / `If-None-Match` preconditions (ARM: weak etags, `*` matches any
//! existing resource).

use super::{ArmError, Status};

/// A fresh weak etag.
pub fn new_etag() -> String {
    format!("W/\"{}\"", uuid::Uuid::new_v4())
}

/// The preconditions a request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
}

impl Preconditions {
    /// Checks them against the current etag (`None`: the resource does not exist).
    pub fn check(&self, current: Option<&str>) -> Result<(), ArmError> {
        let failed = |m: String| {
            Err(ArmError::new(
                Status::PreconditionFailed,
                "PreconditionFailed",
                m,
            ))
        };
        if let Some(m) = &self.if_match {
            match current {
                None => {
                    return failed("If-Match was given but the resource does not exist.".into());
                }
                Some(cur) if m != "*" && m.trim() != cur => {
                    return failed(format!(
                        "If-Match {m} does not match the current etag {cur}."
                    ));
                }
                _ => {}
            }
        }
        if let (Some(m), Some(cur)) = (&self.if_none_match, current)
            && (m == "*" || m.trim() == cur)
        {
            return failed("If-None-Match: the resource already exists.".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_needs_the_current_etag_and_if_none_match_star_needs_absence() {
        let p = |m: Option<&str>, n: Option<&str>| Preconditions {
            if_match: m.map(str::to_owned),
            if_none_match: n.map(str::to_owned),
        };
        assert!(p(Some("W/\"a\""), None).check(Some("W/\"a\"")).is_ok());
        assert!(p(Some("W/\"b\""), None).check(Some("W/\"a\"")).is_err());
        assert!(p(Some("*"), None).check(None).is_err());
        assert!(p(None, Some("*")).check(None).is_ok());
        assert!(p(None, Some("*")).check(Some("W/\"a\"")).is_err());
    }
}
