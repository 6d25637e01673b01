//! `Microsoft.Resources/resourceGroups`: the containers az and Terraform create before any
//! network resource (and read a default location from).
//!
//! Rules: a group's location never changes; resources created in a group that does not
//! exist yet keep working (the group is implicit, and reads with the location of the
//! oldest resource in it); deleting a group deletes what it holds, in dependency order, by
//! the same DELETE each resource serves (so every rule of theirs holds), and is refused
//! with 409 — before anything is deleted — while a circuit in it is still provisioned by
//! its provider.

use std::collections::BTreeMap;

use api::arm::resources as res;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Stored, load, put, to_body};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Outcome, R, Status, Verb, region};
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate;

pub const KIND: &str = "resourceGroups";
const SCHEMA: Option<&str> = Some("ResourceGroup");

/// The kinds a group can hold, in the order a group delete removes them (what points at
/// another resource goes before it). A new resource type adds itself here.
pub const DELETE_ORDER: &[&str] = &[
    super::connections::KIND,
    super::gateways::KIND,
    "publicIPAddresses",
    super::vnets::KIND,
    super::circuits::KIND,
    super::route_filters::KIND,
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/subscriptions/{subscriptionId}/resourcegroups").op(
            Verb::Get,
            "List the resource groups of a subscription",
            None,
            &[(200, Some("ResourceGroupListResult"))],
            list_groups,
        ),
        Route::new("/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}")
            .op(
                Verb::Get,
                "Get a resource group",
                None,
                &[(200, SCHEMA)],
                get_group,
            )
            .op(
                Verb::Head,
                "Whether a resource group exists (204 or 404)",
                None,
                &[(204, None)],
                head_group,
            )
            .op(
                Verb::Put,
                "Create or update a resource group",
                SCHEMA,
                &[(200, SCHEMA), (201, SCHEMA)],
                put_group,
            )
            .op(
                Verb::Patch,
                "Update a resource group's tags",
                Some("ResourceGroupPatchable"),
                &[(200, SCHEMA)],
                patch_group,
            )
            .op(
                Verb::Delete,
                "Delete a resource group and everything in it",
                None,
                &[(202, None), (200, None)],
                delete_group,
            ),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGroup {
    pub sub: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub managed_by: Option<String>,
}

pub fn group_id(sub: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{name}")
}

impl Stored for ResourceGroup {
    const KIND: &'static str = KIND;
    fn id(&self) -> String {
        group_id(&self.sub, &self.name)
    }
    fn sub(&self) -> &str {
        &self.sub
    }
    fn rg(&self) -> &str {
        &self.name
    }
}

fn dto(g: &ResourceGroup, state: &str) -> res::ResourceGroup {
    res::ResourceGroup {
        id: g.id(),
        name: g.name.clone(),
        kind: "Microsoft.Resources/resourceGroups".into(),
        location: g.location.clone(),
        managed_by: g.managed_by.clone(),
        tags: g.tags.clone(),
        properties: res::ResourceGroupProperties {
            provisioning_state: state.into(),
        },
    }
}

fn not_found(name: &str) -> ArmError {
    ArmError::new(
        Status::NotFound,
        "ResourceGroupNotFound",
        format!("Resource group '{name}' could not be found."),
    )
}

/// A resource in a group: (kind, name, location), from its stored body.
fn held(st: &impl Read, sub: &str, rg: &str, kind: &str, limit: usize) -> R<Vec<(String, String)>> {
    Ok(st
        .list(kind, Some(sub), Some(rg), 0, limit)?
        .into_iter()
        .filter_map(|(_, body)| {
            let v: Value = serde_json::from_str(&body).ok()?;
            let name = v.get("name")?.as_str()?.to_owned();
            let location = v.get("location").and_then(Value::as_str).unwrap_or("");
            Some((name, location.to_owned()))
        })
        .collect())
}

/// The group a call names: its record, or the implicit group of the resources created in
/// it. Another tenant's reads exactly like a missing one.
fn find(st: &impl Read, call: &Call) -> R<Option<ResourceGroup>> {
    let p = &call.params;
    let (sub, name) = (p.sub(), p.rg());
    if !call.owns(sub) {
        return Ok(None);
    }
    if let Some(g) = load::<ResourceGroup>(st, &group_id(sub, name))? {
        return Ok(Some(g));
    }
    for kind in DELETE_ORDER.iter().rev() {
        if let Some((_, location)) = held(st, sub, name, kind, 1)?.into_iter().next() {
            return Ok(Some(ResourceGroup {
                sub: sub.to_owned(),
                name: name.to_owned(),
                location: region::normalize(&location),
                tags: BTreeMap::new(),
                managed_by: None,
            }));
        }
    }
    Ok(None)
}

fn list_groups(svc: &Service, call: &Call) -> R<Outcome> {
    let sub = call.params.sub();
    if !call.owns(sub) {
        return Ok(svc.page_rows(call, Vec::new()));
    }
    let rows = svc.read(|st| {
        super::list::<ResourceGroup>(st, Some(sub), None, call.page.after, call.page.size + 1)
    })?;
    let rows = rows
        .into_iter()
        .map(|(pos, g)| (pos, to_body(&dto(&g, "Succeeded"))))
        .collect();
    Ok(svc.page_rows(call, rows))
}

