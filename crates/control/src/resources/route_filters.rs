//! `Microsoft.Network/routeFilters` (with `routeFilterRules`) and the subscription-level
//! `bgpServiceCommunities`: what a Microsoft peering advertises. Azure advertises nothing on a
//! Microsoft peering without a filter (since 2017); a filter's one rule allows a list of
//! service communities from the catalogue (`[[service]]`, `crate::catalog`).
//!
//! Rules (Azure's): at most one rule per filter, access `Allow`, type `Community`, every
//! community one the catalogue lists; a filter is attached by the Microsoft peering's
//! `routeFilter.id` (same subscription, Microsoft peering only) and cannot be deleted while
//! attached (`InUseRouteFilterCannotBeDeleted`); its `peerings` lists where it is attached.
//!
//! What is not done yet: the edges do not advertise the allowed services' prefixes on
//! Microsoft peering (the edge's origination carries no communities yet).

use std::collections::BTreeMap;

use api::arm::SubResource;
use api::arm::route_filter as rf;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Stored, list, load, put, rg, sub};
use crate::arm::id::{self, Ref};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb, region};
use crate::catalog::{Catalog, parse_community};
use crate::model::{Circuit, Peering, new_etag};
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate;

pub const KIND: &str = "routeFilters";
/// The index relation from a circuit to the route filters its peerings use.
pub const REL: &str = "routeFilter";
const SCHEMA: Option<&str> = Some("RouteFilter");
const LIST: Option<&str> = Some("RouteFilterListResult");
const RULE: Option<&str> = Some("RouteFilterRule");
const RULES: Option<&str> = Some("RouteFilterRuleListResult");

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(sub!("/bgpServiceCommunities")).op(
            Verb::Get,
            "List the services Microsoft peering reaches and their BGP communities",
            None,
            &[(200, Some("BgpServiceCommunityListResult"))],
            list_communities,
        ),
        Route::new(sub!("/routeFilters")).op(
            Verb::Get,
            "List the route filters of a subscription",
            None,
            &[(200, LIST)],
            list_filters,
        ),
        Route::new(rg!("/routeFilters")).op(
            Verb::Get,
            "List the route filters of a resource group",
            None,
            &[(200, LIST)],
            list_filters,
        ),
        Route::new(rg!("/routeFilters/{routeFilterName}"))
            .op(
                Verb::Get,
                "Get a route filter",
                None,
                &[(200, SCHEMA)],
                get_filter,
            )
            .op(
                Verb::Put,
                "Create or update a route filter",
                SCHEMA,
                &[(200, SCHEMA), (201, SCHEMA)],
                put_filter,
            )
            .op(
                Verb::Patch,
                "Update a route filter's tags",
                Some("TagsObject"),
                &[(200, SCHEMA)],
                patch_filter,
            )
            .op(
                Verb::Delete,
                "Delete a route filter",
                None,
                &[(202, None), (204, None)],
                delete_filter,
            ),
        Route::new(rg!("/routeFilters/{routeFilterName}/routeFilterRules")).op(
            Verb::Get,
            "List a route filter's rules",
            None,
            &[(200, RULES)],
            list_rules,
        ),
        Route::new(rg!(
            "/routeFilters/{routeFilterName}/routeFilterRules/{ruleName}"
        ))
        .op(
            Verb::Get,
            "Get a route filter rule",
            None,
            &[(200, RULE)],
            get_rule,
        )
        .op(
            Verb::Put,
            "Create or update a route filter rule",
            RULE,
            &[(200, RULE), (201, RULE)],
            put_rule,
        )
        .op(
            Verb::Delete,
            "Delete a route filter rule",
            None,
            &[(202, None), (204, None)],
            delete_rule,
        ),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteFilter {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub rules: Vec<Rule>,
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// Normalised `ASN:value` strings.
    pub communities: Vec<String>,
    pub etag: String,
}

impl Stored for RouteFilter {
    const KIND: &'static str = KIND;
    fn id(&self) -> String {
        Ref::new(&self.sub, &self.rg, &self.name).id(KIND)
    }
    fn sub(&self) -> &str {
        &self.sub
    }
    fn rg(&self) -> &str {
        &self.rg
    }
}

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

fn visible(st: &impl Read, call: &Call) -> R<RouteFilter> {
    super::visible(st, call, "routeFilterName")
}

