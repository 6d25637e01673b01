//! `expressRouteCrossConnections`: the provider's view of a circuit, named by its service key
//! in resource group `CrossConnection-<location>` of the provider's subscription. It is the
//! same stored record as the circuit, so customer and provider can never disagree.
//!
//! Rules: only the provider the circuit names sees it (another provider, or a customer,
//! reads it as missing); the provider drives `serviceProviderProvisioningState`
//! NotProvisioned → Provisioning → Provisioned → Deprovisioning → NotProvisioned, and the
//! Provisioned transition assigns the circuit a QinQ S-tag unique at its peering location;
//! the provider writes Layer-3 peerings (lastModifiedBy ServiceProvider). For the edges: the
//! provisioning state decides whether the circuit runs at all, so writes touch the circuit.

use api::arm::cross_connection as xc;

use super::{circuits, load, peerings, put, rg, sub};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb};
use crate::catalog::Provider;
use crate::model::{Circuit, cross_connection_rg, primary_port, secondary_port};
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate;

pub const KIND: &str = "expressRouteCrossConnections";
const SCHEMA: Option<&str> = Some("ExpressRouteCrossConnection");
const LIST: Option<&str> = Some("ExpressRouteCrossConnectionListResult");
const PEERING: Option<&str> = Some("ExpressRouteCrossConnectionPeering");
const PEERINGS: Option<&str> = Some("ExpressRouteCrossConnectionPeeringList");

/// Provider-side provisioning states.
pub const PROVIDER_STATES: [&str; 4] = [
    "NotProvisioned",
    "Provisioning",
    "Provisioned",
    "Deprovisioning",
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(sub!("/expressRouteCrossConnections")).op(
            Verb::Get,
            "List the provider's cross-connections",
            None,
            &[(200, LIST)],
            list_cross_connections,
        ),
        Route::new(rg!("/expressRouteCrossConnections")).op(
            Verb::Get,
            "List the provider's cross-connections in a resource group",
            None,
            &[(200, LIST)],
            list_cross_connections,
        ),
        Route::new(rg!("/expressRouteCrossConnections/{crossConnectionName}"))
            .op(
                Verb::Get,
                "Get a cross-connection",
                None,
                &[(200, SCHEMA)],
                get_cross_connection,
            )
            .op(
                Verb::Put,
                "Update a cross-connection (provisioning state, notes, tags)",
                SCHEMA,
                &[(200, SCHEMA)],
                put_cross_connection,
            )
            .op(
                Verb::Patch,
                "Update a cross-connection's tags",
                Some("TagsObject"),
                &[(200, SCHEMA)],
                patch_cross_connection,
            ),
        Route::new(rg!(
            "/expressRouteCrossConnections/{crossConnectionName}/peerings"
        ))
        .op(
            Verb::Get,
            "List a cross-connection's peerings",
            None,
            &[(200, PEERINGS)],
            list_peerings,
        ),
        Route::new(rg!(
            "/expressRouteCrossConnections/{crossConnectionName}/peerings/{peeringName}"
        ))
        .op(
            Verb::Get,
            "Get a cross-connection peering",
            None,
            &[(200, PEERING)],
            get_peering,
        )
        .op(
            Verb::Put,
            "Create or update a cross-connection peering",
            PEERING,
            &[(200, PEERING), (201, PEERING)],
            put_peering,
        )
        .op(
            Verb::Delete,
            "Delete a cross-connection peering",
            None,
            &[(202, None), (204, None)],
            delete_peering,
        ),
    ]
}

/// The provider's view in ARM's shape.
pub fn render(c: &Circuit, provider_sub: &str) -> Body {
    let id = c.cross_connection_id(provider_sub);
    super::to_body(&xc::ExpressRouteCrossConnection {
        id: id.clone(),
        name: c.service_key.clone(),
        kind: "Microsoft.Network/expressRouteCrossConnections".into(),
        location: c.location.clone(),
        tags: c.cross_connection_tags.clone(),
        etag: c.etag.clone(),
        properties: xc::ExpressRouteCrossConnectionProperties {
            primary_azure_port: primary_port(c),
            secondary_azure_port: secondary_port(c),
            s_tag: c.stag.unwrap_or(0),
            peering_location: c.provider.peering_location.clone(),
            bandwidth_in_mbps: c.provider.bandwidth_in_mbps,
            express_route_circuit: xc::ExpressRouteCircuitReference { id: c.id() },
            service_provider_provisioning_state: c.provider_state.clone(),
            service_provider_notes: Some(c.provider_notes.clone()),
            peerings: c
                .peerings
                .iter()
                .map(|p| peerings::cross_dto(p, c, &id))
                .collect(),
            ..Default::default()
        },
    })
}

