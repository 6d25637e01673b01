//! The cloud side of ExpressRoute: virtual networks (`Microsoft.Network/virtualNetworks`),
//! ExpressRoute gateways (`virtualNetworkGateways`, gatewayType ExpressRoute) and their
//! connections to circuits (`connections`, connectionType ExpressRoute).
//!
//! Each resource is one row of the store's `resources` table; a write and the records it
//! touches (a circuit's authorization going InUse, the operation record) commit in one
//! transaction that also bumps the edge generation, because a connected virtual network's
//! address space is what the edges advertise to the customer ([`Service::advertised_prefixes`]).
//! Routes the customer sends on a connected circuit come back as the gateway's learned routes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::http::{Method, StatusCode};
use ipnet::IpNet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::arm::{ArmError, CircuitPath, Device};
use crate::model::{Circuit, new_etag};
use crate::service::{
    Reply, Request, Service, check_preconditions, forbidden, method_not_allowed, require_body,
};
use crate::store::{Batch, ResourceKey, Store, StoreError};
use crate::validate;

type R<T> = Result<T, ArmError>;

pub const VNETS: &str = "virtualNetworks";
pub const GATEWAYS: &str = "virtualNetworkGateways";
pub const CONNECTIONS: &str = "connections";
const CIRCUITS: &str = "expressRouteCircuits";
pub const GATEWAY_SUBNET: &str = "GatewaySubnet";
pub(crate) const PRIVATE_PEERING: &str = "AzurePrivatePeering";

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

/// A virtual network links at most this many circuits in one peering location, and overall.
pub const VNET_CIRCUITS_PER_LOCATION: usize = 4;
pub const VNET_CIRCUITS: usize = 16;

// ===== paths =====

/// `getLearnedRoutes` or `getAdvertisedRoutes` of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayRoutes {
    Learned,
    Advertised,
}

/// A cloud-side resource a request addresses (names as the user spelled them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudTarget {
    VirtualNetworks { sub: String, rg: Option<String> },
    VirtualNetwork(CircuitPath),
    Subnets(CircuitPath),
    Subnet(CircuitPath, String),
    Gateways { sub: String, rg: String },
    Gateway(CircuitPath),
    GatewayRoutes(CircuitPath, GatewayRoutes),
    Connections { sub: String, rg: String },
    Connection(CircuitPath),
}

impl CloudTarget {
    pub fn sub(&self) -> &str {
        match self {
            CloudTarget::VirtualNetworks { sub, .. }
            | CloudTarget::Gateways { sub, .. }
            | CloudTarget::Connections { sub, .. } => sub,
            CloudTarget::VirtualNetwork(p)
            | CloudTarget::Subnets(p)
            | CloudTarget::Subnet(p, _)
            | CloudTarget::Gateway(p)
            | CloudTarget::GatewayRoutes(p, _)
            | CloudTarget::Connection(p) => &p.sub,
        }
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Parses what follows `.../providers/Microsoft.Network/` (`rg` = None at subscription level).
pub fn parse(sub: &str, rg: Option<&str>, rest: &[&str]) -> Option<CloudTarget> {
    let kind = *rest.first()?;
    let sub = sub.to_owned();
    let Some(rg) = rg else {
        return (rest.len() == 1 && eq(kind, VNETS))
            .then_some(CloudTarget::VirtualNetworks { sub, rg: None });
    };
    let rg = rg.to_owned();
    let Some(name) = rest.get(1) else {
        return match kind {
            k if eq(k, VNETS) => Some(CloudTarget::VirtualNetworks { sub, rg: Some(rg) }),
            k if eq(k, GATEWAYS) => Some(CloudTarget::Gateways { sub, rg }),
            k if eq(k, CONNECTIONS) => Some(CloudTarget::Connections { sub, rg }),
            _ => None,
        };
    };
    if name.is_empty() {
        return None;
    }
    let p = CircuitPath {
        sub,
        rg,
        name: (*name).to_owned(),
    };
    match (kind, &rest[2..]) {
        (k, []) if eq(k, VNETS) => Some(CloudTarget::VirtualNetwork(p)),
        (k, [s]) if eq(k, VNETS) && eq(s, "subnets") => Some(CloudTarget::Subnets(p)),
        (k, [s, n]) if eq(k, VNETS) && eq(s, "subnets") && !n.is_empty() => {
            Some(CloudTarget::Subnet(p, (*n).to_owned()))
        }
        (k, []) if eq(k, GATEWAYS) => Some(CloudTarget::Gateway(p)),
        (k, [a]) if eq(k, GATEWAYS) && eq(a, "getLearnedRoutes") => {
            Some(CloudTarget::GatewayRoutes(p, GatewayRoutes::Learned))
        }
        (k, [a]) if eq(k, GATEWAYS) && eq(a, "getAdvertisedRoutes") => {
            Some(CloudTarget::GatewayRoutes(p, GatewayRoutes::Advertised))
        }
        (k, []) if eq(k, CONNECTIONS) => Some(CloudTarget::Connection(p)),
        _ => None,
    }
}

// ===== model =====

/// A reference to another resource, as stored (the referenced resource's own casing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref {
    pub sub: String,
    pub rg: String,
    pub name: String,
}

impl Ref {
    fn id(&self, kind: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/{kind}/{}",
            self.sub, self.rg, self.name
        )
    }

    fn is(&self, sub: &str, rg: &str, name: &str) -> bool {
        eq(&self.sub, sub) && eq(&self.rg, rg) && eq(&self.name, name)
    }

    fn same(&self, o: &Ref) -> bool {
        self.is(&o.sub, &o.rg, &o.name)
    }

    fn of_circuit(c: &Circuit) -> Ref {
        Ref {
            sub: c.sub.clone(),
            rg: c.rg.clone(),
            name: c.name.clone(),
        }
    }
}

/// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/{kind}/{name}`
/// followed by `extra` further segments (returned too).
fn parse_id<'a>(id: &'a str, kind: &str, extra: usize) -> Option<(Ref, Vec<&'a str>)> {
    let segs: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let ok = segs.len() == 9 + extra
        && segs[0].is_empty()
        && eq(segs[1], "subscriptions")
        && eq(segs[3], "resourceGroups")
        && eq(segs[5], "providers")
        && eq(segs[6], "Microsoft.Network")
        && eq(segs[7], kind)
        && segs[2..9].iter().all(|s| !s.is_empty());
    ok.then(|| {
        (
            Ref {
                sub: segs[2].to_owned(),
                rg: segs[4].to_owned(),
                name: segs[8].to_owned(),
            },
            segs[9..].to_vec(),
        )
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub name: String,
    pub address_prefixes: Vec<String>,
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualNetwork {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub address_prefixes: Vec<String>,
    pub subnets: Vec<Subnet>,
    pub resource_guid: String,
    pub etag: String,
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
}

/// A stored cloud-side resource.
trait Resource: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn sub(&self) -> &str;
    fn rg(&self) -> &str;
    fn name(&self) -> &str;

    fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/{}/{}",
            self.sub(),
            self.rg(),
            Self::KIND,
            self.name()
        )
    }

    fn key(&self) -> ResourceKey {
        ResourceKey {
            kind: Self::KIND.to_owned(),
            sub: self.sub().to_owned(),
            rg: self.rg().to_owned(),
            name: self.name().to_owned(),
        }
    }

    fn as_ref(&self) -> Ref {
        Ref {
            sub: self.sub().to_owned(),
            rg: self.rg().to_owned(),
            name: self.name().to_owned(),
        }
    }
}

macro_rules! resource {
    ($t:ty, $kind:expr) => {
        impl Resource for $t {
            const KIND: &'static str = $kind;
            fn sub(&self) -> &str {
                &self.sub
            }
            fn rg(&self) -> &str {
                &self.rg
            }
            fn name(&self) -> &str {
                &self.name
            }
        }
    };
}
resource!(VirtualNetwork, VNETS);
resource!(Gateway, GATEWAYS);
resource!(Connection, CONNECTIONS);

fn load<T: Resource>(st: &Store, sub: &str, rg: &str, name: &str) -> R<Option<T>> {
    let Some(body) = st.resource(T::KIND, sub, rg, name)? else {
        return Ok(None);
    };
    Ok(Some(serde_json::from_str(&body).map_err(StoreError::from)?))
}

fn load_ref<T: Resource>(st: &Store, r: &Ref) -> R<Option<T>> {
    load(st, &r.sub, &r.rg, &r.name)
}

fn load_all<T: Resource>(st: &Store, sub: Option<&str>, rg: Option<&str>) -> R<Vec<T>> {
    st.resources(T::KIND, sub, rg)?
        .iter()
        .map(|b| Ok(serde_json::from_str(b).map_err(StoreError::from)?))
        .collect()
}

fn stage<T: Resource>(batch: &mut Batch, r: &T) -> R<()> {
    let body = serde_json::to_string(r).map_err(StoreError::from)?;
    batch.puts.push((r.key(), body));
    Ok(())
}

/// `westeurope` and `West Europe` are the same region.
fn same_region(a: &str, b: &str) -> bool {
    let n = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    n(a) == n(b)
}

// ===== limits =====

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

/// Connections a gateway SKU takes (0 for an unknown SKU).
pub fn gateway_connection_limit(sku: &str) -> usize {
    GATEWAY_SKUS
        .iter()
        .find(|(n, _)| eq(n, sku))
        .map_or(0, |(_, l)| *l)
}

// ===== validation =====

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