fn rule_dto(f: &RouteFilter, r: &Rule) -> rf::RouteFilterRule {
    rf::RouteFilterRule {
        id: format!("{}/routeFilterRules/{}", f.id(), r.name),
        name: r.name.clone(),
        location: Some(f.location.clone()),
        etag: r.etag.clone(),
        properties: rf::RouteFilterRulePropertiesFormat {
            access: "Allow".into(),
            route_filter_rule_type: "Community".into(),
            communities: r.communities.clone(),
            provisioning_state: "Succeeded".into(),
        },
    }
}

/// The Microsoft peerings (ids) a filter is attached to.
fn attached(st: &impl Read, f: &RouteFilter) -> R<Vec<String>> {
    let id = f.id();
    let circuits: Vec<Circuit> = super::referrers(st, REL, &id)?;
    Ok(circuits
        .iter()
        .flat_map(|c| {
            c.peerings
                .iter()
                .filter(|p| {
                    p.route_filter
                        .as_deref()
                        .is_some_and(|r| r.eq_ignore_ascii_case(&id))
                })
                .map(|p| format!("{}/peerings/{}", c.id(), p.name))
                .collect::<Vec<_>>()
        })
        .collect())
}

fn render(st: &impl Read, f: &RouteFilter) -> R<Body> {
    let peerings = attached(st, f)?
        .into_iter()
        .map(|id| SubResource { id })
        .collect();
    Ok(super::to_body(&rf::RouteFilter {
        id: f.id(),
        name: f.name.clone(),
        kind: rf::RouteFilter::TYPE.into(),
        location: f.location.clone(),
        tags: f.tags.clone(),
        etag: f.etag.clone(),
        properties: rf::RouteFilterPropertiesFormat {
            rules: f.rules.iter().map(|r| rule_dto(f, r)).collect(),
            peerings,
            ipv6_peerings: Vec::new(),
            provisioning_state: "Succeeded".into(),
        },
    }))
}

/// Validates a rule body (the `properties` of a RouteFilterRule).
fn rule_input(catalog: &Catalog, name: &str, props: &Value, at: &str) -> R<Rule> {
    validate::resource_name("routeFilterRules", name)?;
    let access = validate::opt_str(props, "access")?.unwrap_or("Allow");
    if !access.eq_ignore_ascii_case("Allow") {
        return Err(bad(
            "RouteFilterRuleAccessNotSupported",
            format!(
                "{at}.access '{access}': a route filter rule allows (access Allow); what no rule allows is not advertised."
            ),
        ));
    }
    let kind = validate::opt_str(props, "routeFilterRuleType")?.unwrap_or("Community");
    if !kind.eq_ignore_ascii_case("Community") {
        return Err(bad(
            "InvalidRequestFormat",
            format!("{at}.routeFilterRuleType '{kind}' must be Community."),
        ));
    }
    let list = validate::field(props, "communities")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad(
                "InvalidRequestFormat",
                format!(
                    "{at}.communities must be a list of BGP community values such as 12076:5010."
                ),
            )
        })?;
    let mut communities: Vec<String> = Vec::new();
    for v in list {
        let s = v.as_str().unwrap_or_default();
        let Some((a, b)) = parse_community(s) else {
            return Err(bad(
                "InvalidRouteFilterRuleCommunity",
                format!("{at}.communities: '{v}' is not a BGP community (ASN:value)."),
            ));
        };
        if catalog.service_by_community(s).is_none() {
            return Err(bad(
                "InvalidRouteFilterRuleCommunity",
                format!(
                    "{at}.communities: {a}:{b} is not a service community of this deployment; list them with bgpServiceCommunities."
                ),
            ));
        }
        let n = format!("{a}:{b}");
        if !communities.contains(&n) {
            communities.push(n);
        }
    }
    if communities.is_empty() {
        return Err(bad(
            "InvalidRouteFilterRuleCommunity",
            format!("{at}.communities is empty: name at least one service community."),
        ));
    }
    Ok(Rule {
        name: name.to_owned(),
        communities,
        etag: new_etag(),
    })
}

fn one_rule(rules: &[Rule]) -> R<()> {
    if rules.len() > 1 {
        return Err(bad(
            "RouteFilterRuleLimitReached",
            "A route filter has at most one rule: list every community to allow in it.",
        ));
    }
    Ok(())
}

