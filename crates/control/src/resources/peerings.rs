//! `expressRouteCircuits/{c}/peerings/{p}`: a circuit's BGP peerings, stored inside the
//! circuit record.
//!
//! Rules ([`crate::validate::peering`]): a peering is named after its type
//! (AzurePrivatePeering, MicrosoftPeering), its VLAN is unique on the circuit, its link
//! subnets are two /30s (or one /29 split in two), IPv6 two /126s, its ASN is not reserved;
//! a PUT that does not mention `sharedKey` keeps the key already configured (the key is
//! never echoed, so clients that GET-modify-PUT would otherwise erase it). A private peering
//! that virtual networks use cannot be deleted. The provider writes the same peerings
//! through its cross-connection ([`super::cross_connections`]); both go through [`write`]
//! and [`remove`] here. For the edges: every write touches the circuit.

use serde_json::{Value, json};

use super::{circuits, put, rg};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Outcome, R, Verb};
use crate::model::{Circuit, Peering, primary_port, secondary_port};
use crate::service::{Call, Route, Service};
use crate::store::Tx;
use crate::validate;

const SCHEMA: Option<&str> = Some("ExpressRouteCircuitPeering");
const LIST: Option<&str> = Some("ExpressRouteCircuitPeeringListResult");

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!("/expressRouteCircuits/{circuitName}/peerings")).op(
            Verb::Get,
            "List a circuit's peerings",
            None,
            &[(200, LIST)],
            list_peerings,
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}"
        ))
        .op(
            Verb::Get,
            "Get a peering",
            None,
            &[(200, SCHEMA)],
            get_peering,
        )
        .op(
            Verb::Put,
            "Create or update a peering",
            SCHEMA,
            &[(200, SCHEMA), (201, SCHEMA)],
            put_peering,
        )
        .op(
            Verb::Delete,
            "Delete a peering",
            None,
            &[(202, None), (204, None)],
            delete_peering,
        ),
    ]
}

/// A circuit's peering by name, or the 404 a missing one answers.
pub fn peering_of<'a>(c: &'a Circuit, name: &str) -> R<&'a Peering> {
    c.peering(name)
        .ok_or_else(|| ArmError::not_found("peerings", name))
}

/// The customer's view of a peering, with its sessions' live status
/// (`properties.causeway`, a Causeway extension).
pub fn render(svc: &Service, c: &Circuit, p: &Peering) -> Value {
    let mut v = render_wire(p, &c.id(), circuits::KIND, c, svc.edges.local_as);
    v["properties"]["causeway"] = json!({"links": svc.peering_status(c, &p.name)});
    v
}

/// A peering in ARM's shape under `parent_id` (a circuit or a cross-connection).
pub fn render_wire(p: &Peering, parent_id: &str, kind: &str, c: &Circuit, azure_asn: u32) -> Value {
    let mut props = json!({
        "provisioningState": "Succeeded",
        "peeringType": p.peering_type,
        "state": p.state,
        "azureASN": azure_asn,
        "peerASN": p.peer_asn,
        "primaryPeerAddressPrefix": p.primary_prefix,
        "secondaryPeerAddressPrefix": p.secondary_prefix,
        "primaryAzurePort": primary_port(c),
        "secondaryAzurePort": secondary_port(c),
        "vlanId": p.vlan_id,
        "gatewayManagerEtag": "",
        "lastModifiedBy": p.last_modified_by,
    });
    if let Some(ms) = &p.microsoft {
        props["microsoftPeeringConfig"] = render_microsoft(ms);
    }
    if let Some(v6) = &p.ipv6 {
        let mut cfg = json!({
            "primaryPeerAddressPrefix": v6.primary_prefix,
            "secondaryPeerAddressPrefix": v6.secondary_prefix,
            "state": v6.state,
        });
        if let Some(ms) = &v6.microsoft {
            cfg["microsoftPeeringConfig"] = render_microsoft(ms);
        }
        props["ipv6PeeringConfig"] = cfg;
    }
    if kind == circuits::KIND {
        props["connections"] = json!([]);
        props["peeredConnections"] = json!([]);
    }
    json!({
        "id": format!("{parent_id}/peerings/{}", p.name),
        "name": p.name,
        "type": format!("Microsoft.Network/{kind}/peerings"),
        "etag": p.etag,
        "properties": props,
    })
}

