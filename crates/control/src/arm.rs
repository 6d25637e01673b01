//! Azure Resource Manager conventions: error bodies, api-version, resource paths.
//!
//! Paths are matched case-insensitively (ARM resource types and segment names are), while
//! the names users chose keep their casing in responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

// ===== errors =====

/// An ARM error: HTTP status plus `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ArmError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ArmError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with a validation code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(kind: &str, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("The Resource '{kind}/{name}' was not found."),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500 that says nothing about the cause (logged once by the caller).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal error occurred; the request changed nothing.",
        )
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        json_response(self.status, &body)
    }
}

/// A JSON answer with ARM's content type.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

// ===== api-version =====

/// Oldest and newest Microsoft.Network api-versions served: one superset model answers all.
pub const OLDEST_API_VERSION: &str = "2015-06-15";
pub const NEWEST_API_VERSION: &str = "2026-03-01";

/// Checks `api-version`: required, `YYYY-MM-DD[-preview]`, within the served range.
pub fn check_api_version(v: Option<&str>) -> Result<String, ArmError> {
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
        return Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{v}' is invalid. The supported versions are \
                 {OLDEST_API_VERSION} through {NEWEST_API_VERSION} (YYYY-MM-DD, optionally -preview)."
            ),
        ));
    }
    Ok(v.to_owned())
}

// ===== paths =====

/// The resource a request addresses, with the names as the user spelled them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    ServiceProviders {
        sub: String,
    },
    Circuits {
        sub: String,
        rg: Option<String>,
    },
    Circuit(CircuitPath),
    CircuitStats(CircuitPath),
    Peerings(CircuitPath),
    Peering(CircuitPath, String),
    PeeringStats(CircuitPath, String),
    PeeringAction(CircuitPath, String, Action, Device),
    Authorizations(CircuitPath),
    Authorization(CircuitPath, String),
    CrossConnections {
        sub: String,
        rg: Option<String>,
    },
    CrossConnection(CircuitPath),
    CrossConnectionPeerings(CircuitPath),
    CrossConnectionPeering(CircuitPath, String),
    CrossConnectionPeeringAction(CircuitPath, String, Action, Device),
    Operation {
        sub: String,
        location: String,
        id: String,
        result: bool,
    },
    /// Virtual networks, ExpressRoute gateways and connections ([`crate::cloud`]).
    Cloud(crate::cloud::CloudTarget),
}

/// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{type}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitPath {
    pub sub: String,
    pub rg: String,
    pub name: String,
}

