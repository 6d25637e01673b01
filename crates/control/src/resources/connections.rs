//! `connections` (connectionType ExpressRoute): a virtual network gateway linked to a circuit.
//!
//! Rules: the gateway in the connection's subscription; the circuit in a subscription of
//! the caller, or elsewhere with an `authorizationKey` of one of its authorizations that is
//! still Available (it goes InUse, and back when the connection goes); the circuit has
//! private peering; limits on the circuit (by SKU and bandwidth), on the virtual network (4
//! circuits per peering location, 16 in all) and on the gateway (by SKU); peer and gateway
//! never change. For the edges: the circuit now advertises the virtual network and meets
//! the gateway on its fabric, so a write touches the gateway host and its circuits.

use std::collections::BTreeMap;

use api::arm::network as net;
use serde::{Deserialize, Serialize};

use super::gateways::{self, Gateway, PRIVATE_PEERING, gateway_connection_limit};
use super::vnets::{self, VirtualNetwork};
use super::{Stored, circuits, list, load, put, rg};
use crate::arm::id::{self, Ref};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb, region};
use crate::catalog::Catalog;
use crate::model::{Circuit, new_etag};
use crate::reach;
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate;

pub const KIND: &str = "connections";
const SCHEMA: Option<&str> = Some("VirtualNetworkGatewayConnection");
const LIST: Option<&str> = Some("VirtualNetworkGatewayConnectionListResult");

/// A virtual network links at most this many circuits in one peering location, and overall.
pub const VNET_CIRCUITS_PER_LOCATION: usize = 4;
pub const VNET_CIRCUITS: usize = 16;

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!("/connections")).op(
            Verb::Get,
            "List the connections of a resource group",
            None,
            &[(200, LIST)],
            list_connections,
        ),
        Route::new(rg!("/connections/{virtualNetworkGatewayConnectionName}"))
            .op(
                Verb::Get,
                "Get a connection",
                None,
                &[(200, SCHEMA)],
                get_connection,
            )
            .op(
                Verb::Put,
                "Create or update a connection to a circuit",
                SCHEMA,
                &[(200, SCHEMA), (201, SCHEMA)],
                put_connection,
            )
            .op(
                Verb::Patch,
                "Update a connection's tags",
                Some("TagsObject"),
                &[(200, SCHEMA)],
                patch_connection,
            )
            .op(
                Verb::Delete,
                "Delete a connection",
                None,
                &[(202, None), (204, None)],
                delete_connection,
            ),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub gateway: Ref,
    pub circuit: Ref,
    pub routing_weight: u32,
    /// The circuit authorization this connection consumed (name on the circuit) and its key.
    pub authorization: Option<String>,
    pub authorization_key: Option<String>,
    pub gateway_bypass: bool,
    pub resource_guid: String,
    pub etag: String,
    /// The region of the gateway's virtual network (records from before it was kept read
    /// the connection's own location).
    #[serde(default)]
    pub vnet_region: Option<String>,
}

impl Stored for Connection {
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
    fn refs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("gateway", self.gateway.id(gateways::KIND)),
            ("circuit", self.circuit.id(circuits::KIND)),
        ]
    }
}