fn render_microsoft(ms: &crate::model::MicrosoftConfig) -> Value {
    let mut v = json!({
        "advertisedPublicPrefixes": ms.advertised_public_prefixes,
        "advertisedCommunities": ms.advertised_communities,
        "advertisedPublicPrefixesState": "Configured",
        "legacyMode": 0,
    });
    if let Some(asn) = ms.customer_asn {
        v["customerASN"] = json!(asn);
    }
    if let Some(r) = &ms.routing_registry_name {
        v["routingRegistryName"] = json!(r);
    }
    v
}

// ===== handlers =====

fn list_peerings(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| circuits::visible(st, call))?;
    let items = c.peerings.iter().map(|p| render(svc, &c, p)).collect();
    Ok(svc.page_of(call, items))
}

fn get_peering(svc: &Service, call: &Call) -> R<Outcome> {
    let c = svc.read(|st| circuits::visible(st, call))?;
    let p = peering_of(&c, call.params.get("peeringName"))?;
    Ok(Outcome::Ok(render(svc, &c, p)))
}

fn put_peering(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let (c, p, created, op) = write(svc, call, "Customer", |tx, call| {
        circuits::visible(tx, call)
    })?;
    Ok(Outcome::Written {
        created,
        body: render(svc, &c, &p),
        lro: Some(svc.lro(call, &op, &c.location)),
    })
}

fn delete_peering(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    remove(svc, call, |tx, call| circuits::visible(tx, call).map(Some))
}

// ===== shared with the provider's side =====

/// Finds the circuit a peering call writes to, inside the transaction.
pub type Find = fn(&Tx<'_>, &Call) -> R<Circuit>;

/// A peering PUT (by the customer or, through its cross-connection, the provider): the
/// stored circuit, the peering, whether it was created, and the operation.
pub fn write(
    svc: &Service,
    call: &Call,
    modified_by: &str,
    find: Find,
) -> R<(Circuit, Peering, bool, Operation)> {
    let body = call.body()?;
    let name = call.params.get("peeringName");
    let parent = if call.params.has("crossConnectionName") {
        None
    } else {
        Some(())
    };
    svc.write(|tx| {
        let mut c = find(tx, call)?;
        let existing = c.peering(name).cloned();
        call.pre.check(existing.as_ref().map(|p| p.etag.as_str()))?;
        let mut peering = validate::peering(body, name, &c.peerings, modified_by)?;
        if validate::field(body, "properties.sharedKey").is_none()
            && let Some(old) = &existing
        {
            peering.shared_key = old.shared_key.clone();
        }
        let created = existing.is_none();
        c.peerings
            .retain(|p| !p.name.eq_ignore_ascii_case(&peering.name));
        c.peerings.push(peering.clone());
        c.peerings.sort_by(|a, b| a.name.cmp(&b.name));
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        let parent_id = match parent {
            Some(()) => c.id(),
            None => c.cross_connection_id(call.params.sub()),
        };
        let path = format!("{parent_id}/peerings/{}", peering.name);
        let op = Operation::succeeded(call.params.sub(), Some(path), None);
        tx.put_operation(&op)?;
        tx.touch(&c.id());
        Ok((c, peering, created, op))
    })
}

/// Finds the circuit a peering DELETE removes from (`None`: nothing to delete).
pub type FindOpt = fn(&Tx<'_>, &Call) -> R<Option<Circuit>>;

/// A peering DELETE: 204 when there is nothing to delete.
pub fn remove(svc: &Service, call: &Call, find: FindOpt) -> R<Outcome> {
    let name = call.params.get("peeringName");
    let done = svc.write(|tx| {
        let mut c = match find(tx, call) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(None),
            Err(e) if e.status == crate::arm::Status::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(p) = c.peering(name).cloned() else {
            return Ok(None);
        };
        call.pre.check(Some(&p.etag))?;
        super::connections::refuse_if_connected(tx, call, &c, Some(&p.name))?;
        c.peerings.retain(|x| !x.name.eq_ignore_ascii_case(name));
        c.etag = crate::model::new_etag();
        put(tx, &c)?;
        let op = Operation::succeeded(call.params.sub(), None, None);
        tx.put_operation(&op)?;
        tx.touch(&c.id());
        Ok(Some((op, c.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}