/// The route filter a Microsoft peering names: it must exist where the caller may see it.
/// Returns its id as stored.
pub fn for_peering(st: &impl Read, call: &Call, peering: &Peering, given: &str) -> R<String> {
    if !peering
        .peering_type
        .eq_ignore_ascii_case("MicrosoftPeering")
    {
        return Err(bad(
            "RouteFilterNotSupportedOnPeering",
            format!(
                "routeFilter: only Microsoft peering takes a route filter, not {}.",
                peering.peering_type
            ),
        ));
    }
    let unknown = || {
        bad(
            "InvalidResourceReference",
            format!("Route filter '{given}' referenced by the peering was not found."),
        )
    };
    let (r, _) = id::parse(given, KIND, 0).ok_or_else(unknown)?;
    if !call.owns(&r.sub) {
        return Err(unknown());
    }
    let f: RouteFilter = load(st, &r.id(KIND))?.ok_or_else(unknown)?;
    Ok(f.id())
}

// ===== handlers =====

fn list_communities(svc: &Service, call: &Call) -> R<Outcome> {
    let sub = call.params.sub();
    let items = svc
        .catalog
        .services
        .iter()
        .map(|s| {
            super::to_body(&rf::BgpServiceCommunity {
                id: format!(
                    "/subscriptions/{sub}/providers/Microsoft.Network/bgpServiceCommunities/{}",
                    s.name
                ),
                name: s.name.clone(),
                kind: "Microsoft.Network/bgpServiceCommunities".into(),
                properties: rf::BgpServiceCommunityPropertiesFormat {
                    service_name: s.name.clone(),
                    bgp_communities: vec![rf::BgpCommunity {
                        service_supported_region: s.region.clone(),
                        community_name: s.community_name.clone(),
                        community_value: s.community.clone(),
                        community_prefixes: s.prefixes.clone(),
                        is_authorized_to_use: true,
                        service_group: s.group.clone(),
                    }],
                },
            })
        })
        .collect();
    Ok(svc.page_of(call, items))
}

fn list_filters(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(svc.page_rows(call, Vec::new()));
    }
    let rg = p.has("resourceGroupName").then(|| p.rg());
    let rows = svc.read(|st| -> R<Vec<(i64, Body)>> {
        list::<RouteFilter>(st, Some(p.sub()), rg, call.page.after, call.page.size + 1)?
            .into_iter()
            .map(|(pos, f)| Ok((pos, render(st, &f)?)))
            .collect()
    })?;
    Ok(svc.page_rows(call, rows))
}

fn get_filter(svc: &Service, call: &Call) -> R<Outcome> {
    svc.read(|st| Ok(Outcome::Ok(render(st, &visible(st, call)?)?)))
}

fn put_filter(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg, name) = (p.sub(), p.rg(), p.get("routeFilterName"));
    call.writable(sub)?;
    validate::resource_name(KIND, name)?;
    validate::resource_name("resourceGroups", rg)?;
    let body = call.body()?;
    let location = region::validate(validate::req_str(body, "location")?, "location")?.name;
    let tags = validate::tags(body)?;
    let mut rules = Vec::new();
    if let Some(list) = validate::field(body, "properties.rules") {
        let list = list
            .as_array()
            .ok_or_else(|| bad("InvalidRequestFormat", "'properties.rules' must be a list."))?;
        for (i, r) in list.iter().enumerate() {
            let rname = validate::req_str(r, "name")?;
            let props = validate::field(r, "properties").unwrap_or(&Value::Null);
            rules.push(rule_input(
                &svc.catalog,
                rname,
                props,
                &format!("properties.rules[{i}].properties"),
            )?);
        }
    }
    one_rule(&rules)?;
    let id = Ref::new(sub, rg, name).id(KIND);
    let (f, body, created, op) = svc.write(|tx| {
        let existing: Option<RouteFilter> = load(tx, &id)?;
        call.pre.check(existing.as_ref().map(|f| f.etag.as_str()))?;
        if let Some(old) = &existing
            && !region::same(&old.location, location)
        {
            return Err(bad(
                "CannotChangeLocation",
                format!(
                    "The route filter's location is '{}' and cannot change.",
                    old.location
                ),
            ));
        }
        let f = RouteFilter {
            sub: sub.to_owned(),
            rg: rg.to_owned(),
            name: existing
                .as_ref()
                .map_or_else(|| name.to_owned(), |o| o.name.clone()),
            location: location.to_owned(),
            tags: tags.clone(),
            rules: rules.clone(),
            etag: new_etag(),
        };
        put(tx, &f)?;
        touch_attached(tx, &f)?;
        let op = Operation::succeeded(sub, Some(f.id()), None);
        tx.put_operation(&op)?;
        let body = render(tx, &f)?;
        Ok((f, body, existing.is_none(), op))
    })?;
    Ok(Outcome::Written {
        created,
        body,
        lro: Some(svc.lro(call, &op, &f.location)),
    })
}

