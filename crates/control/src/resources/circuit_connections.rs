//! Global Reach: `expressRouteCircuits/{c}/peerings/AzurePrivatePeering/connections/{n}`
//! (ExpressRouteCircuitConnection) joins two circuits' private peerings so their on-premises
//! sites reach each other over the backbone; the peer circuit shows it read-only under
//! `peerConnections`. Stored on the initiating circuit (`Circuit::global_reach`), indexed by
//! the peer circuit's id so the peer finds what points at it.
//!
//! Rules (Azure's): configured on one side only; both circuits need private peering; never on
//! the Local SKU; the two circuits at different peering locations; across geopolitical
//! regions only when both are Premium; a peer in another subscription needs an
//! `authorizationKey` from one of its authorizations (which it then uses); `addressPrefix` an
//! IPv4 /29 (`ipv6CircuitConnectionConfig.addressPrefix` an IPv6 /125) overlapping neither
//! circuit's peering subnets nor another connection's; peer and prefixes fixed once made. Not
//! transitive: nothing here joins A and C because both are joined to B.
//!
//! What is not done yet: the edges do not carry Global Reach (no backbone segment between the
//! two circuits' routing domains); `circuitConnectionStatus` says `Connected` when both
//! circuits are provisioned with private peering, which is the control plane's view only.

use api::arm::SubResource;
use api::arm::circuit as arm;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::{circuits, load, put, rg};
use crate::arm::id;
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb};
use crate::model::{Circuit, CircuitConnection, new_etag};
use crate::reach::Place;
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate;

/// The index relation from a circuit to the peers of its Global Reach connections.
pub const PEER_REL: &str = "globalReachPeer";
const PRIVATE: &str = "AzurePrivatePeering";
const SCHEMA: Option<&str> = Some("ExpressRouteCircuitConnection");
const LIST: Option<&str> = Some("ExpressRouteCircuitConnectionListResult");
const PEER_SCHEMA: Option<&str> = Some("PeerExpressRouteCircuitConnection");
const PEER_LIST: Option<&str> = Some("PeerExpressRouteCircuitConnectionListResult");

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}/connections"
        ))
        .op(
            Verb::Get,
            "List a private peering's Global Reach connections",
            None,
            &[(200, LIST)],
            list_connections,
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}/connections/{connectionName}"
        ))
        .op(
            Verb::Get,
            "Get a Global Reach connection",
            None,
            &[(200, SCHEMA)],
            get_connection,
        )
        .op(
            Verb::Put,
            "Create or update a Global Reach connection",
            SCHEMA,
            &[(200, SCHEMA), (201, SCHEMA)],
            put_connection,
        )
        .op(
            Verb::Delete,
            "Delete a Global Reach connection",
            None,
            &[(202, None), (204, None)],
            delete_connection,
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}/peerConnections"
        ))
        .op(
            Verb::Get,
            "List the Global Reach connections other circuits made to this one",
            None,
            &[(200, PEER_LIST)],
            list_peer_connections,
        ),
        Route::new(rg!(
            "/expressRouteCircuits/{circuitName}/peerings/{peeringName}/peerConnections/{connectionName}"
        ))
        .op(
            Verb::Get,
            "Get a Global Reach connection another circuit made to this one",
            None,
            &[(200, PEER_SCHEMA)],
            get_peer_connection,
        ),
    ]
}

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

fn peering_id(circuit_id: &str) -> String {
    format!("{circuit_id}/peerings/{PRIVATE}")
}

fn status(a: Option<&Circuit>, b: Option<&Circuit>) -> &'static str {
    let ready =
        |c: Option<&Circuit>| c.is_some_and(|c| c.provisioned() && c.peering(PRIVATE).is_some());
    if ready(a) && ready(b) {
        "Connected"
    } else {
        "Disconnected"
    }
}