fn render_peering(p: &crate::model::Peering, c: &Circuit, provider_sub: &str) -> Body {
    super::to_body(&peerings::cross_dto(
        p,
        c,
        &c.cross_connection_id(provider_sub),
    ))
}

/// The provider whose catalogue subscription a call addresses, if the caller is it.
fn calling_provider<'a>(svc: &'a Service, call: &Call) -> Option<&'a Provider> {
    svc.catalog
        .provider_by_subscription(call.params.sub())
        .filter(|p| call.principal.is_provider(&p.name))
}

/// The circuit a cross-connection path names, if the caller is its provider; anything
/// else reads as missing.
pub fn visible(svc: &Service, st: &impl Read, call: &Call) -> R<Circuit> {
    let name = call.params.get("crossConnectionName");
    let not_found = || ArmError::not_found("Microsoft.Network/expressRouteCrossConnections", name);
    let provider = calling_provider(svc, call).ok_or_else(not_found)?;
    let id = st.unique("serviceKey", name)?.ok_or_else(not_found)?;
    let c: Circuit = load(st, &id)?.ok_or_else(not_found)?;
    let same_provider = c
        .provider
        .service_provider_name
        .eq_ignore_ascii_case(&provider.name);
    let same_rg = call
        .params
        .rg()
        .eq_ignore_ascii_case(&cross_connection_rg(&c.provider.peering_location));
    if !same_provider || !same_rg {
        return Err(not_found());
    }
    Ok(c)
}

fn list_cross_connections(svc: &Service, call: &Call) -> R<Outcome> {
    let Some(provider) = calling_provider(svc, call) else {
        return Ok(svc.page_rows(call, Vec::new()));
    };
    let (rel, dst) = if call.params.has("resourceGroupName") {
        (
            "crossConnectionGroup",
            circuits::provider_group(&provider.name, call.params.rg()),
        )
    } else {
        ("provider", provider.name.clone())
    };
    let rows = svc.read(|st| st.referrers(rel, &dst, call.page.after, call.page.size + 1))?;
    let rows = rows
        .into_iter()
        .map(|(pos, body)| {
            let c: Circuit = serde_json::from_str(&body).map_err(crate::store::StoreError::from)?;
            Ok((pos, render(&c, call.params.sub())))
        })
        .collect::<R<Vec<_>>>()?;
    Ok(svc.page_rows(call, rows))
}

fn get_cross_connection(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| visible(svc, st, call))?;
    Ok(Outcome::Ok(render(&c, call.params.sub())))
}

fn put_cross_connection(svc: &Service, call: &Call) -> R<Outcome> {
    let body = call.body()?;
    let state = validate::opt_str(body, "properties.serviceProviderProvisioningState")?
        .map(|state| {
            PROVIDER_STATES
                .iter()
                .find(|s| s.eq_ignore_ascii_case(state))
                .ok_or_else(|| {
                    ArmError::bad_request(
                        "InvalidServiceProviderProvisioningState",
                        format!("'{state}' is not one of {}.", PROVIDER_STATES.join(", ")),
                    )
                })
        })
        .transpose()?;
    let notes = validate::opt_str(body, "properties.serviceProviderNotes")?;
    let tags = validate::field(body, "tags")
        .is_some()
        .then(|| validate::tags(body))
        .transpose()?;
    let sub = call.params.sub();
    let (c, op) = svc.write(|tx| {
        let mut c = visible(svc, tx, call)?;
        call.pre.check(Some(&c.etag))?;
        if let Some(to) = state {
            provider_transition(&c, to)?;
            if *to == "Provisioned" && c.stag.is_none() {
                c.stag = Some(allocate_stag(tx, &c)?);
            }
            c.provider_state = (*to).to_owned();
        }
        if let Some(notes) = notes {
            c.provider_notes = notes.to_owned();
        }
        if let Some(tags) = tags {
            c.cross_connection_tags = tags;
        }
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        let op = Operation::succeeded(sub, Some(c.cross_connection_id(sub)), None);
        tx.put_operation(&op)?;
        tx.touch(&c.id());
        Ok((c, op))
    })?;
    Ok(Outcome::Written {
        created: false,
        body: render(&c, sub),
        lro: Some(svc.lro(call, &op, &c.location)),
    })
}

