//! `Microsoft.Network/expressRouteCircuits`: the customer's circuit.
//!
//! Rules: the SKU and the provider's offer are validated against the catalogue
//! ([`crate::validate::circuit`]); an update may raise the bandwidth but not lower it, move
//! MeteredData to UnlimitedData but not back, and never change provider, peering location,
//! region or the Local tier; a circuit the provider still has provisioned cannot be deleted,
//! nor one that virtual networks are connected to. Every circuit gets a fresh service key,
//! unique in the store. For the edges: a circuit is its own routing domain on both edges of
//! its peering location, so every write touches that circuit.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Stored, list, load, missing, put, rg, sub};
use crate::arm::lro::Operation;
use crate::arm::{Outcome, R, Verb, region};
use crate::model::{Circuit, cross_connection_rg};
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate;

pub const KIND: &str = "expressRouteCircuits";
const SCHEMA: Option<&str> = Some("ExpressRouteCircuit");
const LIST: Option<&str> = Some("ExpressRouteCircuitListResult");

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(sub!("/expressRouteCircuits")).op(
            Verb::Get,
            "List the circuits of a subscription",
            None,
            &[(200, LIST)],
            list_circuits,
        ),
        Route::new(rg!("/expressRouteCircuits")).op(
            Verb::Get,
            "List the circuits of a resource group",
            None,
            &[(200, LIST)],
            list_circuits,
        ),
        Route::new(rg!("/expressRouteCircuits/{circuitName}"))
            .op(
                Verb::Get,
                "Get a circuit",
                None,
                &[(200, SCHEMA)],
                get_circuit,
            )
            .op(
                Verb::Put,
                "Create or update a circuit",
                SCHEMA,
                &[(200, SCHEMA), (201, SCHEMA)],
                put_circuit,
            )
            .op(
                Verb::Patch,
                "Update a circuit's tags",
                Some("TagsObject"),
                &[(200, SCHEMA)],
                patch_circuit,
            )
            .op(
                Verb::Delete,
                "Delete a circuit",
                None,
                &[(202, None), (204, None)],
                delete_circuit,
            ),
    ]
}

impl Stored for Circuit {
    const KIND: &'static str = KIND;
    fn id(&self) -> String {
        Circuit::id(self)
    }
    fn sub(&self) -> &str {
        &self.sub
    }
    fn rg(&self) -> &str {
        &self.rg
    }
    fn refs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("provider", self.provider.service_provider_name.clone()),
            ("location", self.provider.peering_location.clone()),
            (
                "crossConnectionGroup",
                provider_group(
                    &self.provider.service_provider_name,
                    &cross_connection_rg(&self.provider.peering_location),
                ),
            ),
        ]
    }
    fn uniques(&self) -> Vec<(String, String)> {
        let mut u = vec![("serviceKey".to_owned(), self.service_key.clone())];
        if let Some(stag) = self.stag {
            u.push((
                stag_scope(&self.provider.peering_location),
                stag_value(stag),
            ));
        }
        u
    }
}

/// The index key of a provider's cross-connections in one resource group.
pub fn provider_group(provider: &str, rg: &str) -> String {
    format!("{provider}|{rg}")
}

/// The S-tags of one peering location are unique within it.
pub fn stag_scope(location: &str) -> String {
    format!("stag:{}", location.to_ascii_lowercase())
}

pub fn stag_value(stag: u16) -> String {
    format!("{stag:04}")
}

pub fn circuit_id(sub: &str, rg: &str, name: &str) -> String {
    crate::arm::id::Ref::new(sub, rg, name).id(KIND)
}

/// The circuit a call's path names, if the principal may read it; another tenant's reads
/// exactly like a missing one.
pub fn visible(st: &impl Read, call: &Call) -> R<Circuit> {
    let p = &call.params;
    let name = p.get("circuitName");
    let found = if call.owns(p.sub()) {
        load(st, &circuit_id(p.sub(), p.rg(), name))?
    } else {
        None
    };
    found.ok_or_else(|| missing(KIND, name))
}

