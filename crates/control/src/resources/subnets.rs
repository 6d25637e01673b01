//! `virtualNetworks/{v}/subnets/{s}`: a virtual network's subnets as resources of their own
//! (what `az network vnet subnet create` and Terraform's `azurerm_subnet` write).
//!
//! Subnets are stored inside their virtual network's record, so every subnet write is one
//! transaction on the parent: the network's rules hold for the whole set at once.
//!
//! Rules (the same whether a subnet comes inline in a network PUT or on its own): a name
//! unique in the network; prefixes in CIDR form inside the network's address space and
//! apart from every other subnet; the `GatewaySubnet` cannot be removed
//! (`InUseSubnetCannotBeDeleted`) or have its prefixes changed (`InUseSubnetCannotBeUpdated`)
//! while a gateway uses it. Delegations, service endpoints, NSGs, route tables and NAT
//! gateways are not served: a body that asks for one is refused rather than half-applied.
//! For the edges: the gateway's fabric and host addresses come from the subnets, so a write
//! touches the gateway and its circuits.

use api::arm::network as net;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::gateways::{self, Gateway};
use super::vnets::{self, GATEWAY_SUBNET, VirtualNetwork, gateway_of, overlap, prefix, str_list};
use super::{Stored, put, rg};
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb};
use crate::model::new_etag;
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate;

pub const TYPE: &str = "Microsoft.Network/virtualNetworks/subnets";
const SCHEMA: Option<&str> = Some("Subnet");

/// Azure's values and defaults for the two network-policy switches.
const ENDPOINT_POLICIES: [&str; 4] = [
    "Disabled",
    "Enabled",
    "NetworkSecurityGroupEnabled",
    "RouteTableEnabled",
];
const LINK_SERVICE_POLICIES: [&str; 2] = ["Enabled", "Disabled"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(rg!("/virtualNetworks/{virtualNetworkName}/subnets")).op(
            Verb::Get,
            "List a virtual network's subnets",
            None,
            &[(200, Some("SubnetListResult"))],
            list_subnets,
        ),
        Route::new(rg!(
            "/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}"
        ))
        .op(
            Verb::Get,
            "Get a subnet",
            None,
            &[(200, SCHEMA)],
            get_subnet,
        )
        .op(
            Verb::Put,
            "Create or update a subnet",
            SCHEMA,
            &[(200, SCHEMA), (201, SCHEMA)],
            put_subnet,
        )
        .op(
            Verb::Delete,
            "Delete a subnet",
            None,
            &[(200, None), (202, None), (204, None)],
            delete_subnet,
        ),
    ]
}

/// A subnet as stored inside its virtual network's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub name: String,
    pub address_prefixes: Vec<String>,
    pub etag: String,
    /// Given as `addressPrefixes` (answered the same way), rather than `addressPrefix`.
    #[serde(default)]
    pub listed: bool,
    #[serde(default)]
    pub private_endpoint_network_policies: Option<String>,
    #[serde(default)]
    pub private_link_service_network_policies: Option<String>,
}

impl Subnet {
    /// The same subnet whatever its etag.
    fn same_as(&self, o: &Subnet) -> bool {
        Subnet {
            etag: String::new(),
            ..self.clone()
        } == Subnet {
            etag: String::new(),
            ..o.clone()
        }
    }
}

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

// ===== validation =====

/// One subnet of a request, checked on its own (its place among the others is
/// [`check_layout`]'s); `at` names it in errors (`properties.subnets[1]` or the body).
#[derive(Debug, Clone)]
pub struct SubnetInput {
    pub name: String,
    pub nets: Vec<IpNet>,
    pub listed: bool,
    pub private_endpoint_network_policies: Option<String>,
    pub private_link_service_network_policies: Option<String>,
}

impl SubnetInput {
    /// The stored form, keeping `old`'s etag when nothing changed.
    pub fn into_subnet(self, old: Option<&Subnet>) -> Subnet {
        let mut s = Subnet {
            name: self.name,
            address_prefixes: self.nets.iter().map(ToString::to_string).collect(),
            etag: String::new(),
            listed: self.listed,
            private_endpoint_network_policies: self.private_endpoint_network_policies,
            private_link_service_network_policies: self.private_link_service_network_policies,
        };
        s.etag = match old {
            Some(o) if o.same_as(&s) && o.name == s.name => o.etag.clone(),
            _ => new_etag(),
        };
        s
    }
}