/// A connection as its initiating circuit shows it.
pub fn dto(
    c: &Circuit,
    g: &CircuitConnection,
    peer: Option<&Circuit>,
) -> arm::ExpressRouteCircuitConnection {
    let own = peering_id(&c.id());
    let st = status(Some(c), peer);
    arm::ExpressRouteCircuitConnection {
        id: format!("{own}/connections/{}", g.name),
        name: g.name.clone(),
        kind: arm::ExpressRouteCircuitConnection::TYPE.into(),
        etag: g.etag.clone(),
        properties: arm::ExpressRouteCircuitConnectionPropertiesFormat {
            express_route_circuit_peering: SubResource { id: own },
            peer_express_route_circuit_peering: SubResource {
                id: peering_id(&g.peer),
            },
            address_prefix: g.address_prefix.clone(),
            authorization_key: g.authorization_key.clone(),
            ipv6_circuit_connection_config: g.ipv6_prefix.as_ref().map(|p| {
                arm::Ipv6CircuitConnectionConfig {
                    address_prefix: p.clone(),
                    circuit_connection_status: Some(st.into()),
                }
            }),
            circuit_connection_status: st.into(),
            ..Default::default()
        },
    }
}

/// A connection as the circuit it points at shows it.
pub fn peer_dto(
    me: &Circuit,
    initiator: &Circuit,
    g: &CircuitConnection,
) -> arm::PeerExpressRouteCircuitConnection {
    let own = peering_id(&me.id());
    arm::PeerExpressRouteCircuitConnection {
        id: format!("{own}/peerConnections/{}", g.name),
        name: g.name.clone(),
        kind: arm::PeerExpressRouteCircuitConnection::TYPE.into(),
        etag: g.etag.clone(),
        properties: arm::PeerExpressRouteCircuitConnectionPropertiesFormat {
            express_route_circuit_peering: SubResource { id: own },
            peer_express_route_circuit_peering: SubResource {
                id: peering_id(&initiator.id()),
            },
            address_prefix: g.address_prefix.clone(),
            circuit_connection_status: status(Some(me), Some(initiator)).into(),
            connection_name: g.name.clone(),
            auth_resource_guid: g.authorization.clone(),
            ..Default::default()
        },
    }
}

/// The Global Reach connections other circuits made to `me`: (initiator, connection).
pub fn pointing_at(st: &impl Read, me: &Circuit) -> R<Vec<(Circuit, CircuitConnection)>> {
    let id = me.id();
    let initiators: Vec<Circuit> = super::referrers(st, PEER_REL, &id)?;
    Ok(initiators
        .into_iter()
        .flat_map(|c| {
            c.global_reach
                .iter()
                .filter(|g| g.peer.eq_ignore_ascii_case(&id))
                .cloned()
                .map(|g| (c.clone(), g))
                .collect::<Vec<_>>()
        })
        .collect())
}

/// The private peering of the addressed circuit (404 for any other peering name).
fn private_only(call: &Call) -> R<()> {
    let name = call.params.get("peeringName");
    if name.eq_ignore_ascii_case(PRIVATE) {
        Ok(())
    } else {
        Err(ArmError::not_found(
            "Microsoft.Network/expressRouteCircuits/peerings",
            name,
        ))
    }
}

fn list_connections(svc: &Service, call: &Call) -> R<Outcome> {
    private_only(call)?;
    let items = svc.read(|st| -> R<Vec<Body>> {
        let c = circuits::visible(st, call)?;
        let mut out = Vec::new();
        for g in &c.global_reach {
            let peer: Option<Circuit> = load(st, &g.peer)?;
            out.push(super::to_body(&dto(&c, g, peer.as_ref())));
        }
        Ok(out)
    })?;
    Ok(svc.page_of(call, items))
}

fn find<'a>(c: &'a Circuit, name: &str) -> Option<&'a CircuitConnection> {
    c.global_reach
        .iter()
        .find(|g| g.name.eq_ignore_ascii_case(name))
}

fn not_found(call: &Call) -> ArmError {
    ArmError::not_found(
        "Microsoft.Network/expressRouteCircuits/peerings/connections",
        call.params.get("connectionName"),
    )
}

fn get_connection(svc: &Service, call: &Call) -> R<Outcome> {
    private_only(call)?;
    let body = svc.read(|st| -> R<Body> {
        let c = circuits::visible(st, call)?;
        let g = find(&c, call.params.get("connectionName")).ok_or_else(|| not_found(call))?;
        let peer: Option<Circuit> = load(st, &g.peer)?;
        Ok(super::to_body(&dto(&c, g, peer.as_ref())))
    })?;
    Ok(Outcome::Ok(body))
}

