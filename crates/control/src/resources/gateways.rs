//! `virtualNetworkGateways` (gatewayType ExpressRoute): a virtual network's gateway, the BGP
//! speaker on the cloud side of every circuit connected to it.
//!
//! Rules: one gateway per virtual network (enforced by the store), in its `GatewaySubnet`,
//! in the network's region and subscription; an ExpressRoute SKU, whose connection limit a
//! resize may not undercut; `autoScaleConfiguration` on ErGwScale only; no deletion while
//! connections use it. For the edges: the gateway runs on the inventory's gateway host on a
//! fabric segment that the edges of every connected circuit join ([`fabric_of`]), so a
//! write touches the gateway host and every connected circuit.

use std::collections::BTreeMap;
use std::net::IpAddr;

use api::arm::network as net;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::connections::Connection;
use super::diagnostics::Device;
use super::vnets::{self, GATEWAY_SUBNET, Subnet, VirtualNetwork};
use super::{Stored, circuits, list, load, put, rg};
use crate::arm::id::{self, Ref};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb, region};
use crate::model::{Circuit, new_etag};
use crate::service::{Call, Route, Service};
use crate::store::{GATEWAYS_TARGET, Read, Tx};
use crate::validate;

pub const KIND: &str = "virtualNetworkGateways";
pub(crate) const PRIVATE_PEERING: &str = "AzurePrivatePeering";
const SCHEMA: Option<&str> = Some("VirtualNetworkGateway");
const LIST: Option<&str> = Some("VirtualNetworkGatewayListResult");

/// ExpressRoute gateway SKUs and how many connections each takes (reference §3.12).
pub const GATEWAY_SKUS: [(&str, usize); 7] = [
    ("Standard", 4),
    ("HighPerformance", 8),
    ("UltraPerformance", 16),
    ("ErGw1AZ", 4),
    ("ErGw2AZ", 8),
    ("ErGw3AZ", 16),
    ("ErGwScale", 16),
];

/// Connections a gateway SKU takes (0 for an unknown SKU).
pub fn gateway_connection_limit(sku: &str) -> usize {
    GATEWAY_SKUS
        .iter()
        .find(|(n, _)| eq(n, sku))
        .map_or(0, |(_, l)| *l)
}