/// A filter change changes what its peerings' edges advertise.
fn touch_attached(tx: &mut crate::store::Tx<'_>, f: &RouteFilter) -> R<()> {
    let circuits: Vec<Circuit> = super::referrers(tx, REL, &f.id())?;
    for c in circuits {
        tx.touch(&c.id());
    }
    Ok(())
}

fn patch_filter(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let tags = validate::tags(call.body()?)?;
    let body = svc.write(|tx| {
        let mut f = visible(tx, call)?;
        call.pre.check(Some(&f.etag))?;
        f.tags = tags;
        f.etag = new_etag();
        put(tx, &f)?;
        render(tx, &f)
    })?;
    Ok(Outcome::Ok(body))
}

fn delete_filter(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let done = svc.write(|tx| {
        let Ok(f) = visible(tx, call) else {
            return Ok(None);
        };
        call.pre.check(Some(&f.etag))?;
        let used = attached(tx, &f)?;
        if !used.is_empty() {
            return Err(bad(
                "InUseRouteFilterCannotBeDeleted",
                format!("Route filter {} is attached to {}: detach it (remove the peering's routeFilter) first.", f.id(), used.join(", ")),
            ));
        }
        tx.delete(&f.id())?;
        let op = Operation::succeeded(&f.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, f.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}

fn rule_not_found(call: &Call) -> ArmError {
    ArmError::not_found(
        "Microsoft.Network/routeFilters/routeFilterRules",
        call.params.get("ruleName"),
    )
}

fn list_rules(svc: &Service, call: &Call) -> R<Outcome> {
    let f = svc.read(|st| visible(st, call))?;
    let items = f
        .rules
        .iter()
        .map(|r| super::to_body(&rule_dto(&f, r)))
        .collect();
    Ok(svc.page_of(call, items))
}

fn get_rule(svc: &Service, call: &Call) -> R<Outcome> {
    let f = svc.read(|st| visible(st, call))?;
    let name = call.params.get("ruleName");
    let r = f
        .rules
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| rule_not_found(call))?;
    Ok(Outcome::Ok(super::to_body(&rule_dto(&f, r))))
}

fn put_rule(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let name = call.params.get("ruleName");
    let body = call.body()?;
    let props = validate::field(body, "properties").unwrap_or(&Value::Null);
    let rule = rule_input(&svc.catalog, name, props, "properties")?;
    let (f, r, created, op) = svc.write(|tx| {
        let mut f = visible(tx, call)?;
        let existing = f
            .rules
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .cloned();
        call.pre.check(existing.as_ref().map(|r| r.etag.as_str()))?;
        let r = Rule {
            name: existing
                .as_ref()
                .map_or_else(|| name.to_owned(), |o| o.name.clone()),
            ..rule.clone()
        };
        f.rules.retain(|x| !x.name.eq_ignore_ascii_case(name));
        f.rules.push(r.clone());
        one_rule(&f.rules)?;
        f.etag = new_etag();
        put(tx, &f)?;
        touch_attached(tx, &f)?;
        let op = Operation::succeeded(
            &f.sub,
            Some(format!("{}/routeFilterRules/{}", f.id(), r.name)),
            None,
        );
        tx.put_operation(&op)?;
        Ok((f, r, existing.is_none(), op))
    })?;
    Ok(Outcome::Written {
        created,
        body: super::to_body(&rule_dto(&f, &r)),
        lro: Some(svc.lro(call, &op, &f.location)),
    })
}

fn delete_rule(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let name = call.params.get("ruleName");
    let done = svc.write(|tx| {
        let Ok(mut f) = visible(tx, call) else {
            return Ok(None);
        };
        let Some(r) = f
            .rules
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
            .cloned()
        else {
            return Ok(None);
        };
        call.pre.check(Some(&r.etag))?;
        f.rules.retain(|x| !x.name.eq_ignore_ascii_case(name));
        f.etag = new_etag();
        put(tx, &f)?;
        touch_attached(tx, &f)?;
        let op = Operation::succeeded(&f.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, f.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}