/// Parses one subnet body (`{"properties": {...}}`) named `name`.
pub fn parse(body: &Value, name: &str, at: &str) -> R<SubnetInput> {
    validate::resource_name("subnets", name)?;
    let p = |k: &str| format!("{at}properties.{k}");
    let (given, listed): (Vec<&str>, bool) = match (
        validate::opt_str(body, "properties.addressPrefix")?,
        str_list(body, "properties.addressPrefixes")?,
    ) {
        (Some(one), _) => (vec![one], false),
        (None, Some(many)) if !many.is_empty() => (many, true),
        _ => {
            return Err(bad(
                "InvalidRequestFormat",
                format!(
                    "'{}' is required (subnet '{name}'): a prefix inside the virtual network's address space, e.g. 10.1.0.0/24.",
                    p("addressPrefix")
                ),
            ));
        }
    };
    let mut nets: Vec<IpNet> = Vec::new();
    for g in given {
        let net = prefix(&p("addressPrefix"), g)?;
        if let Some(o) = nets.iter().find(|o| overlap(o, &net)) {
            return Err(bad(
                "NetcfgSubnetRangesOverlap",
                format!("Prefixes {o} and {net} of subnet '{name}' overlap."),
            ));
        }
        nets.push(net);
    }
    for (key, what) in [
        ("delegations", "Subnet delegations"),
        ("serviceEndpoints", "Service endpoints"),
        ("serviceEndpointPolicies", "Service endpoint policies"),
        ("ipAllocations", "IP allocations"),
    ] {
        if let Some(list) = str_or_list(body, &format!("properties.{key}"))?
            && list > 0
        {
            return Err(bad(
                "SubnetPropertyNotSupported",
                format!(
                    "'{}': {what} are not offered by this deployment; leave the list empty.",
                    p(key)
                ),
            ));
        }
    }
    for (key, what) in [
        ("networkSecurityGroup", "Network security groups"),
        ("routeTable", "Route tables"),
        ("natGateway", "NAT gateways"),
    ] {
        if validate::opt_str(body, &format!("properties.{key}.id"))?.is_some() {
            return Err(bad(
                "InvalidResourceReference",
                format!(
                    "'{}': {what} are not served by this deployment, so a subnet cannot reference one.",
                    p(&format!("{key}.id"))
                ),
            ));
        }
    }
    let policy = |key: &str, allowed: &[&'static str]| -> R<Option<String>> {
        match validate::opt_str(body, &format!("properties.{key}"))? {
            None => Ok(None),
            Some(v) => validate::canonical(v, allowed)
                .map(|c| Some(c.to_owned()))
                .ok_or_else(|| {
                    bad(
                        "InvalidRequestFormat",
                        format!("'{}' = '{v}': use one of {}.", p(key), allowed.join(", ")),
                    )
                }),
        }
    };
    Ok(SubnetInput {
        name: name.to_owned(),
        nets,
        listed,
        private_endpoint_network_policies: policy(
            "privateEndpointNetworkPolicies",
            &ENDPOINT_POLICIES,
        )?,
        private_link_service_network_policies: policy(
            "privateLinkServiceNetworkPolicies",
            &LINK_SERVICE_POLICIES,
        )?,
    })
}

/// The length of an array at `path` (absent or `null`: none).
fn str_or_list(body: &Value, path: &str) -> R<Option<usize>> {
    match validate::field(body, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.len())),
        Some(_) => Err(bad(
            "InvalidRequestFormat",
            format!("'{path}' must be an array."),
        )),
    }
}