fn list_peer_connections(svc: &Service, call: &Call) -> R<Outcome> {
    private_only(call)?;
    let items = svc.read(|st| -> R<Vec<Body>> {
        let c = circuits::visible(st, call)?;
        Ok(pointing_at(st, &c)?
            .iter()
            .map(|(init, g)| super::to_body(&peer_dto(&c, init, g)))
            .collect::<Vec<Body>>())
    })?;
    Ok(svc.page_of(call, items))
}

fn get_peer_connection(svc: &Service, call: &Call) -> R<Outcome> {
    private_only(call)?;
    let name = call.params.get("connectionName");
    let body = svc.read(|st| -> R<Body> {
        let c = circuits::visible(st, call)?;
        pointing_at(st, &c)?
            .iter()
            .find(|(_, g)| g.name.eq_ignore_ascii_case(name))
            .map(|(init, g)| super::to_body(&peer_dto(&c, init, g)))
            .ok_or_else(|| not_found(call))
    })?;
    Ok(Outcome::Ok(body))
}

/// The validated prefixes of a connection body.
fn prefixes(body: &serde_json::Value) -> R<(Ipv4Net, Option<Ipv6Net>)> {
    let v4 = validate::req_str(body, "properties.addressPrefix")?;
    let v4 = v4
        .parse::<Ipv4Net>()
        .ok()
        .filter(|n| n.prefix_len() == 29 && n.trunc() == *n)
        .ok_or_else(|| {
            bad(
                "InvalidGlobalReachAddressPrefix",
                format!("addressPrefix '{v4}' must be an IPv4 /29 network address, such as 192.168.100.0/29."),
            )
        })?;
    let v6 = match validate::opt_str(body, "properties.ipv6CircuitConnectionConfig.addressPrefix")? {
        None => None,
        Some(p) => Some(
            p.parse::<Ipv6Net>()
                .ok()
                .filter(|n| n.prefix_len() == 125 && n.trunc() == *n)
                .ok_or_else(|| {
                    bad(
                        "InvalidGlobalReachAddressPrefix",
                        format!("ipv6CircuitConnectionConfig.addressPrefix '{p}' must be an IPv6 /125 network address."),
                    )
                })?,
        ),
    };
    Ok((v4, v6))
}

/// Whether `net` overlaps a peering subnet of `c` or another of its Global Reach prefixes.
fn overlaps(c: &Circuit, net: &IpNet, except: &str) -> Option<String> {
    let mut taken: Vec<String> = Vec::new();
    for p in &c.peerings {
        taken.push(p.primary_prefix.clone());
        taken.push(p.secondary_prefix.clone());
        if let Some(v6) = &p.ipv6 {
            taken.push(v6.primary_prefix.clone());
            taken.push(v6.secondary_prefix.clone());
        }
    }
    for g in c
        .global_reach
        .iter()
        .filter(|g| !g.name.eq_ignore_ascii_case(except))
    {
        taken.push(g.address_prefix.clone());
        taken.extend(g.ipv6_prefix.clone());
    }
    taken.into_iter().find(|t| {
        t.parse::<IpNet>()
            .is_ok_and(|t| t.contains(&net.network()) || net.contains(&t.network()))
    })
}

