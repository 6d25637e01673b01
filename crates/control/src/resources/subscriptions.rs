//! Subscriptions and tenants: what `az login` lists after it has a token. This Causeway is
//! one directory (one tenant, made on first start); a principal sees the subscriptions its
//! token is scoped to, the admin every subscription any token names.

use api::arm::resources as res;

use crate::arm::region::{self, Region};
use crate::arm::{ArmError, Outcome, R, Status, Verb};
use crate::auth::Principal;
use crate::resources::to_body;
use crate::service::{Call, Route, Service};
use crate::store::Read;

pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/subscriptions").op(
            Verb::Get,
            "List the subscriptions this principal can use",
            None,
            &[(200, Some("SubscriptionListResult"))],
            list_subscriptions,
        ),
        Route::new("/subscriptions/{subscriptionId}").op(
            Verb::Get,
            "Get a subscription",
            None,
            &[(200, Some("Subscription"))],
            get_subscription,
        ),
        Route::new("/subscriptions/{subscriptionId}/locations").op(
            Verb::Get,
            "List the regions a resource may be placed in",
            None,
            &[(200, Some("LocationListResult"))],
            list_locations,
        ),
        Route::new("/tenants").op(
            Verb::Get,
            "List the tenants this principal belongs to",
            None,
            &[(200, Some("TenantListResult"))],
            list_tenants,
        ),
    ]
}

/// The subscriptions a principal may use, lower-cased and sorted.
fn subscriptions_of(svc: &Service, p: &Principal) -> R<Vec<String>> {
    let mut subs: Vec<String> = match p {
        Principal::Customer { subscriptions } => subscriptions.clone(),
        Principal::Admin => svc
            .read(|st| st.tokens())?
            .into_iter()
            .filter(|t| !t.revoked)
            .filter_map(|t| Principal::decode(&t.principal))
            .flat_map(|p| match p {
                Principal::Customer { subscriptions } => subscriptions,
                _ => Vec::new(),
            })
            .collect(),
        Principal::Provider { .. } | Principal::Edge { .. } => Vec::new(),
    };
    for s in &mut subs {
        s.make_ascii_lowercase();
    }
    subs.sort();
    subs.dedup();
    Ok(subs)
}

fn dto(svc: &Service, sub: &str) -> res::Subscription {
    res::Subscription {
        id: format!("/subscriptions/{sub}"),
        subscription_id: sub.to_owned(),
        tenant_id: svc.directory.tenant.clone(),
        display_name: format!("Causeway {sub}"),
        state: "Enabled".into(),
        subscription_policies: res::SubscriptionPolicies {
            location_placement_id: "Public_2014-09-01".into(),
            quota_id: "Causeway_2026-12-01".into(),
            spending_limit: "Off".into(),
        },
        authorization_source: "RoleBased".into(),
        ..res::Subscription::default()
    }
}

fn list_subscriptions(svc: &Service, call: &Call) -> R<Outcome> {
    let items = subscriptions_of(svc, &call.principal)?
        .iter()
        .map(|s| to_body(&dto(svc, s)))
        .collect();
    Ok(svc.page_of(call, items))
}

/// The path's subscription, lower-cased, if the principal may use it; another tenant's
/// reads exactly like a missing one.
fn known_subscription(svc: &Service, call: &Call) -> R<String> {
    let sub = call.params.sub().to_ascii_lowercase();
    if !subscriptions_of(svc, &call.principal)?.contains(&sub) {
        return Err(ArmError::new(
            Status::NotFound,
            "SubscriptionNotFound",
            format!("The subscription '{sub}' could not be found."),
        ));
    }
    Ok(sub)
}

fn get_subscription(svc: &Service, call: &Call) -> R<Outcome> {
    let sub = known_subscription(svc, call)?;
    Ok(Outcome::Ok(to_body(&dto(svc, &sub))))
}

/// The continent-scale group `/locations` shows (and prefixes the regional display name with).
fn geography_group(r: &Region) -> &'static str {
    match (r.geography, r.area) {
        ("United States", _) => "US",
        ("Canada", _) => "Canada",
        ("Mexico", _) => "Mexico",
        (_, "Europe") => "Europe",
        (_, "South America") => "South America",
        (_, "Middle East") => "Middle East",
        (_, "Africa") => "Africa",
        _ => "Asia Pacific",
    }
}

/// The regions of this deployment, as `az account list-locations` reads them. Like every
/// subscription read, another tenant's subscription reads as a missing one.
fn list_locations(svc: &Service, call: &Call) -> R<Outcome> {
    let sub = known_subscription(svc, call)?;
    let items = region::REGIONS
        .iter()
        .map(|r| {
            let group = geography_group(r);
            to_body(&res::Location {
                id: format!("/subscriptions/{sub}/locations/{}", r.name),
                name: r.name.into(),
                kind: "Region".into(),
                display_name: r.display_name.into(),
                regional_display_name: format!("({group}) {}", r.display_name),
                metadata: res::LocationMetadata {
                    region_type: "Physical".into(),
                    region_category: "Recommended".into(),
                    geography_group: group.into(),
                    geography: r.geography.into(),
                    paired_region: Vec::new(),
                },
            })
        })
        .collect();
    Ok(svc.page_of(call, items))
}

fn list_tenants(svc: &Service, call: &Call) -> R<Outcome> {
    let tenant = &svc.directory.tenant;
    let t = res::TenantIdDescription {
        id: format!("/tenants/{tenant}"),
        tenant_id: tenant.clone(),
        tenant_category: "Home".into(),
        display_name: "Causeway".into(),
        default_domain: "causeway.invalid".into(),
        domains: vec!["causeway.invalid".into()],
        tenant_type: "AAD".into(),
    };
    Ok(svc.page_of(call, vec![to_body(&t)]))
}