/// `getLearnedRoutes` or `getAdvertisedRoutes` of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayRoutes {
    Learned,
    Advertised,
}

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!("/virtualNetworkGateways")).op(
            Verb::Get,
            "List the gateways of a resource group",
            None,
            &[(200, LIST)],
            list_gateways,
        ),
        Route::new(rg!("/virtualNetworkGateways/{virtualNetworkGatewayName}"))
            .op(
                Verb::Get,
                "Get a gateway",
                None,
                &[(200, SCHEMA)],
                get_gateway,
            )
            .op(
                Verb::Put,
                "Create or update an ExpressRoute gateway",
                SCHEMA,
                &[(200, SCHEMA), (201, SCHEMA)],
                put_gateway,
            )
            .op(
                Verb::Patch,
                "Update a gateway's tags",
                Some("TagsObject"),
                &[(200, SCHEMA)],
                patch_gateway,
            )
            .op(
                Verb::Delete,
                "Delete a gateway",
                None,
                &[(202, None), (204, None)],
                delete_gateway,
            ),
        Route::new(rg!(
            "/virtualNetworkGateways/{virtualNetworkGatewayName}/getLearnedRoutes"
        ))
        .op(
            Verb::Post,
            "The routes the gateway learned from its circuits",
            None,
            &[(200, Some("GatewayRouteListResult")), (202, None)],
            |s, c| gateway_routes(s, c, GatewayRoutes::Learned),
        ),
        Route::new(rg!(
            "/virtualNetworkGateways/{virtualNetworkGatewayName}/getAdvertisedRoutes"
        ))
        .op(
            Verb::Post,
            "The routes the gateway advertises",
            None,
            &[(200, Some("GatewayRouteListResult")), (202, None)],
            |s, c| gateway_routes(s, c, GatewayRoutes::Advertised),
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleBounds {
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gateway {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub sku: String,
    pub scale: Option<ScaleBounds>,
    pub vnet: Ref,
    pub ip_config_name: String,
    pub public_ip: Option<String>,
    pub private_ip: String,
    pub resource_guid: String,
    pub etag: String,
}

impl Stored for Gateway {
    const KIND: &'static str = KIND;
    fn id(&self) -> String {
        self.as_ref().id(KIND)
    }
    fn sub(&self) -> &str {
        &self.sub
    }
    fn rg(&self) -> &str {
        &self.rg
    }
    fn refs(&self) -> Vec<(&'static str, String)> {
        let mut refs = vec![("vnet", self.vnet.id(vnets::KIND))];
        refs.extend(self.public_ip.iter().map(|p| ("publicIp", p.clone())));
        refs
    }
    fn uniques(&self) -> Vec<(String, String)> {
        let mut u = vec![("gatewayOf".to_owned(), self.vnet.id(vnets::KIND))];
        u.extend(
            self.public_ip
                .iter()
                .map(|p| ("publicIpUser".to_owned(), p.clone())),
        );
        u
    }
}

impl Gateway {
    pub fn as_ref(&self) -> Ref {
        Ref::new(&self.sub, &self.rg, &self.name)
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

pub fn gateway_id(sub: &str, rg: &str, name: &str) -> String {
    Ref::new(sub, rg, name).id(KIND)
}

fn visible(st: &impl Read, call: &Call) -> R<Gateway> {
    super::visible(st, call, "virtualNetworkGatewayName")
}

/// Notes that a change to `g` concerns the gateway host and every circuit connected to it
/// (their places on its fabric segment follow from its connections).
pub fn touch_connected(tx: &mut Tx<'_>, g: &Gateway) -> R<()> {
    tx.touch(GATEWAYS_TARGET);
    for c in super::referrers::<Connection>(tx, "gateway", &g.id())? {
        tx.touch(&c.circuit.id(circuits::KIND));
    }
    Ok(())
}

/// A gateway in ARM's shape. Its BGP settings are the cloud side's: AS 65515 at the
/// gateway's fabric address.
pub fn render(g: &Gateway) -> Body {
    let ipc_id = format!("{}/ipConfigurations/{}", g.id(), g.ip_config_name);
    super::to_body(&net::VirtualNetworkGateway {
        id: g.id(),
        name: g.name.clone(),
        kind: "Microsoft.Network/virtualNetworkGateways".into(),
        location: g.location.clone(),
        tags: g.tags.clone(),
        etag: g.etag.clone(),
        properties: net::VirtualNetworkGatewayPropertiesFormat {
            auto_scale_configuration: g.scale.map(|b| {
                net::VirtualNetworkGatewayAutoScaleConfiguration {
                    bounds: net::VirtualNetworkGatewayAutoScaleBounds {
                        min: b.min,
                        max: b.max,
                    },
                }
            }),
            ip_configurations: vec![net::VirtualNetworkGatewayIPConfiguration {
                id: ipc_id.clone(),
                name: g.ip_config_name.clone(),
                etag: g.etag.clone(),
                properties: net::VirtualNetworkGatewayIPConfigurationPropertiesFormat {
                    private_ip_allocation_method: "Dynamic".into(),
                    subnet: api::arm::SubResource {
                        id: format!("{}/subnets/{GATEWAY_SUBNET}", g.vnet.id(vnets::KIND)),
                    },
                    public_ip_address: g
                        .public_ip
                        .as_ref()
                        .map(|p| api::arm::SubResource { id: p.clone() }),
                    private_ip_address: Some(g.private_ip.clone()),
                    ..Default::default()
                },
            }],
            gateway_type: "ExpressRoute".into(),
            sku: net::VirtualNetworkGatewaySku {
                name: g.sku.clone(),
                tier: g.sku.clone(),
                capacity: None,
            },
            bgp_settings: Some(net::BgpSettings {
                asn: GATEWAY_ASN,
                bgp_peering_address: Some(g.private_ip.clone()),
                peer_weight: 0,
                bgp_peering_addresses: vec![net::IPConfigurationBgpPeeringAddress {
                    ipconfiguration_id: ipc_id,
                    default_bgp_ip_addresses: vec![g.private_ip.clone()],
                    custom_bgp_ip_addresses: Vec::new(),
                    tunnel_ip_addresses: Vec::new(),
                }],
            }),
            resource_guid: g.resource_guid.clone(),
            admin_state: "Enabled".into(),
            ..Default::default()
        },
        ..Default::default()
    })
}

// ===== handlers =====

fn list_gateways(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(svc.page_rows(call, Vec::new()));
    }
    let rows = svc.read(|st| {
        list::<Gateway>(
            st,
            Some(p.sub()),
            Some(p.rg()),
            call.page.after,
            call.page.size + 1,
        )
    })?;
    let rows = rows.into_iter().map(|(pos, g)| (pos, render(&g))).collect();
    Ok(svc.page_rows(call, rows))
}

fn get_gateway(svc: &Service, call: &Call) -> R<Outcome> {
    Ok(Outcome::Ok(render(&svc.read(|st| visible(st, call))?)))
}

fn patch_gateway(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let tags = validate::tags(call.body()?)?;
    let g = svc.write(|tx| {
        let mut g = visible(tx, call)?;
        call.pre.check(Some(&g.etag))?;
        g.tags = tags;
        g.etag = new_etag();
        put(tx, &g)?;
        Ok(g)
    })?;
    Ok(Outcome::Ok(render(&g)))
}

fn delete_gateway(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let done = svc.write(|tx| {
        let Ok(g) = visible(tx, call) else {
            return Ok(None);
        };
        call.pre.check(Some(&g.etag))?;
        let conns = super::referrers::<Connection>(tx, "gateway", &g.id())?;
        if !conns.is_empty() {
            return Err(bad(
                "InUseVirtualNetworkGatewayCannotBeDeleted",
                format!(
                    "Gateway '{}' has {} connection(s) ({}); delete them first.",
                    g.name,
                    conns.len(),
                    conns.iter().map(Stored::id).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        tx.delete(&g.id())?;
        tx.touch(GATEWAYS_TARGET);
        let op = Operation::succeeded(&g.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, g.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}

fn put_gateway(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg, name) = (p.sub(), p.rg(), p.get("virtualNetworkGatewayName"));
    call.writable(sub)?;
    validate::resource_name(KIND, name)?;
    validate::resource_name("resourceGroups", rg)?;
    let body = call.body()?;
    region::validate(validate::req_str(body, "location")?, "location")?;
    let location = validate::req_str(body, "location")?.to_owned();
    let tags = validate::tags(body)?;
    let gt = validate::opt_str(body, "properties.gatewayType")?.ok_or_else(|| {
        bad(
            "InvalidRequestFormat",
            "'properties.gatewayType' is required: ExpressRoute.",
        )
    })?;
    if !eq(gt, "ExpressRoute") {
        return Err(bad(
            "GatewayTypeNotSupported",
            format!(
                "gatewayType '{gt}' is not offered: this deployment offers only ExpressRoute gateways (gatewayType: ExpressRoute), not Vpn or LocalGateway."
            ),
        ));
    }
    let names = || {
        GATEWAY_SKUS
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sku_in = validate::opt_str(body, "properties.sku.name")?.ok_or_else(|| {
        bad(
            "InvalidGatewaySku",
            format!("'properties.sku.name' is required: one of {}.", names()),
        )
    })?;
    let sku = GATEWAY_SKUS
        .iter()
        .map(|(n, _)| *n)
        .find(|n| eq(n, sku_in))
        .ok_or_else(|| {
            bad(
                "InvalidGatewaySku",
                format!(
                    "Gateway SKU '{sku_in}' is not an ExpressRoute gateway SKU; use one of {}.",
                    names()
                ),
            )
        })?;
    if let Some(tier) = validate::opt_str(body, "properties.sku.tier")?
        && !eq(tier, sku)
    {
        return Err(bad(
            "InvalidGatewaySku",
            format!("sku.tier '{tier}' must equal sku.name '{sku}'."),
        ));
    }
    let scale = match validate::field(body, "properties.autoScaleConfiguration") {
        None => None,
        Some(cfg) => {
            if sku != "ErGwScale" {
                return Err(bad(
                    "InvalidAutoScaleConfiguration",
                    format!("autoScaleConfiguration applies to the ErGwScale SKU only, not {sku}."),
                ));
            }
            let bound = |k: &str| -> R<u64> {
                validate::opt_u64(cfg, &format!("bounds.{k}"))?.ok_or_else(|| {
                    bad(
                        "InvalidAutoScaleConfiguration",
                        format!("'properties.autoScaleConfiguration.bounds.{k}' is required (1-40 scale units)."),
                    )
                })
            };
            let (min, max) = (bound("min")?, bound("max")?);
            if !(1..=40).contains(&min) || !(1..=40).contains(&max) || min > max {
                return Err(bad(
                    "InvalidAutoScaleConfiguration",
                    format!(
                        "Scale bounds min {min} / max {max}: each must be 1-40 scale units (1 Gbps each) and min ≤ max."
                    ),
                ));
            }
            if min < max && min < 2 {
                return Err(bad(
                    "InvalidAutoScaleConfiguration",
                    format!(
                        "Autoscaling (min {min} < max {max}) needs min ≥ 2; use min = max for a fixed size of 1 unit."
                    ),
                ));
            }
            Some(ScaleBounds {
                min: min as u32,
                max: max as u32,
            })
        }
    };
    let ipcs: Value = match validate::field(body, "properties.ipConfigurations") {
        Some(Value::Array(a)) if a.len() == 1 => a[0].clone(),
        Some(Value::Array(a)) if a.len() > 1 => {
            return Err(bad(
                "InvalidRequestFormat",
                "An ExpressRoute gateway has exactly one entry in 'properties.ipConfigurations'.",
            ));
        }
        _ => {
            return Err(bad(
                "InvalidRequestFormat",
                "'properties.ipConfigurations[0].properties.subnet.id' is required: the GatewaySubnet of the virtual network.",
            ));
        }
    };
    let subnet_id = validate::req_str(&ipcs, "properties.subnet.id").map_err(|_| {
        bad(
            "InvalidRequestFormat",
            "'properties.ipConfigurations[0].properties.subnet.id' is required: the GatewaySubnet of the virtual network.",
        )
    })?;
    let (vref, rest) = id::parse(subnet_id, vnets::KIND, 2).filter(|(_, r)| eq(r[0], "subnets")).ok_or_else(|| {
        bad(
            "InvalidGatewaySubnet",
            format!("'{subnet_id}' is not a subnet id (/subscriptions/…/virtualNetworks/{{vnet}}/subnets/GatewaySubnet)."),
        )
    })?;
    if !eq(rest[1], GATEWAY_SUBNET) {
        return Err(bad(
            "InvalidGatewaySubnet",
            format!(
                "A gateway goes in the subnet named '{GATEWAY_SUBNET}', not '{}'.",
                rest[1]
            ),
        ));
    }
    if !eq(&vref.sub, sub) {
        return Err(bad(
            "InvalidGatewaySubnet",
            "The gateway's virtual network must be in the gateway's subscription.",
        ));
    }
    let id = gateway_id(sub, rg, name);
    let (g, created, op) = svc.write(|tx| {
            let vnet: VirtualNetwork = load(tx, &vref.id(vnets::KIND))?.ok_or_else(|| {
                bad(
                    "InvalidResourceReference",
                    format!(
                        "Virtual network '{}' referenced by the gateway was not found.",
                        vref.id(vnets::KIND)
                    ),
                )
            })?;
            let gsub = vnet.subnet(GATEWAY_SUBNET).ok_or_else(|| {
                bad(
                    "InvalidResourceReference",
                    format!(
                        "Virtual network '{}' has no subnet named {GATEWAY_SUBNET}; add one (e.g. a /27 inside its address space) first.",
                        vnet.name
                    ),
                )
            })?;
            if !region::same(&vnet.location, &location) {
                return Err(bad(
                    "VirtualNetworkLocationMismatch",
                    format!(
                        "The gateway's location '{location}' must be the virtual network's location '{}'.",
                        vnet.location
                    ),
                ));
            }
            let existing: Option<Gateway> = load(tx, &id)?;
            call.pre.check(existing.as_ref().map(|g| g.etag.as_str()))?;
            if let Some(other) = vnets::gateway_of(tx, &vnet)?
                .filter(|g| !g.id().eq_ignore_ascii_case(&id))
            {
                return Err(bad(
                    "VirtualNetworkGatewayAlreadyExists",
                    format!(
                        "Virtual network '{}' already has ExpressRoute gateway '{}'; a virtual network has one.",
                        vnet.name,
                        other.id()
                    ),
                ));
            }
            if let Some(old) = &existing {
                if !region::same(&old.location, &location) {
                    return Err(bad(
                        "CannotChangeLocation",
                        format!(
                            "The gateway's location is '{}' and cannot change.",
                            old.location
                        ),
                    ));
                }
                if !old.vnet.same(&vnet.as_ref()) {
                    return Err(bad(
                        "CannotChangeGatewaySubnet",
                        format!(
                            "The gateway is in virtual network '{}' and cannot move; create a new gateway instead.",
                            old.vnet.id(vnets::KIND)
                        ),
                    ));
                }
                let n = tx.count_referrers("gateway", &old.id())? as usize;
                if n > gateway_connection_limit(sku) {
                    return Err(bad(
                        "GatewayConnectionLimitReached",
                        format!(
                            "The gateway has {n} connections; SKU {sku} takes {}. Delete connections first.",
                            gateway_connection_limit(sku)
                        ),
                    ));
                }
            }
            let created = existing.is_none();
            let g = Gateway {
                sub: sub.to_owned(),
                rg: rg.to_owned(),
                name: name.to_owned(),
                location: existing.as_ref().map_or(location, |o| o.location.clone()),
                tags,
                sku: sku.to_owned(),
                scale,
                vnet: vnet.as_ref(),
                ip_config_name: validate::opt_str(&ipcs, "name")?
                    .filter(|n| !n.is_empty())
                    .unwrap_or("default")
                    .to_owned(),
                public_ip: validate::opt_str(&ipcs, "properties.publicIPAddress.id")?
                    .map(|p| super::public_ips::for_gateway(tx, call, p, &id))
                    .transpose()?,
                private_ip: gateway_address(gsub),
                resource_guid: existing.as_ref().map_or_else(
                    || uuid::Uuid::new_v4().to_string(),
                    |o| o.resource_guid.clone(),
                ),
                etag: new_etag(),
            };
            put(tx, &g)?;
            touch_connected(tx, &g)?;
            let op = Operation::succeeded(sub, Some(g.id()), None);
            tx.put_operation(&op)?;
            Ok((g, created, op))
    })?;
    Ok(Outcome::Written {
        created,
        body: render(&g),
        lro: Some(svc.lro(call, &op, &g.location)),
    })
}

fn gateway_routes(svc: &Service, call: &Call, which: GatewayRoutes) -> R<Outcome> {
    let g = svc.read(|st| visible(st, call))?;
    let rows = svc.read(|st| route_rows(svc, st, &g, which))?;
    let op = Operation::succeeded(&g.sub, None, Some(json!({"value": rows})));
    svc.with_store(|st| st.put_operation(&op))?;
    Ok(Outcome::Accepted(svc.lro(call, &op, &g.location)))
}

/// The rows of `getLearnedRoutes` / `getAdvertisedRoutes`.
fn route_rows(svc: &Service, st: &impl Read, g: &Gateway, which: GatewayRoutes) -> R<Vec<Value>> {
    let mut rows: Vec<Value> = Vec::new();
    let live = match which {
        GatewayRoutes::Learned => svc.edges.gateway_report(&g.id()),
        GatewayRoutes::Advertised => None,
    };
    match which {
        // The gateway runs (its host reports it): what its RIB really holds, each route
        // from the edge that sent it, weighted by that edge's connection.
        GatewayRoutes::Learned if live.as_ref().is_some_and(|r| !r.routes.is_empty()) => {
            let live = live.unwrap_or_default();
            let weights: Vec<(String, u32)> = fabric_of(st, g)?
                .into_iter()
                .flat_map(|f| f.links)
                .flat_map(|l| {
                    [
                        (l.primary.to_string(), l.weight),
                        (l.secondary.to_string(), l.weight),
                    ]
                })
                .collect();
            for r in &live.routes {
                let weight = weights
                    .iter()
                    .find(|(a, _)| *a == r.next_hop)
                    .map_or(0, |(_, w)| *w);
                rows.push(gateway_route(
                    &g.private_ip,
                    &r.network,
                    &r.next_hop,
                    &r.next_hop,
                    "EBgp",
                    &r.as_path.split_whitespace().collect::<Vec<_>>().join("-"),
                    weight,
                ));
            }
        }
        GatewayRoutes::Learned => {
            let mut seen = std::collections::HashSet::new();
            for conn in super::referrers::<Connection>(st, "gateway", &g.id())? {
                let Some(c) = load::<Circuit>(st, &conn.circuit.id(circuits::KIND))? else {
                    continue;
                };
                let Some(peering) = c.peering(PRIVATE_PEERING) else {
                    continue;
                };
                for device in [Device::Primary, Device::Secondary] {
                    let Some(report) = svc
                        .link_edge(&c, device)
                        .and_then(|e| svc.edges.report_for(&e, &c.service_key))
                    else {
                        continue;
                    };
                    let routes = report
                        .peerings
                        .iter()
                        .filter(|r| eq(&r.name, PRIVATE_PEERING))
                        .flat_map(|r| r.routes.iter())
                        .filter(|r| r.learned);
                    for r in routes {
                        if !seen.insert((r.network.clone(), r.next_hop.clone())) {
                            continue;
                        }
                        let v6 = r.next_hop.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6());
                        let link = match (device, v6) {
                            (Device::Primary, false) => Some(peering.primary_prefix.clone()),
                            (Device::Secondary, false) => Some(peering.secondary_prefix.clone()),
                            (Device::Primary, true) => {
                                peering.ipv6.as_ref().map(|x| x.primary_prefix.clone())
                            }
                            (Device::Secondary, true) => {
                                peering.ipv6.as_ref().map(|x| x.secondary_prefix.clone())
                            }
                        };
                        let source = link
                            .as_deref()
                            .and_then(edge_link_address)
                            .unwrap_or_default();
                        let path: Vec<&str> = r.as_path.split_whitespace().collect();
                        let as_path = std::iter::once(svc.edges.local_as.to_string())
                            .chain(path.iter().map(|s| (*s).to_owned()))
                            .collect::<Vec<_>>()
                            .join("-");
                        rows.push(gateway_route(
                            &g.private_ip,
                            &r.network,
                            &r.next_hop,
                            &source,
                            "EBgp",
                            &as_path,
                            conn.routing_weight,
                        ));
                    }
                }
            }
        }
        GatewayRoutes::Advertised => {
            if let Some(v) = load::<VirtualNetwork>(st, &g.vnet.id(vnets::KIND))? {
                for prefix in &v.address_prefixes {
                    rows.push(gateway_route(
                        &g.private_ip,
                        prefix,
                        &g.private_ip,
                        &g.private_ip,
                        "Igp",
                        "65515",
                        0,
                    ));
                }
            }
        }
    }
    Ok(rows)
}

/// The gateway's address: the first one Azure does not reserve (network + 4) of the
/// GatewaySubnet's first IPv4 prefix.
fn gateway_address(subnet: &Subnet) -> String {
    subnet
        .address_prefixes
        .iter()
        .filter_map(|p| p.parse::<IpNet>().ok())
        .find_map(|n| match n {
            IpNet::V4(n) => {
                let base = u32::from(n.network());
                let offset = if n.prefix_len() <= 29 { 4 } else { 0 };
                Some(std::net::Ipv4Addr::from(base + offset).to_string())
            }
            IpNet::V6(_) => None,
        })
        .unwrap_or_default()
}

// ===== fabric =====

/// The gateway's AS number toward the edges, as on Azure.
pub const GATEWAY_ASN: u32 = 65515;

/// One circuit connected to a gateway: where its two edges sit on the fabric segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub circuit: Ref,
    pub weight: u32,
    pub primary: std::net::Ipv4Addr,
    pub secondary: std::net::Ipv4Addr,
}

/// One gateway as the edges see it: its fabric segment, host-facing addresses and the
/// circuits connected to it, each with a slot that places its two edges on the segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayFabric {
    pub id: String,
    pub vnet_prefixes: Vec<String>,
    pub fabric: api::Fabric,
    /// The gateway's namespace on its host.
    pub namespace: String,
    pub host_addresses: Vec<String>,
    pub links: Vec<Link>,
}

impl GatewayFabric {
    pub fn connects(&self, c: &Circuit) -> Option<&Link> {
        let r = Ref::new(&c.sub, &c.rg, &c.name);
        self.links.iter().find(|l| l.circuit.same(&r))
    }
}

/// The first eight hex digits of a GUID: names a virtual network's namespaces.
fn guid8(guid: &str) -> String {
    guid.chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect()
}

fn first_v4(prefixes: &[String]) -> Option<ipnet::Ipv4Net> {
    prefixes
        .iter()
        .find_map(|p| match p.parse::<IpNet>().ok()? {
            IpNet::V4(n) => Some(n.trunc()),
            IpNet::V6(_) => None,
        })
}

/// The fabric of one gateway, if its GatewaySubnet can hold it. Addresses on the segment:
/// the gateway at GatewaySubnet + 4 (Azure's first usable), then two per connection in
/// creation order (primary, secondary). A connection whose addresses do not fit in the
/// GatewaySubnet is left out (and logged).
pub fn fabric_of(st: &impl Read, g: &Gateway) -> R<Option<GatewayFabric>> {
    let Some(v) = load::<VirtualNetwork>(st, &g.vnet.id(vnets::KIND))? else {
        return Ok(None);
    };
    let Some(gw_net) = v
        .subnet(GATEWAY_SUBNET)
        .and_then(|s| first_v4(&s.address_prefixes))
    else {
        return Ok(None);
    };
    let base = u32::from(gw_net.network());
    let size = 1u64 << (32 - gw_net.prefix_len());
    if size < 8 {
        return Ok(None);
    }
    let hex = guid8(&v.resource_guid);
    let vni = u32::from_str_radix(&hex[..hex.len().min(6)], 16).unwrap_or(1) & 0xff_ffff;
    let fabric = api::Fabric {
        vnet: v.id(),
        namespace: format!("cwf-{hex}"),
        vni: vni.max(1),
        prefix_len: gw_net.prefix_len(),
        gateway: std::net::Ipv4Addr::from(base + 4),
        gateway_as: GATEWAY_ASN,
        vteps: Vec::new(),
    };
    let host_addresses = v
        .subnets
        .iter()
        .filter(|s| !eq(&s.name, GATEWAY_SUBNET))
        .filter_map(|s| first_v4(&s.address_prefixes))
        .map(|n| {
            format!(
                "{}/{}",
                std::net::Ipv4Addr::from(u32::from(n.network()) + 1),
                n.prefix_len()
            )
        })
        .collect();
    let mut links = Vec::new();
    for (slot, conn) in super::referrers::<Connection>(st, "gateway", &g.id())?
        .iter()
        .enumerate()
    {
        let first = 5 + 2 * slot as u64;
        if first + 1 >= size - 1 {
            tracing::warn!(
                "connection {} does not fit in the GatewaySubnet {gw_net} of {}",
                conn.id(),
                v.id()
            );
            continue;
        }
        let at = |o: u64| std::net::Ipv4Addr::from(base + o as u32);
        links.push(Link {
            circuit: conn.circuit.clone(),
            weight: conn.routing_weight,
            primary: at(first),
            secondary: at(first + 1),
        });
    }
    Ok(Some(GatewayFabric {
        id: g.id(),
        vnet_prefixes: v.address_prefixes.clone(),
        fabric,
        namespace: format!("cwg-{hex}"),
        host_addresses,
        links,
    }))
}

/// The fabrics of every gateway (what the gateway host runs).
pub fn all_fabrics(st: &impl Read) -> R<Vec<GatewayFabric>> {
    let mut out = Vec::new();
    for (_, g) in list::<Gateway>(st, None, None, 0, usize::MAX)? {
        out.extend(fabric_of(st, &g)?);
    }
    Ok(out)
}

/// The fabrics of the gateways connected to circuit `c`.
pub fn fabrics_of_circuit(st: &impl Read, c: &Circuit) -> R<Vec<GatewayFabric>> {
    let mut out = Vec::new();
    for conn in super::referrers::<Connection>(st, "circuit", &c.id())? {
        if let Some(g) = load::<Gateway>(st, &conn.gateway.id(KIND))? {
            out.extend(fabric_of(st, &g)?);
        }
    }
    Ok(out)
}

/// One row of `getLearnedRoutes` / `getAdvertisedRoutes`.
fn gateway_route(
    local: &str,
    network: &str,
    next_hop: &str,
    source_peer: &str,
    origin: &str,
    as_path: &str,
    weight: u32,
) -> Value {
    super::to_value(&net::GatewayRoute {
        local_address: local.to_owned(),
        network: network.to_owned(),
        next_hop: next_hop.to_owned(),
        source_peer: source_peer.to_owned(),
        origin: origin.to_owned(),
        as_path: as_path.to_owned(),
        weight,
    })
}

/// The edge's address on a link subnet (the second usable one, as the edges take it).
fn edge_link_address(prefix: &str) -> Option<String> {
    match prefix.parse::<IpNet>().ok()? {
        IpNet::V4(n) => Some(std::net::Ipv4Addr::from(u32::from(n.network()) + 2).to_string()),
        IpNet::V6(n) => Some(std::net::Ipv6Addr::from(u128::from(n.network()) + 2).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_limits_follow_the_sku() {
        let l: Vec<usize> = [
            "Standard",
            "ErGw1AZ",
            "HighPerformance",
            "ergw2az",
            "UltraPerformance",
            "ErGw3AZ",
            "ErGwScale",
            "Basic",
        ]
        .iter()
        .map(|s| gateway_connection_limit(s))
        .collect();
        assert_eq!(l, [4, 4, 8, 8, 16, 16, 16, 0]);
    }

    #[test]
    fn the_gateway_takes_the_fifth_address() {
        let s = |p: &str| Subnet {
            name: GATEWAY_SUBNET.into(),
            address_prefixes: vec![p.into()],
            ..Subnet::default()
        };
        assert_eq!(gateway_address(&s("10.1.255.0/27")), "10.1.255.4");
        assert_eq!(gateway_address(&s("10.1.255.0/30")), "10.1.255.0");
    }
}