fn put_connection(svc: &Service, call: &Call) -> R<Outcome> {
    private_only(call)?;
    let p = &call.params;
    let sub = p.sub();
    call.writable(sub)?;
    let name = p.get("connectionName");
    validate::resource_name("connections", name)?;
    let body = call.body()?;
    let peer_ref = validate::req_str(body, "properties.peerExpressRouteCircuitPeering.id")?;
    let (peer, rest) = id::parse(peer_ref, circuits::KIND, 2)
        .filter(|(_, rest)| rest[0].eq_ignore_ascii_case("peerings") && rest[1].eq_ignore_ascii_case(PRIVATE))
        .ok_or_else(|| {
            bad(
                "InvalidResourceReference",
                format!("peerExpressRouteCircuitPeering.id '{peer_ref}' is not an expressRouteCircuits/…/peerings/AzurePrivatePeering id."),
            )
        })?;
    let _ = rest;
    let peer_id = peer.id(circuits::KIND);
    let (v4, v6) = prefixes(body)?;
    let key = validate::opt_str(body, "properties.authorizationKey")?.filter(|k| !k.is_empty());
    let (c, g, created, op) = svc.write(|tx| {
        let mut c = circuits::visible(tx, call)?;
        let existing = find(&c, name).cloned();
        call.pre.check(existing.as_ref().map(|g| g.etag.as_str()))?;
        if c.peering(PRIVATE).is_none() {
            return Err(bad(
                "PrivatePeeringNotConfigured",
                format!("Circuit '{}' has no AzurePrivatePeering: configure it before Global Reach.", c.name),
            ));
        }
        if let Some(old) = &existing {
            if !old.peer.eq_ignore_ascii_case(&peer_id) || old.address_prefix != v4.to_string()
                || old.ipv6_prefix != v6.map(|n| n.to_string())
            {
                return Err(bad(
                    "GlobalReachConnectionCannotBeChanged",
                    format!("Global Reach connection '{name}' joins '{}' over {}; its peer and prefixes cannot change: delete it and create a new one.", old.peer, old.address_prefix),
                ));
            }
            // Nothing else in the body is writable: the same connection, a fresh etag.
            let g = CircuitConnection { etag: new_etag(), ..old.clone() };
            c.global_reach.retain(|x| !x.name.eq_ignore_ascii_case(name));
            c.global_reach.push(g.clone());
            c.etag = new_etag();
            put(tx, &c)?;
            let op = Operation::succeeded(sub, Some(c.id()), None);
            tx.put_operation(&op)?;
            return Ok((c, g, false, op));
        }
        if peer_id.eq_ignore_ascii_case(&c.id()) {
            return Err(bad("InvalidResourceReference", "A circuit cannot be joined to itself by Global Reach."));
        }
        let owner = call.owns(&peer.sub);
        let missing = || bad("InvalidResourceReference", format!("Circuit peering '{peer_ref}' was not found."));
        let bad_key = || bad("InvalidAuthorizationKey", format!("The authorizationKey is not valid for circuit '{peer_id}', or it is already in use: ask the circuit owner for a new authorization."));
        let mut other: Circuit = match (load::<Circuit>(tx, &peer_id)?, owner, key) {
            (Some(o), true, _) => o,
            (Some(o), false, Some(_)) => o,
            (None, true, _) => return Err(missing()),
            (None, false, Some(_)) => return Err(bad_key()),
            (_, false, None) => return Err(bad(
                "AuthorizationKeyRequired",
                format!("Circuit '{peer_id}' is not in a subscription you can access: Global Reach to it needs 'properties.authorizationKey' from one of its authorizations."),
            )),
        };
        if other.peering(PRIVATE).is_none() {
            return Err(if owner { missing() } else { bad_key() });
        }
        if c.sku.tier == "Local" || other.sku.tier == "Local" {
            let local = if c.sku.tier == "Local" { &c.name } else { &other.name };
            return Err(bad("GlobalReachNotSupportedOnLocalSku", format!("Circuit '{local}' is Local: Global Reach needs a Standard or Premium circuit on both sides.")));
        }
        let (here, there) = (&c.provider.peering_location, &other.provider.peering_location);
        if here.eq_ignore_ascii_case(there) {
            return Err(bad("GlobalReachSamePeeringLocation", format!("Both circuits are at '{here}': Global Reach joins circuits at different peering locations.")));
        }
        let area = |loc: &str| Place::of(&svc.catalog, loc).map(|p| p.area);
        if area(here) != area(there) && !(c.sku.tier == "Premium" && other.sku.tier == "Premium") {
            return Err(bad(
                "GlobalReachRequiresPremium",
                format!(
                    "'{here}' ({}) and '{there}' ({}) are in different geopolitical regions: Global Reach between them needs both circuits Premium.",
                    area(here).unwrap_or("?"),
                    area(there).unwrap_or("?")
                ),
            ));
        }
        if c.global_reach.iter().any(|g| g.peer.eq_ignore_ascii_case(&peer_id)) {
            return Err(ArmError::conflict("GlobalReachAlreadyConfigured", format!("Circuit '{}' already has a Global Reach connection to '{peer_id}'.", c.name)));
        }
        if other.global_reach.iter().any(|g| g.peer.eq_ignore_ascii_case(&c.id())) {
            return Err(ArmError::conflict(
                "GlobalReachAlreadyConfigured",
                format!("Circuit '{peer_id}' already has a Global Reach connection to this circuit: Global Reach is configured on one side only."),
            ));
        }
        for (net, what) in [(IpNet::V4(v4), "addressPrefix")].into_iter().chain(v6.map(|n| (IpNet::V6(n), "ipv6CircuitConnectionConfig.addressPrefix"))) {
            for circuit in [&c, &other] {
                if let Some(t) = overlaps(circuit, &net, name) {
                    return Err(bad("GlobalReachAddressPrefixOverlaps", format!("{what} {net} overlaps {t}, already used by circuit '{}'.", circuit.name)));
                }
            }
        }
        let auth = match key {
            Some(k) if !owner || other.authorizations.iter().any(|a| a.key.eq_ignore_ascii_case(k)) => {
                let conn_id = format!("{}/connections/{name}", peering_id(&c.id()));
                let a = other
                    .authorizations
                    .iter_mut()
                    .find(|a| a.key.eq_ignore_ascii_case(k) && a.use_status == "Available")
                    .ok_or_else(bad_key)?;
                a.use_status = "InUse".into();
                a.connection_resource_uri = Some(conn_id);
                a.etag = new_etag();
                other.etag = new_etag();
                Some(a.name.clone())
            }
            _ => None,
        };
        let g = CircuitConnection {
            name: name.to_owned(),
            peer: peer_id.clone(),
            address_prefix: v4.to_string(),
            ipv6_prefix: v6.map(|n| n.to_string()),
            authorization_key: key.filter(|_| auth.is_some()).map(str::to_owned),
            authorization: auth.clone(),
            etag: new_etag(),
        };
        c.global_reach.push(g.clone());
        c.etag = new_etag();
        put(tx, &c)?;
        if auth.is_some() {
            put(tx, &other)?;
        }
        tx.touch(&c.id());
        tx.touch(&other.id());
        let op = Operation::succeeded(sub, Some(c.id()), None);
        tx.put_operation(&op)?;
        Ok((c, g, true, op))
    })?;
    let peer_circuit: Option<Circuit> =
        svc.read(|st| -> R<Option<Circuit>> { load(st, &g.peer) })?;
    Ok(Outcome::Written {
        created,
        body: super::to_body(&dto(&c, &g, peer_circuit.as_ref())),
        lro: Some(svc.lro(call, &op, &c.location)),
    })
}