impl CircuitPath {
    pub fn id(&self, kind: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/{kind}/{}",
            self.sub, self.rg, self.name
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ArpTable,
    RouteTable,
    RouteTableSummary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Primary,
    Secondary,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Primary => "primary",
            Device::Secondary => "secondary",
        }
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Parses an ARM path. `None` means no such resource type here (404 on the caller's side).
pub fn parse_path(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let s = |i: usize| segs.get(i).copied();
    if !eq(s(0)?, "subscriptions") {
        return None;
    }
    let sub = s(1)?.to_owned();
    if sub.is_empty() {
        return None;
    }
    // Subscription-level collections and operations.
    if eq(s(2)?, "providers") {
        if !eq(s(3)?, "Microsoft.Network") {
            return None;
        }
        if let Some(t) = crate::cloud::parse(&sub, None, &segs[4..]) {
            return Some(Target::Cloud(t));
        }
        return match (s(4)?, segs.len()) {
            (t, 5) if eq(t, "expressRouteServiceProviders") => {
                Some(Target::ServiceProviders { sub })
            }
            (t, 5) if eq(t, "expressRouteCircuits") => Some(Target::Circuits { sub, rg: None }),
            (t, 5) if eq(t, "expressRouteCrossConnections") => {
                Some(Target::CrossConnections { sub, rg: None })
            }
            (t, 8) if eq(t, "locations") => {
                let result = match s(6)? {
                    k if eq(k, "operations") => false,
                    k if eq(k, "operationResults") => true,
                    _ => return None,
                };
                Some(Target::Operation {
                    sub,
                    location: s(5)?.to_owned(),
                    id: s(7)?.to_owned(),
                    result,
                })
            }
            _ => None,
        };
    }
    if !eq(s(2)?, "resourceGroups") || !eq(s(4)?, "providers") || !eq(s(5)?, "Microsoft.Network") {
        return None;
    }
    let rg = s(3)?.to_owned();
    let kind = s(6)?;
    if let Some(t) = crate::cloud::parse(&sub, Some(&rg), &segs[6..]) {
        return Some(Target::Cloud(t));
    }
    let circuit = eq(kind, "expressRouteCircuits");
    let cross = eq(kind, "expressRouteCrossConnections");
    if !circuit && !cross {
        return None;
    }
    let Some(name) = s(7) else {
        return Some(if circuit {
            Target::Circuits { sub, rg: Some(rg) }
        } else {
            Target::CrossConnections { sub, rg: Some(rg) }
        });
    };
    let cp = CircuitPath {
        sub,
        rg,
        name: name.to_owned(),
    };
    let rest: Vec<&str> = segs[8..].to_vec();
    let action = |a: &str, d: &str| -> Option<(Action, Device)> {
        let action = match a {
            a if eq(a, "arpTables") => Action::ArpTable,
            a if eq(a, "routeTables") => Action::RouteTable,
            a if eq(a, "routeTablesSummary") => Action::RouteTableSummary,
            _ => return None,
        };
        let device = match d {
            d if eq(d, "primary") => Device::Primary,
            d if eq(d, "secondary") => Device::Secondary,
            _ => return None,
        };
        Some((action, device))
    };
    match rest.as_slice() {
        [] => Some(if circuit {
            Target::Circuit(cp)
        } else {
            Target::CrossConnection(cp)
        }),
        [k] if circuit && eq(k, "stats") => Some(Target::CircuitStats(cp)),
        [k] if eq(k, "peerings") => Some(if circuit {
            Target::Peerings(cp)
        } else {
            Target::CrossConnectionPeerings(cp)
        }),
        [k, p] if eq(k, "peerings") => Some(if circuit {
            Target::Peering(cp, (*p).to_owned())
        } else {
            Target::CrossConnectionPeering(cp, (*p).to_owned())
        }),
        [k, p, st] if circuit && eq(k, "peerings") && eq(st, "stats") => {
            Some(Target::PeeringStats(cp, (*p).to_owned()))
        }
        [k, p, a, d] if eq(k, "peerings") => {
            let (a, d) = action(a, d)?;
            Some(if circuit {
                Target::PeeringAction(cp, (*p).to_owned(), a, d)
            } else {
                Target::CrossConnectionPeeringAction(cp, (*p).to_owned(), a, d)
            })
        }
        [k] if circuit && eq(k, "authorizations") => Some(Target::Authorizations(cp)),
        [k, a] if circuit && eq(k, "authorizations") => {
            Some(Target::Authorization(cp, (*a).to_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_whatever_the_casing_and_keep_the_users_names() {
        let t = parse_path(
            "/SUBSCRIPTIONS/s1/resourcegroups/MyRg/PROVIDERS/microsoft.network/EXPRESSROUTECIRCUITS/Er1/Peerings/AzurePrivatePeering",
        );
        assert_eq!(
            t,
            Some(Target::Peering(
                CircuitPath {
                    sub: "s1".into(),
                    rg: "MyRg".into(),
                    name: "Er1".into()
                },
                "AzurePrivatePeering".into()
            ))
        );
    }

    #[test]
    fn route_table_actions_name_their_device() {
        let t = parse_path(
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/expressRouteCircuits/c/peerings/AzurePrivatePeering/routeTablesSummary/Secondary",
        );
        assert!(matches!(
            t,
            Some(Target::PeeringAction(
                _,
                _,
                Action::RouteTableSummary,
                Device::Secondary
            ))
        ));
        let bad = parse_path(
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/expressRouteCircuits/c/peerings/p/routeTables/tertiary",
        );
        assert_eq!(bad, None);
    }

    #[test]
    fn api_version_is_required_and_bounded() {
        assert_eq!(
            check_api_version(None).unwrap_err().code,
            "MissingApiVersionParameter"
        );
        assert!(check_api_version(Some("2024-05-01")).is_ok());
        assert!(check_api_version(Some("2026-03-01")).is_ok());
        assert!(check_api_version(Some("2018-12-01")).is_ok());
        assert!(check_api_version(Some("2020-03-01-preview")).is_ok());
        for bad in ["2030-01-01", "yesterday", "2024-5-1", "1999-01-01"] {
            assert_eq!(
                check_api_version(Some(bad)).unwrap_err().code,
                "InvalidApiVersionParameter",
                "{bad}"
            );
        }
    }
}
