//! `api-version`: required on every ARM request; one superset model serves every version.

use super::ArmError;

/// Oldest and newest Microsoft.Network api-versions served.
pub const OLDEST_API_VERSION: &str = "2015-06-15";
pub const NEWEST_API_VERSION: &str = "2026-03-01";

/// The pattern an api-version follows (for the OpenAPI document).
pub const PATTERN: &str = r"^\d{4}-\d{2}-\d{2}(-preview)?$";

/// Checks `api-version`: required, `YYYY-MM-DD[-preview]`, within the served range.
pub fn check(v: Option<&str>) -> Result<String, ArmError> {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let date = v.strip_suffix("-preview").unwrap_or(v);
    let well_formed = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !well_formed || !(OLDEST_API_VERSION..=NEWEST_API_VERSION).contains(&date) {
        let shown: String = v.chars().take(40).collect();
        return Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{shown}' is invalid. The supported versions are \
                 {OLDEST_API_VERSION} through {NEWEST_API_VERSION} (YYYY-MM-DD, optionally -preview)."
            ),
        ));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_required_and_bounded() {
        assert_eq!(check(None).unwrap_err().code, "MissingApiVersionParameter");
        for good in [
            "2024-05-01",
            "2026-03-01",
            "2018-12-01",
            "2020-03-01-preview",
        ] {
            assert!(check(Some(good)).is_ok(), "{good}");
        }
        for bad in ["2030-01-01", "yesterday", "2024-5-1", "1999-01-01"] {
            assert_eq!(
                check(Some(bad)).unwrap_err().code,
                "InvalidApiVersionParameter",
                "{bad}"
            );
        }
    }
}