fn delete_connection(svc: &Service, call: &Call) -> R<Outcome> {
    private_only(call)?;
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(Outcome::NoContent);
    }
    let name = p.get("connectionName");
    let done = svc.write(|tx| {
        let Some(mut c) = load::<Circuit>(
            tx,
            &circuits::circuit_id(p.sub(), p.rg(), p.get("circuitName")),
        )?
        else {
            return Ok(None);
        };
        let Some(g) = find(&c, name).cloned() else {
            return Ok(None);
        };
        call.pre.check(Some(&g.etag))?;
        c.global_reach
            .retain(|x| !x.name.eq_ignore_ascii_case(name));
        c.etag = new_etag();
        put(tx, &c)?;
        // The peer's authorization is free again.
        if let Some(a) = &g.authorization
            && let Some(mut other) = load::<Circuit>(tx, &g.peer)?
            && let Some(x) = other
                .authorizations
                .iter_mut()
                .find(|x| x.name.eq_ignore_ascii_case(a))
        {
            x.use_status = "Available".into();
            x.connection_resource_uri = None;
            x.etag = new_etag();
            other.etag = new_etag();
            put(tx, &other)?;
        }
        tx.touch(&c.id());
        tx.touch(&g.peer);
        let op = Operation::succeeded(p.sub(), None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, c.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}

/// Refuses deleting a private peering (or its circuit) that Global Reach still uses, on
/// either side.
pub fn refuse_if_joined(st: &impl Read, c: &Circuit) -> R<()> {
    let theirs = pointing_at(st, c)?;
    let names: Vec<String> = c
        .global_reach
        .iter()
        .map(|g| g.name.clone())
        .chain(
            theirs
                .iter()
                .map(|(init, g)| format!("{} (on circuit '{}')", g.name, init.name)),
        )
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    Err(bad(
        "InUsePeeringCannotBeDeleted",
        format!(
            "Circuit '{}''s private peering is joined by Global Reach connection(s) {}: delete them first.",
            c.name,
            names.join(", ")
        ),
    ))
}