fn prefix(path: &str, s: &str) -> R<IpNet> {
    let net: IpNet = s.parse().map_err(|_| {
        bad(
            "InvalidAddressPrefixFormat",
            format!(
                "'{path}' = '{s}' is not an address prefix in CIDR notation such as 10.1.0.0/16."
            ),
        )
    })?;
    if net.trunc() != net {
        return Err(bad(
            "InvalidAddressPrefixFormat",
            format!(
                "'{path}' = '{s}' has host bits set; did you mean {}?",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

fn overlap(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn str_list<'a>(v: &'a Value, path: &str) -> R<Option<Vec<&'a str>>> {
    match validate::field(v, path) {
        None => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str().ok_or_else(|| {
                    bad(
                        "InvalidRequestFormat",
                        format!("'{path}' must list strings."),
                    )
                })
            })
            .collect::<R<Vec<_>>>()
            .map(Some),
        Some(_) => Err(bad(
            "InvalidRequestFormat",
            format!("'{path}' must be an array."),
        )),
    }
}

/// The validated parts of a virtual network PUT.
struct VnetInput {
    location: String,
    tags: BTreeMap<String, String>,
    prefixes: Vec<String>,
    subnets: Vec<(String, Vec<String>)>,
}

fn vnet_input(body: &Value) -> R<VnetInput> {
    let location = validate::req_str(body, "location")?.to_owned();
    let tags = validate::tags(body)?;
    let path = "properties.addressSpace.addressPrefixes";
    let raw = str_list(body, path)?.unwrap_or_default();
    if raw.is_empty() {
        return Err(bad(
            "InvalidRequestFormat",
            format!(
                "'{path}' is required: list the virtual network's address prefixes (e.g. [\"10.1.0.0/16\"])."
            ),
        ));
    }
    let mut space: Vec<IpNet> = Vec::new();
    for s in raw {
        let net = prefix(path, s)?;
        if let Some(o) = space.iter().find(|o| overlap(o, &net)) {
            return Err(bad(
                "VnetAddressSpacesOverlap",
                format!("Address prefixes {o} and {net} of the virtual network overlap."),
            ));
        }
        space.push(net);
    }
    let mut subnets: Vec<(String, Vec<IpNet>)> = Vec::new();
    let list = match validate::field(body, "properties.subnets") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(bad(
                "InvalidRequestFormat",
                "'properties.subnets' must be an array.",
            ));
        }
    };
    for (i, s) in list.iter().enumerate() {
        let name = validate::req_str(s, "name").map_err(|_| {
            bad(
                "InvalidRequestFormat",
                format!("'properties.subnets[{i}].name' is required."),
            )
        })?;
        validate::resource_name("subnets", name)?;
        if subnets.iter().any(|(n, _)| eq(n, name)) {
            return Err(bad(
                "DuplicateResourceName",
                format!("Subnet '{name}' is listed twice."),
            ));
        }
        let p = format!("properties.subnets[{i}].properties.addressPrefix");
        let given: Vec<&str> = match (
            validate::opt_str(s, "properties.addressPrefix")?,
            str_list(s, "properties.addressPrefixes")?,
        ) {
            (Some(one), _) => vec![one],
            (None, Some(many)) if !many.is_empty() => many,
            _ => {
                return Err(bad(
                    "InvalidRequestFormat",
                    format!("'{p}' is required (subnet '{name}')."),
                ));
            }
        };
        let mut nets = Vec::new();
        for g in given {
            let net = prefix(&p, g)?;
            if !space.iter().any(|a| a.contains(&net)) {
                return Err(bad(
                    "NetcfgSubnetRangeOutsideVnet",
                    format!(
                        "Subnet '{name}' ({net}) is not within the virtual network's address space ({}).",
                        space
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            for (other, onets) in &subnets {
                if let Some(o) = onets.iter().find(|o| overlap(o, &net)) {
                    return Err(bad(
                        "NetcfgSubnetRangesOverlap",
                        format!("Subnet '{name}' ({net}) overlaps subnet '{other}' ({o})."),
                    ));
                }
            }
            nets.push(net);
        }
        subnets.push((name.to_owned(), nets));
    }
    Ok(VnetInput {
        location,
        tags,
        prefixes: space.iter().map(ToString::to_string).collect(),
        subnets: subnets
            .into_iter()
            .map(|(n, nets)| (n, nets.iter().map(ToString::to_string).collect()))
            .collect(),
    })
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

// ===== rendering =====

impl VirtualNetwork {
    fn subnet(&self, name: &str) -> Option<&Subnet> {
        self.subnets.iter().find(|s| eq(&s.name, name))
    }

    fn render_subnet(&self, s: &Subnet, gateway: Option<&Gateway>) -> Value {
        let mut props = json!({
            "provisioningState": "Succeeded",
            "addressPrefix": s.address_prefixes.first(),
        });
        if s.address_prefixes.len() > 1 {
            props["addressPrefixes"] = json!(s.address_prefixes);
        }
        if let Some(g) = gateway.filter(|_| eq(&s.name, GATEWAY_SUBNET)) {
            props["ipConfigurations"] =
                json!([{"id": format!("{}/ipConfigurations/{}", g.id(), g.ip_config_name)}]);
        }
        json!({
            "id": format!("{}/subnets/{}", self.id(), s.name),
            "name": s.name,
            "type": "Microsoft.Network/virtualNetworks/subnets",
            "etag": s.etag,
            "properties": props,
        })
    }

    fn render(&self, gateway: Option<&Gateway>) -> Value {
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Network/virtualNetworks",
            "location": self.location,
            "tags": self.tags,
            "etag": self.etag,
            "properties": {
                "provisioningState": "Succeeded",
                "resourceGuid": self.resource_guid,
                "addressSpace": {"addressPrefixes": self.address_prefixes},
                "subnets": self.subnets.iter().map(|s| self.render_subnet(s, gateway)).collect::<Vec<_>>(),
                "virtualNetworkPeerings": [],
                "enableDdosProtection": false,
            }
        })
    }
}

impl Gateway {
    fn render(&self) -> Value {
        let mut ipc = json!({
            "id": format!("{}/ipConfigurations/{}", self.id(), self.ip_config_name),
            "name": self.ip_config_name,
            "etag": self.etag,
            "properties": {
                "provisioningState": "Succeeded",
                "privateIPAllocationMethod": "Dynamic",
                "privateIPAddress": self.private_ip,
                "subnet": {"id": format!("{}/subnets/{GATEWAY_SUBNET}", self.vnet.id(VNETS))},
            }
        });
        if let Some(p) = &self.public_ip {
            ipc["properties"]["publicIPAddress"] = json!({"id": p});
        }
        let mut props = json!({
            "provisioningState": "Succeeded",
            "resourceGuid": self.resource_guid,
            "gatewayType": "ExpressRoute",
            "sku": {"name": self.sku, "tier": self.sku},
            "ipConfigurations": [ipc],
            "enableBgp": false,
            "activeActive": false,
            "adminState": "Enabled",
        });
        if let Some(b) = self.scale {
            props["autoScaleConfiguration"] = json!({"bounds": {"min": b.min, "max": b.max}});
        }
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Network/virtualNetworkGateways",
            "location": self.location,
            "tags": self.tags,
            "etag": self.etag,
            "properties": props,
        })
    }
}

impl Connection {
    fn render(&self, circuit: Option<&Circuit>) -> Value {
        let connected =
            circuit.is_some_and(|c| c.provisioned() && c.peering(PRIVATE_PEERING).is_some());
        let mut props = json!({
            "provisioningState": "Succeeded",
            "resourceGuid": self.resource_guid,
            "connectionType": "ExpressRoute",
            "virtualNetworkGateway1": {"id": self.gateway.id(GATEWAYS)},
            "peer": {"id": self.circuit.id(CIRCUITS)},
            "routingWeight": self.routing_weight,
            "connectionStatus": if connected { "Connected" } else { "NotConnected" },
            "expressRouteGatewayBypass": self.gateway_bypass,
            "enableBgp": false,
            "ingressBytesTransferred": 0,
            "egressBytesTransferred": 0,
        });
        if let Some(k) = &self.authorization_key {
            props["authorizationKey"] = json!(k);
        }
        json!({
            "id": self.id(),
            "name": self.name,
            "type": "Microsoft.Network/connections",
            "location": self.location,
            "tags": self.tags,
            "etag": self.etag,
            "properties": props,
        })
    }
}

// ===== operations =====

impl Service {
    /// Dispatch of every cloud-side route, with the store locked.
    pub(crate) fn cloud(&self, st: &mut Store, req: &Request, t: &CloudTarget) -> R<Reply> {
        let m = &req.method;
        if *m == Method::GET {
            return self.cloud_get(st, req, t);
        }
        match (t, m) {
            (CloudTarget::VirtualNetwork(p), &Method::PUT) => self.put_vnet(st, req, p),
            (CloudTarget::VirtualNetwork(p), &Method::PATCH) => {
                self.patch_tags::<VirtualNetwork>(st, req, p)
            }
            (CloudTarget::VirtualNetwork(p), &Method::DELETE) => self.delete_vnet(st, req, p),
            (CloudTarget::Gateway(p), &Method::PUT) => self.put_gateway(st, req, p),
            (CloudTarget::Gateway(p), &Method::PATCH) => self.patch_tags::<Gateway>(st, req, p),
            (CloudTarget::Gateway(p), &Method::DELETE) => self.delete_gateway(st, req, p),
            (CloudTarget::GatewayRoutes(p, which), &Method::POST) => {
                self.gateway_routes(st, req, p, *which)
            }
            (CloudTarget::Connection(p), &Method::PUT) => self.put_connection(st, req, p),
            (CloudTarget::Connection(p), &Method::PATCH) => {
                self.patch_tags::<Connection>(st, req, p)
            }
            (CloudTarget::Connection(p), &Method::DELETE) => self.delete_connection(st, req, p),
            _ => Err(method_not_allowed(m)),
        }
    }

    /// Every GET (also the result of a finished PUT's operation).
    pub(crate) fn cloud_get(&self, st: &Store, req: &Request, t: &CloudTarget) -> R<Reply> {
        if req.method != Method::GET {
            return Err(method_not_allowed(&req.method));
        }
        let owns = |sub: &str| req.principal.owns_subscription(sub);
        match t {
            CloudTarget::VirtualNetworks { sub, rg } => {
                let items = if owns(sub) {
                    let gateways: Vec<Gateway> = load_all(st, Some(sub), None)?;
                    load_all::<VirtualNetwork>(st, Some(sub), rg.as_deref())?
                        .iter()
                        .map(|v| v.render(gateways.iter().find(|g| g.vnet.same(&v.as_ref()))))
                        .collect()
                } else {
                    Vec::new()
                };
                Ok(self.page(req, items))
            }
            CloudTarget::VirtualNetwork(p) => {
                let v = visible::<VirtualNetwork>(st, req, p)?;
                let g = gateway_of(st, &v)?;
                Ok(Reply::ok(v.render(g.as_ref())))
            }
            CloudTarget::Subnets(p) => {
                let v = visible::<VirtualNetwork>(st, req, p)?;
                let g = gateway_of(st, &v)?;
                let items = v
                    .subnets
                    .iter()
                    .map(|s| v.render_subnet(s, g.as_ref()))
                    .collect();
                Ok(self.page(req, items))
            }
            CloudTarget::Subnet(p, name) => {
                let v = visible::<VirtualNetwork>(st, req, p)?;
                let s = v.subnet(name).ok_or_else(|| {
                    ArmError::not_found("Microsoft.Network/virtualNetworks/subnets", name)
                })?;
                let g = gateway_of(st, &v)?;
                Ok(Reply::ok(v.render_subnet(s, g.as_ref())))
            }
            CloudTarget::Gateways { sub, rg } => {
                let items = if owns(sub) {
                    load_all::<Gateway>(st, Some(sub), Some(rg))?
                        .iter()
                        .map(Gateway::render)
                        .collect()
                } else {
                    Vec::new()
                };
                Ok(self.page(req, items))
            }
            CloudTarget::Gateway(p) => Ok(Reply::ok(visible::<Gateway>(st, req, p)?.render())),
            CloudTarget::Connections { sub, rg } => {
                let items = if owns(sub) {
                    load_all::<Connection>(st, Some(sub), Some(rg))?
                        .iter()
                        .map(|c| {
                            Ok(c.render(
                                st.circuit(&c.circuit.sub, &c.circuit.rg, &c.circuit.name)?
                                    .as_ref(),
                            ))
                        })
                        .collect::<R<Vec<_>>>()?
                } else {
                    Vec::new()
                };
                Ok(self.page(req, items))
            }
            CloudTarget::Connection(p) => {
                let c = visible::<Connection>(st, req, p)?;
                let circuit = st.circuit(&c.circuit.sub, &c.circuit.rg, &c.circuit.name)?;
                Ok(Reply::ok(c.render(circuit.as_ref())))
            }
            CloudTarget::GatewayRoutes(..) => Err(method_not_allowed(&req.method)),
        }
    }

    // ----- virtual networks -----

    fn put_vnet(&self, st: &mut Store, req: &Request, p: &CircuitPath) -> R<Reply> {
        writable(req, p)?;
        validate::resource_name(VNETS, &p.name)?;
        validate::resource_name("resourceGroups", &p.rg)?;
        let input = vnet_input(require_body(req)?)?;
        let existing: Option<VirtualNetwork> = load(st, &p.sub, &p.rg, &p.name)?;
        check_preconditions(req, existing.as_ref().map(|v| v.etag.as_str()))?;
        if let Some(old) = &existing {
            if !same_region(&old.location, &input.location) {
                return Err(bad(
                    "CannotChangeLocation",
                    format!(
                        "The virtual network's location is '{}' and cannot change.",
                        old.location
                    ),
                ));
            }
            // The gateway's subnet must stay as it is while the gateway exists.
            if let Some(g) = gateway_of(st, old)? {
                let kept = input.subnets.iter().find(|(n, _)| eq(n, GATEWAY_SUBNET));
                let old_gs = old.subnet(GATEWAY_SUBNET).map(|s| &s.address_prefixes);
                match kept {
                    None => {
                        return Err(bad(
                            "InUseSubnetCannotBeDeleted",
                            format!(
                                "Subnet {GATEWAY_SUBNET} is in use by gateway '{}' and cannot be deleted; delete the gateway first.",
                                g.id()
                            ),
                        ));
                    }
                    Some((_, nets)) if Some(nets) != old_gs => {
                        return Err(bad(
                            "InUseSubnetCannotBeUpdated",
                            format!(
                                "Subnet {GATEWAY_SUBNET} is in use by gateway '{}'; its address prefix cannot change.",
                                g.id()
                            ),
                        ));
                    }
                    _ => {}
                }
            }
        }
        let subnets = input
            .subnets
            .into_iter()
            .map(|(name, prefixes)| {
                let keep = existing
                    .as_ref()
                    .and_then(|o| o.subnet(&name))
                    .filter(|s| s.address_prefixes == prefixes && s.name == name);
                Subnet {
                    etag: keep.map_or_else(new_etag, |s| s.etag.clone()),
                    name,
                    address_prefixes: prefixes,
                }
            })
            .collect();
        let created = existing.is_none();
        let v = VirtualNetwork {
            sub: p.sub.clone(),
            rg: p.rg.clone(),
            name: p.name.clone(),
            location: existing
                .as_ref()
                .map_or(input.location, |o| o.location.clone()),
            tags: input.tags,
            address_prefixes: input.prefixes,
            subnets,
            resource_guid: existing.as_ref().map_or_else(
                || uuid::Uuid::new_v4().to_string(),
                |o| o.resource_guid.clone(),
            ),
            etag: new_etag(),
        };
        let gateway = gateway_of(st, &v)?;
        self.commit_put(
            st,
            req,
            &v,
            created,
            v.render(gateway.as_ref()),
            &v.location.clone(),
        )
    }

    fn delete_vnet(&self, st: &mut Store, req: &Request, p: &CircuitPath) -> R<Reply> {
        let Some(v) = deletable::<VirtualNetwork>(st, req, p)? else {
            return Ok(Reply::no_content());
        };
        check_preconditions(req, Some(&v.etag))?;
        if let Some(g) = gateway_of(st, &v)? {
            return Err(bad(
                "InUseSubnetCannotBeDeleted",
                format!(
                    "Subnet {GATEWAY_SUBNET} of virtual network '{}' is in use by gateway '{}' and cannot be deleted; delete the gateway (and its connections) first.",
                    v.name,
                    g.id()
                ),
            ));
        }
        self.commit_delete(st, req, &v, Vec::new(), &v.location.clone())
    }

    // ----- gateways -----

    fn put_gateway(&self, st: &mut Store, req: &Request, p: &CircuitPath) -> R<Reply> {
        writable(req, p)?;
        validate::resource_name(GATEWAYS, &p.name)?;
        validate::resource_name("resourceGroups", &p.rg)?;
        let body = require_body(req)?;
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
                        format!(
                            "autoScaleConfiguration applies to the ErGwScale SKU only, not {sku}."
                        ),
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
        let ipcs = match validate::field(body, "properties.ipConfigurations") {
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
        let (vref, rest) = parse_id(subnet_id, VNETS, 2).filter(|(_, r)| eq(r[0], "subnets")).ok_or_else(|| {
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
        if !eq(&vref.sub, &p.sub) {
            return Err(bad(
                "InvalidGatewaySubnet",
                "The gateway's virtual network must be in the gateway's subscription.",
            ));
        }
        let vnet: VirtualNetwork = load_ref(st, &vref)?.ok_or_else(|| {
            bad(
                "InvalidResourceReference",
                format!(
                    "Virtual network '{}' referenced by the gateway was not found.",
                    vref.id(VNETS)
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
        if !same_region(&vnet.location, &location) {
            return Err(bad(
                "VirtualNetworkLocationMismatch",
                format!(
                    "The gateway's location '{location}' must be the virtual network's location '{}'.",
                    vnet.location
                ),
            ));
        }
        let existing: Option<Gateway> = load(st, &p.sub, &p.rg, &p.name)?;
        check_preconditions(req, existing.as_ref().map(|g| g.etag.as_str()))?;
        if let Some(other) = load_all::<Gateway>(st, Some(&p.sub), None)?
            .into_iter()
            .find(|g| g.vnet.same(&vnet.as_ref()) && !g.as_ref().is(&p.sub, &p.rg, &p.name))
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
            if !same_region(&old.location, &location) {
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
                        old.vnet.id(VNETS)
                    ),
                ));
            }
            let n = connections_of_gateway(st, old)?.len();
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
            sub: p.sub.clone(),
            rg: p.rg.clone(),
            name: p.name.clone(),
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
                .map(str::to_owned),
            private_ip: gateway_address(gsub),
            resource_guid: existing.as_ref().map_or_else(
                || uuid::Uuid::new_v4().to_string(),
                |o| o.resource_guid.clone(),
            ),
            etag: new_etag(),
        };
        self.commit_put(st, req, &g, created, g.render(), &g.location.clone())
    }

    fn delete_gateway(&self, st: &mut Store, req: &Request, p: &CircuitPath) -> R<Reply> {
        let Some(g) = deletable::<Gateway>(st, req, p)? else {
            return Ok(Reply::no_content());
        };
        check_preconditions(req, Some(&g.etag))?;
        let conns = connections_of_gateway(st, &g)?;
        if !conns.is_empty() {
            return Err(bad(
                "InUseVirtualNetworkGatewayCannotBeDeleted",
                format!(
                    "Gateway '{}' has {} connection(s) ({}); delete them first.",
                    g.name,
                    conns.len(),
                    conns
                        .iter()
                        .map(Resource::id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        self.commit_delete(st, req, &g, Vec::new(), &g.location.clone())
    }

    /// `getLearnedRoutes`: the customer's routes learned on every circuit connected to the
    /// gateway, from both links' edges. `getAdvertisedRoutes`: the virtual network's prefixes.
    fn gateway_routes(
        &self,
        st: &mut Store,
        req: &Request,
        p: &CircuitPath,
        which: GatewayRoutes,
    ) -> R<Reply> {
        let g = visible::<Gateway>(st, req, p)?;
        let mut rows: Vec<Value> = Vec::new();
        let live = match which {
            GatewayRoutes::Learned => self.edges.gateway_report(&g.id()),
            GatewayRoutes::Advertised => None,
        };
        match which {
            // The gateway runs (its host reports it): what its RIB really holds, each route
            // from the edge that sent it, weighted by that edge's connection.
            GatewayRoutes::Learned if live.as_ref().is_some_and(|r| !r.routes.is_empty()) => {
                let live = live.unwrap_or_default();
                let weights: Vec<(String, u32)> = gateway_fabrics_in(st)?
                    .into_iter()
                    .filter(|f| eq(&f.id, &g.id()))
                    .flat_map(|f| f.links)
                    .flat_map(|(_, w, p, s)| [(p.to_string(), w), (s.to_string(), w)])
                    .collect();
                for r in &live.routes {
                    let weight = weights
                        .iter()
                        .find(|(a, _)| *a == r.next_hop)
                        .map_or(0, |(_, w)| *w);
                    rows.push(json!({
                        "localAddress": g.private_ip,
                        "network": r.network,
                        "nextHop": r.next_hop,
                        "sourcePeer": r.next_hop,
                        "origin": "EBgp",
                        "asPath": r.as_path.split_whitespace().collect::<Vec<_>>().join("-"),
                        "weight": weight,
                    }));
                }
            }
            GatewayRoutes::Learned => {
                let mut seen = std::collections::HashSet::new();
                for conn in connections_of_gateway(st, &g)? {
                    let Some(c) =
                        st.circuit(&conn.circuit.sub, &conn.circuit.rg, &conn.circuit.name)?
                    else {
                        continue;
                    };
                    let Some(peering) = c.peering(PRIVATE_PEERING) else {
                        continue;
                    };
                    for device in [Device::Primary, Device::Secondary] {
                        let Some(report) = self
                            .link_edge(&c, device)
                            .and_then(|e| self.edges.report_for(&e, &c.service_key))
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
                                (Device::Secondary, false) => {
                                    Some(peering.secondary_prefix.clone())
                                }
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
                            let as_path = std::iter::once(self.edges.local_as.to_string())
                                .chain(path.iter().map(|s| (*s).to_owned()))
                                .collect::<Vec<_>>()
                                .join("-");
                            rows.push(json!({
                                "localAddress": g.private_ip,
                                "network": r.network,
                                "nextHop": r.next_hop,
                                "sourcePeer": source,
                                "origin": "EBgp",
                                "asPath": as_path,
                                "weight": conn.routing_weight,
                            }));
                        }
                    }
                }
            }
            GatewayRoutes::Advertised => {
                if let Some(v) = load_ref::<VirtualNetwork>(st, &g.vnet)? {
                    for prefix in &v.address_prefixes {
                        rows.push(json!({
                            "localAddress": g.private_ip,
                            "network": prefix,
                            "nextHop": g.private_ip,
                            "sourcePeer": g.private_ip,
                            "origin": "Igp",
                            "asPath": "65515",
                            "weight": 0,
                        }));
                    }
                }
            }
        }
        let op = self.operation_record(&p.sub, None, Some(json!({"value": rows})));
        st.put_operation(&op)?;
        Ok(self.lro(req, StatusCode::ACCEPTED, None, &g.location, &op))
    }

    // ----- connections -----

    fn put_connection(&self, st: &mut Store, req: &Request, p: &CircuitPath) -> R<Reply> {
        writable(req, p)?;
        validate::resource_name(CONNECTIONS, &p.name)?;
        validate::resource_name("resourceGroups", &p.rg)?;
        let body = require_body(req)?;
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
        let (gref, _) = parse_id(gw_id, GATEWAYS, 0).ok_or_else(|| {
            bad(
                "InvalidResourceReference",
                format!("'{gw_id}' is not a virtualNetworkGateways id."),
            )
        })?;
        let peer_id = validate::req_str(body, "properties.peer.id")?;
        let (cref, _) = parse_id(peer_id, CIRCUITS, 0).ok_or_else(|| {
            bad(
                "InvalidResourceReference",
                format!("peer.id '{peer_id}' is not an expressRouteCircuits id."),
            )
        })?;
        let key = validate::opt_str(body, "properties.authorizationKey")?.filter(|k| !k.is_empty());
        let bypass =
            validate::opt_bool(body, "properties.expressRouteGatewayBypass")?.unwrap_or(false);
        if !eq(&gref.sub, &p.sub) {
            return Err(bad(
                "InvalidResourceReference",
                "virtualNetworkGateway1 must be a gateway in the connection's subscription.",
            ));
        }
        let gateway: Gateway = load_ref(st, &gref)?.ok_or_else(|| {
            bad(
                "InvalidResourceReference",
                format!("Gateway '{gw_id}' referenced by the connection was not found."),
            )
        })?;
        let existing: Option<Connection> = load(st, &p.sub, &p.rg, &p.name)?;
        check_preconditions(req, existing.as_ref().map(|c| c.etag.as_str()))?;
        let mut batch = Batch::default();
        let conn = if let Some(old) = existing.clone() {
            if !old.circuit.same(&cref) {
                return Err(bad(
                    "ExpressRouteConnectionPeerCannotBeChanged",
                    format!(
                        "The connection's peer is circuit '{}' and cannot change; create a new connection instead.",
                        old.circuit.id(CIRCUITS)
                    ),
                ));
            }
            if !old.gateway.same(&gref) {
                return Err(bad(
                    "VirtualNetworkGatewayCannotBeChanged",
                    format!(
                        "The connection's gateway is '{}' and cannot change; create a new connection instead.",
                        old.gateway.id(GATEWAYS)
                    ),
                ));
            }
            if !same_region(&old.location, &location) {
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
            let (mut circuit, auth) = self.linkable_circuit(st, req, &cref, key)?;
            if circuit.peering(PRIVATE_PEERING).is_none() {
                return Err(bad(
                    "PrivatePeeringNotConfigured",
                    format!(
                        "Circuit '{}' has no AzurePrivatePeering: configure private peering first, then connect the virtual network.",
                        circuit.name
                    ),
                ));
            }
            self.check_link_limits(st, &circuit, &gateway)?;
            let id = format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/{CONNECTIONS}/{}",
                p.sub, p.rg, p.name
            );
            let auth_name = auth.map(|i| {
                let a = &mut circuit.authorizations[i];
                a.use_status = "InUse".into();
                a.connection_resource_uri = Some(id.clone());
                a.etag = new_etag();
                a.name.clone()
            });
            if auth_name.is_some() {
                circuit.etag = new_etag();
                batch.circuits.push(circuit.clone());
            }
            Connection {
                sub: p.sub.clone(),
                rg: p.rg.clone(),
                name: p.name.clone(),
                location,
                tags,
                gateway: gateway.as_ref(),
                circuit: Ref::of_circuit(&circuit),
                routing_weight: weight,
                authorization: auth_name,
                authorization_key: key.filter(|_| auth.is_some()).map(str::to_owned),
                gateway_bypass: bypass,
                resource_guid: uuid::Uuid::new_v4().to_string(),
                etag: new_etag(),
            }
        };
        let circuit = match batch.circuits.first() {
            Some(c) => Some(c.clone()),
            None => st.circuit(&conn.circuit.sub, &conn.circuit.rg, &conn.circuit.name)?,
        };
        let rendered = conn.render(circuit.as_ref());
        stage(&mut batch, &conn)?;
        let op = self.operation_record(&p.sub, Some(conn.id()), None);
        batch.op = Some(op.clone());
        st.commit(&batch)?;
        let status = if existing.is_none() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(self.lro(req, status, Some(rendered), &conn.location, &op))
    }

    /// The circuit a new connection may link, and the index of the authorization it uses.
    /// A circuit outside the caller's subscriptions needs a valid, unused authorization key;
    /// without one the answer is the same whether the circuit exists or not.
    fn linkable_circuit(
        &self,
        st: &Store,
        req: &Request,
        cref: &Ref,
        key: Option<&str>,
    ) -> R<(Circuit, Option<usize>)> {
        let owner = req.principal.owns_subscription(&cref.sub);
        let circuit = st.circuit(&cref.sub, &cref.rg, &cref.name)?;
        let id = cref.id(CIRCUITS);
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
    fn check_link_limits(&self, st: &Store, circuit: &Circuit, gateway: &Gateway) -> R<()> {
        let cref = Ref::of_circuit(circuit);
        let all: Vec<Connection> = load_all(st, None, None)?;
        let on_circuit = all.iter().filter(|c| c.circuit.same(&cref)).count();
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
        let of_gateway: Vec<&Connection> = all
            .iter()
            .filter(|c| c.gateway.same(&gateway.as_ref()))
            .collect();
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
            if linked.iter().any(|l| c.circuit.same(&Ref::of_circuit(l))) {
                continue;
            }
            if let Some(x) = st.circuit(&c.circuit.sub, &c.circuit.rg, &c.circuit.name)? {
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

    fn delete_connection(&self, st: &mut Store, req: &Request, p: &CircuitPath) -> R<Reply> {
        let Some(conn) = deletable::<Connection>(st, req, p)? else {
            return Ok(Reply::no_content());
        };
        check_preconditions(req, Some(&conn.etag))?;
        let mut circuits = Vec::new();
        if let Some(name) = &conn.authorization
            && let Some(mut c) =
                st.circuit(&conn.circuit.sub, &conn.circuit.rg, &conn.circuit.name)?
            && let Some(a) = c.authorizations.iter_mut().find(|a| eq(&a.name, name))
        {
            a.use_status = "Available".into();
            a.connection_resource_uri = None;
            a.etag = new_etag();
            c.etag = new_etag();
            circuits.push(c);
        }
        self.commit_delete(st, req, &conn, circuits, &conn.location.clone())
    }

    // ----- shared -----

    fn patch_tags<T: Resource + Clone + Tagged>(
        &self,
        st: &mut Store,
        req: &Request,
        p: &CircuitPath,
    ) -> R<Reply> {
        writable(req, p)?;
        let body = require_body(req)?;
        let mut r = visible::<T>(st, req, p)?;
        check_preconditions(req, Some(r.etag()))?;
        r.set_tags(validate::tags(body)?);
        let mut batch = Batch::default();
        stage(&mut batch, &r)?;
        st.commit(&batch)?;
        let target = match T::KIND {
            VNETS => CloudTarget::VirtualNetwork(p.clone()),
            GATEWAYS => CloudTarget::Gateway(p.clone()),
            _ => CloudTarget::Connection(p.clone()),
        };
        let get = Request {
            principal: req.principal.clone(),
            method: Method::GET,
            target: crate::arm::Target::Cloud(target.clone()),
            api_version: req.api_version.clone(),
            base: req.base.clone(),
            path: req.path.clone(),
            body: None,
            if_match: None,
            if_none_match: None,
            skip: 0,
        };
        self.cloud_get(st, &get, &target)
    }

    fn commit_put<T: Resource>(
        &self,
        st: &mut Store,
        req: &Request,
        r: &T,
        created: bool,
        rendered: Value,
        location: &str,
    ) -> R<Reply> {
        let mut batch = Batch::default();
        stage(&mut batch, r)?;
        let op = self.operation_record(r.sub(), Some(r.id()), None);
        batch.op = Some(op.clone());
        st.commit(&batch)?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(self.lro(req, status, Some(rendered), location, &op))
    }

    fn commit_delete<T: Resource>(
        &self,
        st: &mut Store,
        req: &Request,
        r: &T,
        circuits: Vec<Circuit>,
        location: &str,
    ) -> R<Reply> {
        let op = self.operation_record(r.sub(), None, None);
        let batch = Batch {
            deletes: vec![r.key()],
            circuits,
            op: Some(op.clone()),
            ..Batch::default()
        };
        st.commit(&batch)?;
        Ok(self.lro(req, StatusCode::ACCEPTED, None, location, &op))
    }

    /// Refuses to delete a circuit (or its private peering) that virtual networks still use.
    pub(crate) fn refuse_if_connected(
        &self,
        st: &Store,
        req: &Request,
        c: &Circuit,
        peering: Option<&str>,
    ) -> R<()> {
        if peering.is_some_and(|p| !eq(p, PRIVATE_PEERING)) {
            return Ok(());
        }
        let cref = Ref::of_circuit(c);
        let conns: Vec<Connection> = load_all::<Connection>(st, None, None)?
            .into_iter()
            .filter(|x| x.circuit.same(&cref))
            .collect();
        if conns.is_empty() {
            return Ok(());
        }
        // Name the connections the caller can see; only count the others.
        let mine: Vec<String> = conns
            .iter()
            .filter(|x| req.principal.owns_subscription(&x.sub))
            .map(Resource::id)
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
    pub(crate) fn connected_prefixes(&self, c: &Circuit) -> R<Vec<String>> {
        if c.peering(PRIVATE_PEERING).is_none() {
            return Ok(Vec::new());
        }
        self.with_store(|st| -> R<Vec<String>> {
            let cref = Ref::of_circuit(c);
            let mut out: Vec<String> = Vec::new();
            for conn in load_all::<Connection>(st, None, None)? {
                if !conn.circuit.same(&cref) {
                    continue;
                }
                let Some(g) = load_ref::<Gateway>(st, &conn.gateway)? else {
                    continue;
                };
                if let Some(v) = load_ref::<VirtualNetwork>(st, &g.vnet)? {
                    out.extend(v.address_prefixes);
                }
            }
            out.sort();
            out.dedup();
            Ok(out)
        })
    }
}

/// The edge's address on a link subnet (the second usable one, as in edges.rs).
fn edge_link_address(prefix: &str) -> Option<String> {
    match prefix.parse::<IpNet>().ok()? {
        IpNet::V4(n) => Some(std::net::Ipv4Addr::from(u32::from(n.network()) + 2).to_string()),
        IpNet::V6(n) => Some(std::net::Ipv6Addr::from(u128::from(n.network()) + 2).to_string()),
    }
}

trait Tagged {
    fn etag(&self) -> &str;
    fn set_tags(&mut self, tags: BTreeMap<String, String>);
}

macro_rules! tagged {
    ($t:ty) => {
        impl Tagged for $t {
            fn etag(&self) -> &str {
                &self.etag
            }
            fn set_tags(&mut self, tags: BTreeMap<String, String>) {
                self.tags = tags;
                self.etag = new_etag();
            }
        }
    };
}
tagged!(VirtualNetwork);
tagged!(Gateway);
tagged!(Connection);

/// 403 outside the caller's subscriptions (reveals nothing).
fn writable(req: &Request, p: &CircuitPath) -> R<()> {
    if req.principal.owns_subscription(&p.sub) {
        Ok(())
    } else {
        Err(forbidden(&req.principal, &p.sub))
    }
}

/// A resource the caller may read; another tenant's answers exactly like a missing one.
fn visible<T: Resource>(st: &Store, req: &Request, p: &CircuitPath) -> R<T> {
    let found = if req.principal.owns_subscription(&p.sub) {
        load(st, &p.sub, &p.rg, &p.name)?
    } else {
        None
    };
    found.ok_or_else(|| ArmError::not_found(&format!("Microsoft.Network/{}", T::KIND), &p.name))
}

/// For DELETE: `None` when there is nothing (the caller's) to delete (answer 204).
fn deletable<T: Resource>(st: &Store, req: &Request, p: &CircuitPath) -> R<Option<T>> {
    if !req.principal.owns_subscription(&p.sub) {
        return Ok(None);
    }
    load(st, &p.sub, &p.rg, &p.name)
}

fn gateway_of(st: &Store, v: &VirtualNetwork) -> R<Option<Gateway>> {
    Ok(load_all::<Gateway>(st, Some(&v.sub), None)?
        .into_iter()
        .find(|g| g.vnet.same(&v.as_ref())))
}

fn connections_of_gateway(st: &Store, g: &Gateway) -> R<Vec<Connection>> {
    Ok(load_all::<Connection>(st, Some(&g.sub), None)?
        .into_iter()
        .filter(|c| c.gateway.same(&g.as_ref()))
        .collect())
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
    fn paths_parse_whatever_the_casing() {
        let t = crate::arm::parse_path(
            "/SUBSCRIPTIONS/s/resourcegroups/Rg/providers/MICROSOFT.NETWORK/VirtualNetworks/V1/SUBNETS/GatewaySubnet",
        );
        assert_eq!(
            t,
            Some(crate::arm::Target::Cloud(CloudTarget::Subnet(
                CircuitPath {
                    sub: "s".into(),
                    rg: "Rg".into(),
                    name: "V1".into()
                },
                "GatewaySubnet".into()
            )))
        );
        let t = crate::arm::parse_path(
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworkGateways/g/GETLEARNEDROUTES",
        );
        assert!(matches!(
            t,
            Some(crate::arm::Target::Cloud(CloudTarget::GatewayRoutes(
                _,
                GatewayRoutes::Learned
            )))
        ));
        assert!(
            crate::arm::parse_path("/subscriptions/s/providers/Microsoft.Network/connections")
                .is_none()
        );
        assert!(matches!(
            crate::arm::parse_path("/subscriptions/s/providers/Microsoft.Network/virtualnetworks"),
            Some(crate::arm::Target::Cloud(CloudTarget::VirtualNetworks {
                rg: None,
                ..
            }))
        ));
    }

    #[test]
    fn ids_parse_exactly() {
        let (r, rest) = parse_id(
            "/subscriptions/s/resourceGroups/r/providers/microsoft.network/VIRTUALNETWORKS/v/subnets/GatewaySubnet",
            VNETS,
            2,
        )
        .expect("subnet id");
        assert_eq!(
            (r.sub.as_str(), r.rg.as_str(), r.name.as_str()),
            ("s", "r", "v")
        );
        assert_eq!(rest, ["subnets", "GatewaySubnet"]);
        assert!(parse_id("/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/expressRouteCircuits/c/x", CIRCUITS, 0).is_none());
        assert!(parse_id("subscriptions/s/resourceGroups/r/providers/Microsoft.Network/expressRouteCircuits/c", CIRCUITS, 0).is_none());
    }

    #[test]
    fn the_gateway_takes_the_fifth_address() {
        let s = |p: &str| Subnet {
            name: GATEWAY_SUBNET.into(),
            address_prefixes: vec![p.into()],
            etag: String::new(),
        };
        assert_eq!(gateway_address(&s("10.1.255.0/27")), "10.1.255.4");
        assert_eq!(gateway_address(&s("10.1.255.0/30")), "10.1.255.0");
    }
}

// ===== fabric =====

/// The gateway's AS number toward the edges, as on Azure.
pub const GATEWAY_ASN: u32 = 65515;

/// One gateway as the edges see it: its fabric segment, host-facing addresses and the
/// circuits connected to it, each with a slot that places its two edges on the segment.
#[derive(Debug, Clone)]
pub(crate) struct GatewayFabric {
    pub id: String,
    pub vnet_prefixes: Vec<String>,
    pub fabric: api::Fabric,
    /// The gateway's namespace on its host.
    pub namespace: String,
    pub host_addresses: Vec<String>,
    /// Connected circuits: (circuit, routingWeight, primary edge address, secondary).
    pub links: Vec<(Ref, u32, std::net::Ipv4Addr, std::net::Ipv4Addr)>,
}

impl GatewayFabric {
    pub fn connects(&self, c: &Circuit) -> Option<(u32, std::net::Ipv4Addr, std::net::Ipv4Addr)> {
        let r = Ref::of_circuit(c);
        self.links
            .iter()
            .find(|(cr, ..)| cr.same(&r))
            .map(|(_, w, p, s)| (*w, *p, *s))
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

impl Service {
    /// Every gateway with a GatewaySubnet able to hold it, and the circuits connected to it.
    /// Addresses on the segment: the gateway at GatewaySubnet + 4 (Azure's first usable),
    /// then two per connection in creation order (primary, secondary). A connection whose
    /// addresses do not fit in the GatewaySubnet is left out (and logged).
    pub(crate) fn gateway_fabrics(&self) -> R<Vec<GatewayFabric>> {
        self.with_store(|st| gateway_fabrics_in(st))
    }
}

/// [`Service::gateway_fabrics`] on an open store.
fn gateway_fabrics_in(st: &Store) -> R<Vec<GatewayFabric>> {
    let mut out = Vec::new();
    let connections = load_all::<Connection>(st, None, None)?;
    for g in load_all::<Gateway>(st, None, None)? {
        let Some(v) = load_ref::<VirtualNetwork>(st, &g.vnet)? else {
            continue;
        };
        let Some(gw_net) = v
            .subnet(GATEWAY_SUBNET)
            .and_then(|s| first_v4(&s.address_prefixes))
        else {
            continue;
        };
        let base = u32::from(gw_net.network());
        let size = 1u64 << (32 - gw_net.prefix_len());
        if size < 8 {
            continue;
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
        for (slot, conn) in connections
            .iter()
            .filter(|c| c.gateway.same(&g.as_ref()))
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
            links.push((
                conn.circuit.clone(),
                conn.routing_weight,
                at(first),
                at(first + 1),
            ));
        }
        out.push(GatewayFabric {
            id: g.id(),
            vnet_prefixes: v.address_prefixes.clone(),
            fabric,
            namespace: format!("cwg-{hex}"),
            host_addresses,
            links,
        });
    }
    Ok(out)
}