/// A network's subnets together: names unique, each inside `space`, apart from each other.
pub fn check_layout(space: &[IpNet], subnets: &[SubnetInput]) -> R<()> {
    for (i, s) in subnets.iter().enumerate() {
        let earlier = &subnets[..i];
        if earlier.iter().any(|o| eq(&o.name, &s.name)) {
            return Err(bad(
                "DuplicateResourceName",
                format!("Subnet '{}' is listed twice.", s.name),
            ));
        }
        for net in &s.nets {
            if !space.iter().any(|a| a.contains(net)) {
                return Err(bad(
                    "NetcfgSubnetRangeOutsideVnet",
                    format!(
                        "Subnet '{}' ({net}) is not within the virtual network's address space ({}).",
                        s.name,
                        space
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            for other in earlier {
                if let Some(o) = other.nets.iter().find(|o| overlap(o, net)) {
                    return Err(bad(
                        "NetcfgSubnetRangesOverlap",
                        format!(
                            "Subnet '{}' ({net}) overlaps subnet '{}' ({o}).",
                            s.name, other.name
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A stored subnet as a request would give it (for re-checking a whole network's layout).
pub fn as_input(s: &Subnet) -> SubnetInput {
    SubnetInput {
        name: s.name.clone(),
        nets: s
            .address_prefixes
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect(),
        listed: s.listed,
        private_endpoint_network_policies: s.private_endpoint_network_policies.clone(),
        private_link_service_network_policies: s.private_link_service_network_policies.clone(),
    }
}

/// The gateway's IP configuration id, which is what "uses" its subnet.
fn ip_configuration_id(g: &Gateway) -> String {
    format!("{}/ipConfigurations/{}", g.id(), g.ip_config_name)
}

/// The rule on the `GatewaySubnet` while gateway `g` uses it: it stays, with its prefixes.
/// `old` is the stored subnet, `new` what the write leaves (None: removed).
pub fn guard_gateway_subnet(g: &Gateway, old: Option<&Subnet>, new: Option<&Subnet>) -> R<()> {
    match new {
        None => Err(bad(
            "InUseSubnetCannotBeDeleted",
            format!(
                "Subnet {GATEWAY_SUBNET} is in use by {} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet (the gateway and its connections) first.",
                ip_configuration_id(g)
            ),
        )),
        Some(n) if old.map(|o| &o.address_prefixes) != Some(&n.address_prefixes) => Err(bad(
            "InUseSubnetCannotBeUpdated",
            format!(
                "Subnet {GATEWAY_SUBNET} is in use by {} and its address prefix cannot change; delete the gateway first.",
                ip_configuration_id(g)
            ),
        )),
        Some(_) => Ok(()),
    }
}

// ===== rendering =====

/// A subnet in ARM's shape; the gateway shows in the `GatewaySubnet`'s ipConfigurations.
pub fn dto(v: &VirtualNetwork, s: &Subnet, gateway: Option<&Gateway>) -> net::Subnet {
    let on_gateway = gateway.filter(|_| eq(&s.name, GATEWAY_SUBNET));
    let defaults = net::SubnetPropertiesFormat::default();
    net::Subnet {
        id: format!("{}/subnets/{}", v.id(), s.name),
        name: s.name.clone(),
        kind: TYPE.into(),
        etag: s.etag.clone(),
        properties: net::SubnetPropertiesFormat {
            address_prefix: (!s.listed)
                .then(|| s.address_prefixes.first().cloned())
                .flatten(),
            address_prefixes: s.listed.then(|| s.address_prefixes.clone()),
            ip_configurations: on_gateway.map(|g| {
                vec![api::arm::SubResource {
                    id: ip_configuration_id(g),
                }]
            }),
            service_endpoints: Some(Vec::new()),
            private_endpoint_network_policies: s
                .private_endpoint_network_policies
                .clone()
                .unwrap_or(defaults.private_endpoint_network_policies.clone()),
            private_link_service_network_policies: s
                .private_link_service_network_policies
                .clone()
                .unwrap_or(defaults.private_link_service_network_policies.clone()),
            ..defaults
        },
    }
}

fn render(v: &VirtualNetwork, s: &Subnet, gateway: Option<&Gateway>) -> Body {
    super::to_body(&dto(v, s, gateway))
}

// ===== handlers =====

fn visible_vnet(st: &impl Read, call: &Call) -> R<VirtualNetwork> {
    super::visible(st, call, "virtualNetworkName")
}

fn missing(name: &str) -> ArmError {
    ArmError::not_found(TYPE, name)
}

fn list_subnets(svc: &Service, call: &Call) -> R<Outcome> {
    let items = svc.read(|st| -> R<Vec<Body>> {
        let v = visible_vnet(st, call)?;
        let g = gateway_of(st, &v)?;
        Ok(v.subnets
            .iter()
            .map(|s| render(&v, s, g.as_ref()))
            .collect())
    })?;
    Ok(svc.page_of(call, items))
}

fn get_subnet(svc: &Service, call: &Call) -> R<Outcome> {
    svc.read(|st| {
        let v = visible_vnet(st, call)?;
        let name = call.params.get("subnetName");
        let s = v.subnet(name).ok_or_else(|| missing(name))?;
        let g = gateway_of(st, &v)?;
        Ok(Outcome::Ok(render(&v, s, g.as_ref())))
    })
}

fn put_subnet(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    call.writable(p.sub())?;
    let name = p.get("subnetName");
    let input = parse(call.body()?, name, "")?;
    let (v, s, g, created, op) = svc.write(|tx| {
        let mut v = visible_vnet(tx, call)?;
        let old = v.subnet(name).cloned();
        call.pre.check(old.as_ref().map(|s| s.etag.as_str()))?;
        // A new subnet takes the name as the path gives it; an update keeps the stored one.
        let input = SubnetInput {
            name: old
                .as_ref()
                .map_or_else(|| name.to_owned(), |o| o.name.clone()),
            ..input.clone()
        };
        let mut layout: Vec<SubnetInput> = v
            .subnets
            .iter()
            .filter(|o| !eq(&o.name, name))
            .map(as_input)
            .collect();
        layout.push(input.clone());
        let space: Vec<IpNet> = v
            .address_prefixes
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        check_layout(&space, &layout)?;
        let s = input.into_subnet(old.as_ref());
        let g = gateway_of(tx, &v)?;
        if let Some(g) = &g
            && eq(name, GATEWAY_SUBNET)
        {
            guard_gateway_subnet(g, old.as_ref(), Some(&s))?;
        }
        match v.subnets.iter_mut().find(|o| eq(&o.name, name)) {
            Some(slot) => *slot = s.clone(),
            None => v.subnets.push(s.clone()),
        }
        v.etag = new_etag();
        put(tx, &v)?;
        if let Some(g) = &g {
            gateways::touch_connected(tx, g)?;
        }
        let op = Operation::succeeded(&v.sub, Some(format!("{}/subnets/{}", v.id(), s.name)), None);
        tx.put_operation(&op)?;
        Ok((v, s, g, old.is_none(), op))
    })?;
    Ok(Outcome::Written {
        created,
        body: render(&v, &s, g.as_ref()),
        lro: Some(svc.lro(call, &op, &v.location)),
    })
}

fn delete_subnet(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let name = call.params.get("subnetName");
    let done = svc.write(|tx| {
        let Ok(mut v) = visible_vnet(tx, call) else {
            return Ok(None);
        };
        let Some(old) = v.subnet(name).cloned() else {
            return Ok(None);
        };
        call.pre.check(Some(&old.etag))?;
        let g = gateway_of(tx, &v)?;
        if let Some(g) = &g
            && eq(name, GATEWAY_SUBNET)
        {
            guard_gateway_subnet(g, Some(&old), None)?;
        }
        v.subnets.retain(|s| !eq(&s.name, name));
        v.etag = new_etag();
        put(tx, &v)?;
        if let Some(g) = &g {
            gateways::touch_connected(tx, g)?;
        }
        let op = Operation::succeeded(&v.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, v.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}

/// Where the subnets of a network PUT come from: the body's list, or, when the body leaves
/// `subnets` out on api-version 2023-09-01 or later, the stored ones (Azure's "update a
/// virtual network without its subnets"; older versions and `null` or `[]` replace them).
pub fn kept_when_omitted(api_version: &str, body: &Value) -> bool {
    let omitted = body
        .get("properties")
        .and_then(Value::as_object)
        .is_none_or(|p| !p.contains_key("subnets"));
    omitted && api_version >= vnets::SUBNETS_KEPT_SINCE
}
