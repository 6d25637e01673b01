//! Generic ARM access: `GET /subscriptions/{s}/resources` and
//! `/subscriptions/{s}/resourceGroups/{rg}/resources` list every resource of the types
//! served here as `GenericResource` items (id, name, type, location, tags, sku where the type
//! has one) — what `az resource list` reads and what Terraform's resource-group deletion
//! guard asks (`$expand` and `$top`).
//!
//! `$filter` takes `resourceType eq '…'` and `name eq '…'`, joined by `and`, as ARM does for
//! these two; both run in the store's query, so pages stay index seeks in creation order
//! (`nextLink` carries the filter on). `$top` caps the page size. A subscription the caller
//! does not own lists nothing, as for every other list. `az resource show` needs nothing
//! here: it GETs the typed path (with an empty segment that the router drops).

use api::arm::generic_resource::{GenericResource, GenericSku};
use serde::Serialize;

use super::connections::Connection;
use super::gateways::Gateway;
use super::public_ips::PublicIp;
use super::vnets::VirtualNetwork;
use super::{Stored, circuits};
use crate::arm::{ArmError, Body, Outcome, R, Verb, region};
use crate::model::Circuit;
use crate::service::{Call, Route, Service};
use crate::store::Read;

const LIST: Option<&str> = Some("ResourceListResult");

/// The types listed, by their name under `Microsoft.Network/`.
const KINDS: [&str; 6] = [
    circuits::KIND,
    super::vnets::KIND,
    super::gateways::KIND,
    super::connections::KIND,
    super::public_ips::KIND,
    super::route_filters::KIND,
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/subscriptions/{subscriptionId}/resources").op(
            Verb::Get,
            "List the resources of a subscription",
            None,
            &[(200, LIST)],
            list_resources,
        ),
        Route::new("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/resources")
            .op(
                Verb::Get,
                "List the resources of a resource group",
                None,
                &[(200, LIST)],
                list_resources,
            ),
    ]
}

/// What a `$filter` selects.
#[derive(Debug, Default, PartialEq, Eq)]
struct Filter {
    /// The types (all of [`KINDS`] when the filter names none; none for a type not served).
    kinds: Vec<&'static str>,
    name: Option<String>,
}

fn bad_filter(f: &str) -> ArmError {
    let shown: String = f.chars().take(200).collect();
    ArmError::bad_request(
        "InvalidFilterInQueryString",
        format!(
            "Invalid $filter '{shown}': this deployment takes resourceType eq '<namespace>/<type>' and name eq '<name>', joined by 'and'."
        ),
    )
}

fn parse_filter(f: Option<&str>) -> R<Filter> {
    let mut out = Filter {
        kinds: KINDS.to_vec(),
        name: None,
    };
    let Some(f) = f.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(out);
    };
    let lower = f.to_ascii_lowercase();
    let mut rest = f;
    let mut rest_lower = lower.as_str();
    loop {
        let (clause, next) = match rest_lower.find(" and ") {
            Some(i) => (&rest[..i], Some(i + 5)),
            None => (rest, None),
        };
        let (field, value) = clause
            .trim()
            .split_once(char::is_whitespace)
            .and_then(|(k, v)| {
                let v = v.trim_start();
                let v = v
                    .get(..2)
                    .filter(|op| op.eq_ignore_ascii_case("eq"))
                    .map(|_| &v[2..])?;
                let v = v.trim().strip_prefix('\'')?.strip_suffix('\'')?;
                Some((k, v))
            })
            .ok_or_else(|| bad_filter(f))?;
        if field.eq_ignore_ascii_case("resourceType") {
            let served = value
                .split_once('/')
                .filter(|(ns, _)| ns.eq_ignore_ascii_case(crate::arm::id::NETWORK))
                .and_then(|(_, t)| KINDS.iter().find(|k| k.eq_ignore_ascii_case(t)));
            out.kinds.retain(|k| served == Some(k));
        } else if field.eq_ignore_ascii_case("name") {
            out.name = Some(value.to_owned());
        } else {
            return Err(bad_filter(f));
        }
        match next {
            Some(i) => {
                rest = &rest[i..];
                rest_lower = &rest_lower[i..];
            }
            None => return Ok(out),
        }
    }
}

fn generic(
    kind: &str,
    id: String,
    name: &str,
    location: &str,
    tags: &std::collections::BTreeMap<String, String>,
    sku: Option<GenericSku>,
) -> GenericResource {
    GenericResource {
        id,
        name: name.to_owned(),
        kind: format!("{}/{kind}", crate::arm::id::NETWORK),
        location: region::find(location).map_or_else(|| location.to_owned(), |r| r.name.into()),
        tags: (!tags.is_empty()).then(|| tags.clone()),
        sku,
    }
}