/// The circuit body, with its peerings as a GET of each answers and its links' live
/// status (`properties.causeway`, a Causeway extension).
pub fn render(svc: &Service, c: &Circuit) -> Value {
    let id = c.id();
    let peerings: Vec<Value> = c
        .peerings
        .iter()
        .map(|p| super::peerings::render(svc, c, p))
        .collect();
    let authorizations: Vec<Value> = c
        .authorizations
        .iter()
        .map(|a| super::authorizations::render(&id, a))
        .collect();
    json!({
        "id": id,
        "name": c.name,
        "type": "Microsoft.Network/expressRouteCircuits",
        "location": c.location,
        "tags": c.tags,
        "etag": c.etag,
        "sku": {"name": c.sku.name(), "tier": c.sku.tier, "family": c.sku.family},
        "properties": {
            "provisioningState": "Succeeded",
            "circuitProvisioningState": "Enabled",
            "serviceProviderProvisioningState": c.provider_state,
            "serviceProviderNotes": c.provider_notes,
            "serviceKey": c.service_key,
            "stag": c.stag.unwrap_or(0),
            "allowClassicOperations": c.allow_classic_operations,
            "globalReachEnabled": c.global_reach_enabled,
            "gatewayManagerEtag": "",
            "serviceProviderProperties": {
                "serviceProviderName": c.provider.service_provider_name,
                "peeringLocation": c.provider.peering_location,
                "bandwidthInMbps": c.provider.bandwidth_in_mbps,
            },
            "peerings": peerings,
            "authorizations": authorizations,
            "causeway": {"links": svc.link_status(c)},
        }
    })
}

// ===== handlers =====

fn list_circuits(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(svc.page_rows(call, Vec::new()));
    }
    let rg = p.has("resourceGroupName").then(|| p.rg());
    let rows =
        svc.read(|st| list::<Circuit>(st, Some(p.sub()), rg, call.page.after, call.page.size + 1))?;
    let rows = rows
        .into_iter()
        .map(|(pos, c)| (pos, render(svc, &c)))
        .collect();
    Ok(svc.page_rows(call, rows))
}

fn get_circuit(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| visible(st, call))?;
    Ok(Outcome::Ok(render(svc, &c)))
}

fn put_circuit(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg, name) = (p.sub(), p.rg(), p.get("circuitName"));
    call.writable(sub)?;
    validate::resource_name(KIND, name)?;
    validate::resource_name("resourceGroups", rg)?;
    let input = validate::circuit(call.body()?, &svc.catalog)?;
    region::validate(&input.location, "location")?;
    let id = circuit_id(sub, rg, name);
    let (circuit, created, op) = svc.write(|tx| {
        let existing: Option<Circuit> = load(tx, &id)?;
        call.pre.check(existing.as_ref().map(|c| c.etag.as_str()))?;
        let created = existing.is_none();
        let circuit = match existing {
            None => Circuit {
                sub: sub.to_owned(),
                rg: rg.to_owned(),
                name: name.to_owned(),
                location: input.location,
                tags: input.tags,
                sku: input.sku,
                service_key: uuid::Uuid::new_v4().to_string(),
                provider: input.provider,
                provider_state: "NotProvisioned".into(),
                provider_notes: String::new(),
                allow_classic_operations: input.allow_classic_operations,
                global_reach_enabled: input.global_reach_enabled,
                peerings: Vec::new(),
                authorizations: Vec::new(),
                etag: crate::model::new_etag(),
                cross_connection_tags: BTreeMap::new(),
                stag: None,
                drain: BTreeMap::new(),
            },
            Some(old) => {
                update_rules(&old, &input)?;
                Circuit {
                    location: old.location.clone(),
                    tags: input.tags,
                    sku: input.sku,
                    provider: input.provider,
                    allow_classic_operations: input.allow_classic_operations,
                    global_reach_enabled: input.global_reach_enabled,
                    etag: crate::model::new_etag(),
                    ..old
                }
            }
        };
        put(tx, &circuit)?;
        let op = Operation::succeeded(sub, Some(circuit.id()), None);
        tx.put_operation(&op)?;
        tx.touch(&circuit.id());
        Ok((circuit, created, op))
    })?;
    Ok(Outcome::Written {
        created,
        body: render(svc, &circuit),
        lro: Some(svc.lro(call, &op, &circuit.location)),
    })
}