/// How many virtual network connections a circuit takes (reference §3.5): 10 on Standard and
/// Local at every bandwidth; on Premium 20 at 50 Mbps, 25 at 100-200 Mbps, 40 at 500 Mbps,
/// 50 at 1 Gbps, 60 at 2 Gbps, 75 at 5 Gbps and 100 from 10 Gbps.
pub fn circuit_connection_limit(tier: &str, bandwidth_mbps: u32) -> usize {
    if tier != "Premium" {
        return 10;
    }
    match bandwidth_mbps {
        0..100 => 20,
        100..500 => 25,
        500..1000 => 40,
        1000..2000 => 50,
        2000..5000 => 60,
        5000..10000 => 75,
        _ => 100,
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

pub fn connection_id(sub: &str, rg: &str, name: &str) -> String {
    Ref::new(sub, rg, name).id(KIND)
}

fn visible(st: &impl Read, call: &Call) -> R<Connection> {
    super::visible(st, call, "virtualNetworkGatewayConnectionName")
}

/// A connection in ARM's shape (its status follows the circuit).
pub fn render(catalog: &Catalog, conn: &Connection, circuit: Option<&Circuit>) -> Body {
    let connected =
        circuit.is_some_and(|c| c.provisioned() && c.peering(PRIVATE_PEERING).is_some());
    super::to_body(&net::VirtualNetworkGatewayConnection {
        id: conn.id(),
        name: conn.name.clone(),
        kind: "Microsoft.Network/connections".into(),
        location: conn.location.clone(),
        tags: conn.tags.clone(),
        etag: conn.etag.clone(),
        properties: net::VirtualNetworkGatewayConnectionPropertiesFormat {
            authorization_key: conn.authorization_key.clone(),
            virtual_network_gateway1: api::arm::SubResource {
                id: conn.gateway.id(gateways::KIND),
            },
            connection_type: "ExpressRoute".into(),
            routing_weight: conn.routing_weight,
            connection_status: if connected {
                "Connected"
            } else {
                "NotConnected"
            }
            .into(),
            peer: Some(api::arm::SubResource {
                id: conn.circuit.id(circuits::KIND),
            }),
            resource_guid: conn.resource_guid.clone(),
            express_route_gateway_bypass: conn.gateway_bypass,
            causeway: circuit
                .and_then(|c| {
                    let region = conn.vnet_region.as_deref().unwrap_or(&conn.location);
                    reach::connection_reach(catalog, c, region)
                })
                .map(|reach| api::arm::circuit::CausewayConnectionStatus { reach }),
            ..Default::default()
        },
    })
}

fn render_loaded(catalog: &Catalog, st: &impl Read, conn: &Connection) -> R<Body> {
    let circuit: Option<Circuit> = load(st, &conn.circuit.id(circuits::KIND))?;
    Ok(render(catalog, conn, circuit.as_ref()))
}

// ===== handlers =====

fn list_connections(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(svc.page_rows(call, Vec::new()));
    }
    let rows = svc.read(|st| -> R<Vec<(i64, Body)>> {
        list::<Connection>(
            st,
            Some(p.sub()),
            Some(p.rg()),
            call.page.after,
            call.page.size + 1,
        )?
        .into_iter()
        .map(|(pos, c)| Ok((pos, render_loaded(&svc.catalog, st, &c)?)))
        .collect()
    })?;
    Ok(svc.page_rows(call, rows))
}

fn get_connection(svc: &Service, call: &Call) -> R<Outcome> {
    svc.read(|st| {
        Ok(Outcome::Ok(render_loaded(
            &svc.catalog,
            st,
            &visible(st, call)?,
        )?))
    })
}

fn patch_connection(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let tags = validate::tags(call.body()?)?;
    let (conn, circuit) = svc.write(|tx| {
        let mut conn = visible(tx, call)?;
        call.pre.check(Some(&conn.etag))?;
        conn.tags = tags;
        conn.etag = new_etag();
        put(tx, &conn)?;
        let circuit: Option<Circuit> = load(tx, &conn.circuit.id(circuits::KIND))?;
        Ok((conn, circuit))
    })?;
    Ok(Outcome::Ok(render(&svc.catalog, &conn, circuit.as_ref())))
}

fn delete_connection(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let done = svc.write(|tx| {
        let Ok(conn) = visible(tx, call) else {
            return Ok(None);
        };
        call.pre.check(Some(&conn.etag))?;
        let circuit_id = conn.circuit.id(circuits::KIND);
        if let Some(name) = &conn.authorization
            && let Some(mut c) = load::<Circuit>(tx, &circuit_id)?
            && let Some(a) = c.authorizations.iter_mut().find(|a| eq(&a.name, name))
        {
            a.use_status = "Available".into();
            a.connection_resource_uri = None;
            a.etag = new_etag();
            c.etag = new_etag();
            put(tx, &c)?;
        }
        // Slots on the fabric follow the gateway's connections: touch them before removal.
        if let Some(g) = load::<Gateway>(tx, &conn.gateway.id(gateways::KIND))? {
            gateways::touch_connected(tx, &g)?;
        }
        tx.delete(&conn.id())?;
        let op = Operation::succeeded(&conn.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, conn.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}

/// Refuses to delete a circuit (or its private peering) that virtual networks still use;
/// names only the connections the caller can see, counts the others.
pub fn refuse_if_connected(
    st: &impl Read,
    call: &Call,
    c: &Circuit,
    peering: Option<&str>,
) -> R<()> {
    if peering.is_some_and(|p| !eq(p, PRIVATE_PEERING)) {
        return Ok(());
    }
    let conns: Vec<Connection> = super::referrers(st, "circuit", &c.id())?;
    if conns.is_empty() {
        return Ok(());
    }
    let mine: Vec<String> = conns
        .iter()
        .filter(|x| call.owns(&x.sub))
        .map(Stored::id)
        .collect();
    let listed = if mine.is_empty() {
        String::new()
    } else {
        format!(" ({})", mine.join(", "))
    };
    let (code, what) = match peering {
        Some(p) => (
            "InUsePeeringCannotBeDeleted",
            format!("Peering {p} of circuit '{}'", c.name),
        ),
        None => (
            "InUseCircuitCannotBeDeleted",
            format!("Circuit '{}'", c.name),
        ),
    };
    Err(bad(
        code,
        format!(
            "{what} is used by {} virtual network connection(s){listed}; delete the connections first.",
            conns.len()
        ),
    ))
}

/// Prefixes the cloud side advertises to this circuit's customer: the address space of
/// every virtual network whose gateway has a connection to the circuit (over private
/// peering, so nothing without it).
pub fn connected_prefixes(st: &impl Read, c: &Circuit) -> R<Vec<String>> {
    if c.peering(PRIVATE_PEERING).is_none() {
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = Vec::new();
    for conn in super::referrers::<Connection>(st, "circuit", &c.id())? {
        let Some(g) = load::<Gateway>(st, &conn.gateway.id(gateways::KIND))? else {
            continue;
        };
        if let Some(v) = load::<VirtualNetwork>(st, &g.vnet.id(vnets::KIND))? {
            out.extend(v.address_prefixes);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn put_connection(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg, name) = (
        p.sub(),
        p.rg(),
        p.get("virtualNetworkGatewayConnectionName"),
    );
    call.writable(sub)?;
    validate::resource_name(KIND, name)?;
    validate::resource_name("resourceGroups", rg)?;
    let body = call.body()?;
    region::validate(validate::req_str(body, "location")?, "location")?;
    let location = validate::req_str(body, "location")?.to_owned();
    let tags = validate::tags(body)?;
    let ct = validate::opt_str(body, "properties.connectionType")?.ok_or_else(|| {
        bad(
            "InvalidRequestFormat",
            "'properties.connectionType' is required: ExpressRoute.",
        )
    })?;
    if !eq(ct, "ExpressRoute") {
        return Err(bad(
            "ConnectionTypeNotSupported",
            format!(
                "connectionType '{ct}' is not offered: this deployment offers only ExpressRoute connections (connectionType: ExpressRoute)."
            ),
        ));
    }
    let weight = match validate::field(body, "properties.routingWeight") {
        None => 0,
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .filter(|w| (0..=i64::from(i32::MAX)).contains(w))
            .ok_or_else(|| {
                bad(
                    "InvalidRoutingWeight",
                    format!(
                        "routingWeight {v} must be an integer from 0 to {}.",
                        i32::MAX
                    ),
                )
            })? as u32,
    };
    let gw_id = validate::req_str(body, "properties.virtualNetworkGateway1.id")?;
    let (gref, _) = id::parse(gw_id, gateways::KIND, 0).ok_or_else(|| {
        bad(
            "InvalidResourceReference",
            format!("'{gw_id}' is not a virtualNetworkGateways id."),
        )
    })?;
    let peer_id = validate::req_str(body, "properties.peer.id")?;
    let (cref, _) = id::parse(peer_id, circuits::KIND, 0).ok_or_else(|| {
        bad(
            "InvalidResourceReference",
            format!("peer.id '{peer_id}' is not an expressRouteCircuits id."),
        )
    })?;
    let key = validate::opt_str(body, "properties.authorizationKey")?.filter(|k| !k.is_empty());
    let bypass = validate::opt_bool(body, "properties.expressRouteGatewayBypass")?.unwrap_or(false);
    if !eq(&gref.sub, sub) {
        return Err(bad(
            "InvalidResourceReference",
            "virtualNetworkGateway1 must be a gateway in the connection's subscription.",
        ));
    }
    let id = connection_id(sub, rg, name);
    let (conn, circuit, created, op) = svc.write(|tx| {
            let gateway: Gateway = load(tx, &gref.id(gateways::KIND))?.ok_or_else(|| {
                bad(
                    "InvalidResourceReference",
                    format!("Gateway '{gw_id}' referenced by the connection was not found."),
                )
            })?;
            let existing: Option<Connection> = load(tx, &id)?;
            call.pre.check(existing.as_ref().map(|c| c.etag.as_str()))?;
            if bypass {
                fast_path_allowed(&gateway)?;
            }
            let mut changed_circuit: Option<Circuit> = None;
            let conn = if let Some(old) = existing.clone() {
                if !old.circuit.same(&cref) {
                    return Err(bad(
                        "ExpressRouteConnectionPeerCannotBeChanged",
                        format!(
                            "The connection's peer is circuit '{}' and cannot change; create a new connection instead.",
                            old.circuit.id(circuits::KIND)
                        ),
                    ));
                }
                if !old.gateway.same(&gref) {
                    return Err(bad(
                        "VirtualNetworkGatewayCannotBeChanged",
                        format!(
                            "The connection's gateway is '{}' and cannot change; create a new connection instead.",
                            old.gateway.id(gateways::KIND)
                        ),
                    ));
                }
                if !region::same(&old.location, &location) {
                    return Err(bad(
                        "CannotChangeLocation",
                        format!(
                            "The connection's location is '{}' and cannot change.",
                            old.location
                        ),
                    ));
                }
                // The circuit and its authorization stay bound as they were.
                Connection {
                    tags,
                    routing_weight: weight,
                    gateway_bypass: bypass,
                    etag: new_etag(),
                    ..old
                }
            } else {
                let (mut circuit, auth) = linkable_circuit(tx, call, &cref, key)?;
                if circuit.peering(PRIVATE_PEERING).is_none() {
                    return Err(bad(
                        "PrivatePeeringNotConfigured",
                        format!(
                            "Circuit '{}' has no AzurePrivatePeering: configure private peering first, then connect the virtual network.",
                            circuit.name
                        ),
                    ));
                }
                reach::check(&svc.catalog, &circuit, &circuit.sku.tier, &gateway.location)?;
                check_link_limits(tx, &circuit, &gateway)?;
                let auth_name = auth.map(|i| {
                    let a = &mut circuit.authorizations[i];
                    a.use_status = "InUse".into();
                    a.connection_resource_uri = Some(id.clone());
                    a.etag = new_etag();
                    a.name.clone()
                });
                if auth_name.is_some() {
                    circuit.etag = new_etag();
                    changed_circuit = Some(circuit.clone());
                }
                Connection {
                    sub: sub.to_owned(),
                    rg: rg.to_owned(),
                    name: name.to_owned(),
                    location,
                    tags,
                    gateway: gateway.as_ref(),
                    circuit: Ref::new(&circuit.sub, &circuit.rg, &circuit.name),
                    routing_weight: weight,
                    authorization: auth_name,
                    authorization_key: key.filter(|_| auth.is_some()).map(str::to_owned),
                    gateway_bypass: bypass,
                    resource_guid: uuid::Uuid::new_v4().to_string(),
                    etag: new_etag(),
                    vnet_region: Some(region::normalize(&gateway.location)),
                }
            };
            if let Some(c) = &changed_circuit {
                put(tx, c)?;
            }
            let circuit = match changed_circuit {
                Some(c) => Some(c),
                None => load::<Circuit>(tx, &conn.circuit.id(circuits::KIND))?,
            };
            put(tx, &conn)?;
            gateways::touch_connected(tx, &gateway)?;
            tx.touch(&conn.circuit.id(circuits::KIND));
            let op = Operation::succeeded(sub, Some(conn.id()), None);
            tx.put_operation(&op)?;
            Ok((conn, circuit, existing.is_none(), op))
        })?;
    Ok(Outcome::Written {
        created,
        body: render(&svc.catalog, &conn, circuit.as_ref()),
        lro: Some(svc.lro(call, &op, &conn.location)),
    })
}
/// FastPath (`expressRouteGatewayBypass`) needs a gateway SKU that offers it: UltraPerformance,
/// ErGw3AZ, or ErGwScale with at least 10 scale units.
fn fast_path_allowed(gateway: &Gateway) -> R<()> {
    let sku = gateway.sku.as_str();
    let ok = eq(sku, "UltraPerformance")
        || eq(sku, "ErGw3AZ")
        || (eq(sku, "ErGwScale") && gateway.scale.as_ref().is_some_and(|s| s.min >= 10));
    if ok {
        return Ok(());
    }
    Err(bad(
        "FastPathNotSupportedOnGatewaySku",
        format!(
            "expressRouteGatewayBypass (FastPath) needs an UltraPerformance, ErGw3AZ or ErGwScale (10 scale units or more) gateway; '{}' is {sku}.",
            gateway.name
        ),
    ))
}

/// The circuit a new connection may link, and the index of the authorization it uses.
/// A circuit outside the caller's subscriptions needs a valid, unused authorization key;
/// without one the answer is the same whether the circuit exists or not.
fn linkable_circuit(
    st: &impl Read,
    call: &Call,
    cref: &Ref,
    key: Option<&str>,
) -> R<(Circuit, Option<usize>)> {
    let owner = call.owns(&cref.sub);
    let circuit: Option<Circuit> = load(st, &cref.id(circuits::KIND))?;
    let id = cref.id(circuits::KIND);
    let no_key = || {
        bad(
            "AuthorizationKeyRequired",
            format!(
                "Circuit '{id}' is not in a subscription you can access: connecting to it needs 'properties.authorizationKey' from one of its authorizations (ask the circuit owner)."
            ),
        )
    };
    let bad_key = || {
        bad(
            "InvalidAuthorizationKey",
            format!(
                "The authorizationKey is not valid for circuit '{id}', or it is already in use: ask the circuit owner for a new authorization."
            ),
        )
    };
    let missing = || {
        bad(
            "InvalidResourceReference",
            format!("Circuit '{id}' referenced by the connection was not found."),
        )
    };
    match (key, owner) {
        (None, false) => Err(no_key()),
        (None, true) => Ok((circuit.ok_or_else(missing)?, None)),
        (Some(k), _) => {
            let c = match circuit {
                Some(c) => c,
                None if owner => return Err(missing()),
                None => return Err(bad_key()),
            };
            let i = c
                .authorizations
                .iter()
                .position(|a| a.key.eq_ignore_ascii_case(k) && a.use_status == "Available")
                .ok_or_else(bad_key)?;
            Ok((c, Some(i)))
        }
    }
}

/// The circuit's, the virtual network's and the gateway's connection limits.
fn check_link_limits(st: &impl Read, circuit: &Circuit, gateway: &Gateway) -> R<()> {
    let cref = Ref::new(&circuit.sub, &circuit.rg, &circuit.name);
    // Index counts and the gateway's own connections (at most 16): nothing here reads
    // more than the resources the rule is about.
    let on_circuit = st.count_referrers("circuit", &circuit.id())? as usize;
    let limit = circuit_connection_limit(&circuit.sku.tier, circuit.provider.bandwidth_in_mbps);
    if on_circuit >= limit {
        return Err(bad(
            "ExpressRouteCircuitConnectionLimitReached",
            format!(
                "Circuit '{}' ({} SKU, {} Mbps) already has {on_circuit} virtual network connections, its limit of {limit}{}.",
                circuit.name,
                circuit.sku.tier,
                circuit.provider.bandwidth_in_mbps,
                if circuit.sku.tier == "Premium" {
                    ""
                } else {
                    "; the Premium SKU takes more"
                }
            ),
        ));
    }
    let of_gateway: Vec<Connection> = super::referrers(st, "gateway", &gateway.id())?;
    if of_gateway.iter().any(|c| c.circuit.same(&cref)) {
        return Err(bad(
            "GatewayAlreadyConnectedToCircuit",
            format!(
                "Gateway '{}' is already connected to circuit '{}'.",
                gateway.name, circuit.name
            ),
        ));
    }
    // The virtual network's circuits: those of its (only) gateway's connections.
    let mut linked: Vec<Circuit> = Vec::new();
    for c in &of_gateway {
        if linked
            .iter()
            .any(|l| c.circuit.same(&Ref::new(&l.sub, &l.rg, &l.name)))
        {
            continue;
        }
        if let Some(x) = load::<Circuit>(st, &c.circuit.id(circuits::KIND))? {
            linked.push(x);
        }
    }
    let same_location = linked
        .iter()
        .filter(|l| {
            eq(
                &l.provider.peering_location,
                &circuit.provider.peering_location,
            )
        })
        .count();
    if same_location >= VNET_CIRCUITS_PER_LOCATION {
        return Err(bad(
            "VirtualNetworkCircuitLimitReached",
            format!(
                "Virtual network '{}' already links {same_location} circuits in peering location '{}', the limit there is {VNET_CIRCUITS_PER_LOCATION}.",
                gateway.vnet.name, circuit.provider.peering_location
            ),
        ));
    }
    if linked.len() >= VNET_CIRCUITS {
        return Err(bad(
            "VirtualNetworkCircuitLimitReached",
            format!(
                "Virtual network '{}' already links {} circuits, the limit is {VNET_CIRCUITS}.",
                gateway.vnet.name,
                linked.len()
            ),
        ));
    }
    let glimit = gateway_connection_limit(&gateway.sku);
    if of_gateway.len() >= glimit {
        return Err(bad(
            "GatewayConnectionLimitReached",
            format!(
                "Gateway '{}' (SKU {}) already has {} connections, its limit of {glimit}; a larger SKU takes more.",
                gateway.name,
                gateway.sku,
                of_gateway.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circuit_limits_follow_sku_and_bandwidth() {
        for bw in [50, 100, 200, 500, 1000, 2000, 5000, 10000, 40000, 100000] {
            assert_eq!(circuit_connection_limit("Standard", bw), 10);
            assert_eq!(circuit_connection_limit("Local", bw), 10);
        }
        let premium: Vec<usize> = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 40000, 100000]
            .iter()
            .map(|bw| circuit_connection_limit("Premium", *bw))
            .collect();
        assert_eq!(premium, [20, 25, 25, 40, 50, 60, 75, 100, 100, 100]);
    }
}