fn get_group(svc: &Service, call: &Call) -> R<Outcome> {
    let g = svc
        .read(|st| find(st, call))?
        .ok_or_else(|| not_found(call.params.rg()))?;
    Ok(Outcome::Ok(to_body(&dto(&g, "Succeeded"))))
}

/// `az group exists`: the SDK reads 204 as yes and 404 as no (and any other status as an
/// error), so HEAD answers no body and no 200.
fn head_group(svc: &Service, call: &Call) -> R<Outcome> {
    match svc.read(|st| find(st, call))? {
        Some(_) => Ok(Outcome::NoContent),
        None => Err(not_found(call.params.rg())),
    }
}

/// A group name: 1-90 of letters, digits, `_ - . ( )`, not ending in a period.
fn check_name(name: &str) -> R<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 90
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
        && !name.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidResourceGroupName",
            format!(
                "Resource group name '{}' is invalid: 1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period.",
                name.chars().take(100).collect::<String>()
            ),
        ))
    }
}

fn put_group(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, name) = (p.sub(), p.rg());
    call.writable(sub)?;
    check_name(name)?;
    let body = call.body()?;
    let location = region::validate(validate::req_str(body, "location")?, "location")?.name;
    let tags = validate::tags(body)?;
    let managed_by = validate::opt_str(body, "managedBy")?.map(str::to_owned);
    let (g, created) = svc.write(|tx| {
        let old = find(tx, call)?;
        let stored = load::<ResourceGroup>(tx, &group_id(sub, name))?;
        if let Some(old) = &old
            && !region::same(&old.location, location)
        {
            return Err(ArmError::conflict(
                "InvalidResourceGroupLocation",
                format!(
                    "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                    old.location
                ),
            ));
        }
        let g = ResourceGroup {
            sub: sub.to_owned(),
            // The name keeps the case it was first created with, as ARM does.
            name: stored.as_ref().map_or(name, |s| s.name.as_str()).to_owned(),
            location: location.to_owned(),
            tags,
            managed_by,
        };
        put(tx, &g)?;
        Ok((g, stored.is_none()))
    })?;
    Ok(Outcome::Written {
        created,
        body: to_body(&dto(&g, "Succeeded")),
        lro: None,
    })
}

fn patch_group(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    call.writable(p.sub())?;
    let body = call.body()?;
    let tags = validate::field(body, "tags")
        .map(|_| validate::tags(body))
        .transpose()?;
    let managed_by = validate::opt_str(body, "managedBy")?.map(str::to_owned);
    let g = svc.write(|tx| {
        let mut g = find(tx, call)?.ok_or_else(|| not_found(p.rg()))?;
        if let Some(t) = tags {
            g.tags = t;
        }
        if managed_by.is_some() {
            g.managed_by = managed_by;
        }
        put(tx, &g)?;
        Ok(g)
    })?;
    Ok(Outcome::Ok(to_body(&dto(&g, "Succeeded"))))
}

fn delete_group(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg) = (p.sub(), p.rg());
    let Some(g) = svc.read(|st| find(st, call))? else {
        return Err(not_found(rg));
    };
    call.writable(sub)?;
    // Refused before anything is deleted: a circuit its provider still provisions.
    let provisioned: Vec<String> = svc
        .read(|st| super::list::<crate::model::Circuit>(st, Some(sub), Some(rg), 0, usize::MAX))?
        .into_iter()
        .filter(|(_, c)| c.provider_state != "NotProvisioned")
        .map(|(_, c)| format!("{} ({})", c.name, c.provider_state))
        .collect();
    if !provisioned.is_empty() {
        return Err(ArmError::conflict(
            "ResourceGroupDeletionBlocked",
            format!(
                "Resource group '{}' cannot be deleted: circuit(s) {} are still provisioned by their provider. Ask the provider to deprovision them first.",
                g.name,
                provisioned.join(", ")
            ),
        ));
    }
    // Each resource goes through its own DELETE, so its rules (in use, connected) hold; the
    // first refusal stops the group delete and says which resource refused.
    for kind in DELETE_ORDER {
        for (name, _) in svc.read(|st| held(st, sub, rg, kind, usize::MAX))? {
            let path = format!(
                "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{name}"
            );
            svc.dispatch_as(call, Verb::Delete, &path, None).map_err(|e| {
                ArmError::conflict(
                    "ResourceGroupDeletionBlocked",
                    format!(
                        "Resource group '{}' was not deleted completely: deleting {kind}/{name} was refused ({}: {}).",
                        g.name, e.code, e.message
                    ),
                )
            })?;
        }
    }
    let op = svc.write(|tx| {
        // Deployment records go with their group (their resources went above).
        for (name, _) in held(tx, sub, rg, super::deployments::KIND, usize::MAX)? {
            tx.delete(&format!(
                "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/{name}"
            ))?;
        }
        tx.delete(&group_id(sub, rg))?;
        let op = Operation::succeeded(sub, None, None);
        tx.put_operation(&op)?;
        Ok(op)
    })?;
    Ok(Outcome::Accepted(svc.lro(call, &op, &g.location)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_arm_rules() {
        for ok in ["rg", "RG-1", "a.b_c(d)", "grüppe", &"x".repeat(90)] {
            check_name(ok).unwrap_or_else(|e| panic!("{ok}: {}", e.message));
        }
        for bad in ["", "ends.", "has space", "sl/ash", &"x".repeat(91)] {
            assert_eq!(
                check_name(bad).expect_err(bad).code,
                "InvalidResourceGroupName"
            );
        }
    }
}