fn item<T: Stored>(body: &str) -> R<T> {
    Ok(serde_json::from_str(body).map_err(crate::store::StoreError::from)?)
}

/// One stored row as a generic item.
fn render(kind: &str, body: &str) -> R<Option<Body>> {
    let eq = |k: &str| kind.eq_ignore_ascii_case(k);
    let g = if eq(circuits::KIND) {
        let c: Circuit = item(body)?;
        let sku = GenericSku {
            name: c.sku.name(),
            tier: Some(c.sku.tier.clone()),
            family: Some(c.sku.family.clone()),
        };
        generic(
            circuits::KIND,
            c.id(),
            &c.name,
            &c.location,
            &c.tags,
            Some(sku),
        )
    } else if eq(super::vnets::KIND) {
        let v: VirtualNetwork = item(body)?;
        generic(
            super::vnets::KIND,
            v.id(),
            &v.name,
            &v.location,
            &v.tags,
            None,
        )
    } else if eq(super::gateways::KIND) {
        let g: Gateway = item(body)?;
        generic(
            super::gateways::KIND,
            g.id(),
            &g.name,
            &g.location,
            &g.tags,
            None,
        )
    } else if eq(super::connections::KIND) {
        let c: Connection = item(body)?;
        generic(
            super::connections::KIND,
            c.id(),
            &c.name,
            &c.location,
            &c.tags,
            None,
        )
    } else if eq(super::public_ips::KIND) {
        let p: PublicIp = item(body)?;
        let sku = GenericSku {
            name: "Standard".into(),
            tier: Some("Regional".into()),
            family: None,
        };
        generic(
            super::public_ips::KIND,
            p.id(),
            &p.name,
            &p.location,
            &p.tags,
            Some(sku),
        )
    } else if eq(super::route_filters::KIND) {
        let f: super::route_filters::RouteFilter = item(body)?;
        generic(
            super::route_filters::KIND,
            f.id(),
            &f.name,
            &f.location,
            &f.tags,
            None,
        )
    } else {
        return Ok(None);
    };
    Ok(Some(to_body(&g)))
}

fn to_body<T: Serialize>(t: &T) -> Body {
    super::to_body(t)
}

fn list_resources(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let filter = parse_filter(call.filter.as_deref())?;
    let top = match call.top.as_deref() {
        None => None,
        Some(t) => Some(
            t.parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    ArmError::bad_request(
                        "InvalidTopInQueryString",
                        "$top must be a whole number from 1 to 1000.",
                    )
                })?,
        ),
    };
    let mut call = call.clone();
    call.page.size = top.map_or(call.page.size, |t| t.min(call.page.size));
    if !call.owns(p.sub()) {
        return Ok(svc.page_rows(&call, Vec::new()));
    }
    let rg = p.has("resourceGroupName").then(|| p.rg());
    let rows = svc.read(|st| -> R<Vec<(i64, Body)>> {
        let mut out = Vec::new();
        for (pos, kind, body) in st.list_scope(
            p.sub(),
            rg,
            &filter.kinds,
            filter.name.as_deref(),
            call.page.after,
            call.page.size + 1,
        )? {
            if let Some(b) = render(&kind, &body)? {
                out.push((pos, b));
            }
        }
        Ok(out)
    })?;
    Ok(svc.page_rows(&call, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_a_type_and_a_name_in_any_case() {
        let f = parse_filter(Some(
            "resourceType EQ 'microsoft.network/EXPRESSROUTECIRCUITS' and name eq 'er 1'",
        ))
        .expect("a filter");
        assert_eq!(f.kinds, [circuits::KIND]);
        assert_eq!(f.name.as_deref(), Some("er 1"));
        let none = parse_filter(Some("resourceType eq 'Microsoft.Compute/virtualMachines'"))
            .expect("a filter");
        assert!(none.kinds.is_empty(), "a type not served lists nothing");
        assert_eq!(parse_filter(None).expect("none").kinds.len(), KINDS.len());
        for bad in [
            "tagName eq 'env'",
            "name ne 'x'",
            "name eq x",
            "resourceType",
        ] {
            assert_eq!(
                parse_filter(Some(bad)).unwrap_err().code,
                "InvalidFilterInQueryString",
                "{bad}"
            );
        }
    }
}