fn patch_circuit(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let tags = validate::tags(call.body()?)?;
    let c = svc.write(|tx| {
        let mut c = visible(tx, call)?;
        call.pre.check(Some(&c.etag))?;
        // UpdateTags: the whole tag set is replaced.
        c.tags = tags;
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        Ok(c)
    })?;
    Ok(Outcome::Ok(render(svc, &c)))
}

fn delete_circuit(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(Outcome::NoContent);
    }
    let id = circuit_id(p.sub(), p.rg(), p.get("circuitName"));
    let done = svc.write(|tx| {
        let Some(c) = load::<Circuit>(tx, &id)? else {
            return Ok(None);
        };
        call.pre.check(Some(&c.etag))?;
        if c.provider_state != "NotProvisioned" {
            return Err(crate::arm::ArmError::conflict(
                "CircuitNotDeprovisioned",
                format!(
                    "Circuit '{}' is {} by its provider '{}'. Ask the provider to deprovision it \
                     (serviceProviderProvisioningState must be NotProvisioned) before deleting it.",
                    c.name, c.provider_state, c.provider.service_provider_name
                ),
            ));
        }
        super::connections::refuse_if_connected(tx, call, &c, None)?;
        tx.delete(&id)?;
        let op = Operation::succeeded(p.sub(), None, None);
        tx.put_operation(&op)?;
        tx.touch(&id);
        Ok(Some((op, c.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}

/// What a circuit update may change (Azure's rules): provider and location never; bandwidth
/// only up; MeteredData → UnlimitedData but not back; Standard ↔ Premium freely.
fn update_rules(old: &Circuit, new: &validate::CircuitInput) -> R<()> {
    let bad = |code, m: String| Err(crate::arm::ArmError::bad_request(code, m));
    if !old
        .provider
        .service_provider_name
        .eq_ignore_ascii_case(&new.provider.service_provider_name)
        || !old
            .provider
            .peering_location
            .eq_ignore_ascii_case(&new.provider.peering_location)
    {
        return bad(
            "CannotChangeServiceProviderOrLocation",
            "A circuit's provider and peering location cannot change; create a new circuit instead.".into(),
        );
    }
    if new.provider.bandwidth_in_mbps < old.provider.bandwidth_in_mbps {
        return bad(
            "CannotDecreaseBandwidth",
            format!(
                "Bandwidth can only be increased in place ({} → {} Mbps); delete and recreate the circuit to lower it.",
                old.provider.bandwidth_in_mbps, new.provider.bandwidth_in_mbps
            ),
        );
    }
    if old.sku.family == "UnlimitedData" && new.sku.family == "MeteredData" {
        return bad(
            "CannotChangeSkuFamily",
            "A circuit can move from MeteredData to UnlimitedData, not back.".into(),
        );
    }
    if (old.sku.tier == "Local") != (new.sku.tier == "Local") {
        return bad(
            "CannotChangeSkuTier",
            format!(
                "The SKU tier cannot change between Local and {}.",
                if old.sku.tier == "Local" {
                    &new.sku.tier
                } else {
                    &old.sku.tier
                }
            ),
        );
    }
    if !region::same(&old.location, &new.location) {
        return bad(
            "CannotChangeLocation",
            format!(
                "The circuit's location is '{}' and cannot change.",
                old.location
            ),
        );
    }
    Ok(())
}