fn patch_cross_connection(svc: &Service, call: &Call) -> R<Outcome> {
    let tags = validate::tags(call.body()?)?;
    let c = svc.write(|tx| {
        let mut c = visible(svc, tx, call)?;
        call.pre.check(Some(&c.etag))?;
        c.cross_connection_tags = tags;
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        Ok(c)
    })?;
    Ok(Outcome::Ok(render(&c, call.params.sub())))
}

fn list_peerings(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| visible(svc, st, call))?;
    let items = c
        .peerings
        .iter()
        .map(|p| render_peering(p, &c, call.params.sub()))
        .collect();
    Ok(svc.page_of(call, items))
}

fn get_peering(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| visible(svc, st, call))?;
    let p = peerings::peering_of(&c, call.params.get("peeringName"))?;
    Ok(Outcome::Ok(render_peering(p, &c, call.params.sub())))
}

fn put_peering(svc: &Service, call: &Call) -> R<Outcome> {
    // Resolve visibility up front (404 for anyone but the circuit's provider); the write
    // re-reads the circuit inside its transaction by service key.
    svc.read(|st| visible(svc, st, call))?;
    let (c, p, created, op) = peerings::write(svc, call, "ServiceProvider", by_service_key)?;
    Ok(Outcome::Written {
        created,
        body: render_peering(&p, &c, call.params.sub()),
        lro: Some(svc.lro(call, &op, &c.location)),
    })
}

fn delete_peering(svc: &Service, call: &Call) -> R<Outcome> {
    if svc.read(|st| visible(svc, st, call)).is_err() {
        return Ok(Outcome::NoContent);
    }
    peerings::remove(svc, call, |tx, call| by_service_key(tx, call).map(Some))
}

/// The circuit named by the path's service key (visibility already checked).
fn by_service_key(tx: &crate::store::Tx<'_>, call: &Call) -> R<Circuit> {
    let name = call.params.get("crossConnectionName");
    let not_found = || ArmError::not_found("Microsoft.Network/expressRouteCrossConnections", name);
    let id = tx.unique("serviceKey", name)?.ok_or_else(not_found)?;
    load(tx, &id)?.ok_or_else(not_found)
}

/// The lowest QinQ S-tag from 100 not used by another circuit at the same location.
fn allocate_stag(st: &impl Read, c: &Circuit) -> R<u16> {
    let used: Vec<u16> = st
        .unique_values(&circuits::stag_scope(&c.provider.peering_location))?
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    (100..=4094)
        .find(|s| used.binary_search(s).is_err())
        .ok_or_else(|| {
            ArmError::conflict(
                "NoFreeSTag",
                "Every S-tag at this peering location is in use.",
            )
        })
}

/// The provider's workflow: NotProvisioned → Provisioning → Provisioned → Deprovisioning →
/// NotProvisioned (Provisioning may be skipped, and abandoned back to NotProvisioned).
fn provider_transition(c: &Circuit, to: &str) -> R<()> {
    let from = c.provider_state.as_str();
    let allowed = from == to
        || matches!(
            (from, to),
            ("NotProvisioned", "Provisioning")
                | ("NotProvisioned", "Provisioned")
                | ("Provisioning", "Provisioned")
                | ("Provisioning", "NotProvisioned")
                | ("Provisioned", "Deprovisioning")
                | ("Deprovisioning", "NotProvisioned")
        );
    if allowed {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidServiceProviderProvisioningStateTransition",
            format!(
                "serviceProviderProvisioningState cannot go from {from} to {to}; the order is NotProvisioned → Provisioning → Provisioned → Deprovisioning → NotProvisioned."
            ),
        ))
    }
}
