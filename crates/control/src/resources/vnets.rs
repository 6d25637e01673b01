//! `Microsoft.Network/virtualNetworks`: the cloud side a circuit reaches.
//!
//! Rules: an address space of non-overlapping prefixes; the subnets (stored here, with
//! their rules in [`super::subnets`]) inside it and apart from each other; the region never
//! changes; the network cannot be deleted while a gateway uses its `GatewaySubnet`. For the edges: a connected virtual
//! network's address space is what the edges advertise to the customer and route to the
//! gateway, so a write touches every circuit connected to its gateway.

use std::collections::BTreeMap;

use api::arm::network as net;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::gateways::{self, Gateway};
use super::subnets::{self, SubnetInput};
use super::{Stored, list, load, put, rg, sub};
use crate::arm::id::Ref;
use crate::arm::lro::Operation;
use crate::arm::{ArmError, Body, Outcome, R, Verb, region};
use crate::model::new_etag;
use crate::service::{Call, Route, Service};
use crate::store::Read;
use crate::validate;

pub const KIND: &str = "virtualNetworks";
pub const GATEWAY_SUBNET: &str = "GatewaySubnet";
const SCHEMA: Option<&str> = Some("VirtualNetwork");
const LIST: Option<&str> = Some("VirtualNetworkListResult");
/// The first api-version on which a network PUT without `subnets` keeps the stored ones.
pub const SUBNETS_KEPT_SINCE: &str = "2023-09-01";

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(sub!("/virtualNetworks")).op(
            Verb::Get,
            "List the virtual networks of a subscription",
            None,
            &[(200, LIST)],
            list_vnets,
        ),
        Route::new(rg!("/virtualNetworks")).op(
            Verb::Get,
            "List the virtual networks of a resource group",
            None,
            &[(200, LIST)],
            list_vnets,
        ),
        Route::new(rg!("/virtualNetworks/{virtualNetworkName}"))
            .op(
                Verb::Get,
                "Get a virtual network",
                None,
                &[(200, SCHEMA)],
                get_vnet,
            )
            .op(
                Verb::Put,
                "Create or update a virtual network",
                SCHEMA,
                &[(200, SCHEMA), (201, SCHEMA)],
                put_vnet,
            )
            .op(
                Verb::Patch,
                "Update a virtual network's tags",
                Some("TagsObject"),
                &[(200, SCHEMA)],
                patch_vnet,
            )
            .op(
                Verb::Delete,
                "Delete a virtual network",
                None,
                &[(202, None), (204, None)],
                delete_vnet,
            ),
    ]
}

pub use super::subnets::Subnet;

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

impl Stored for VirtualNetwork {
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
}

impl VirtualNetwork {
    pub fn as_ref(&self) -> Ref {
        Ref::new(&self.sub, &self.rg, &self.name)
    }

    pub fn subnet(&self, name: &str) -> Option<&Subnet> {
        self.subnets
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

pub fn vnet_id(sub: &str, rg: &str, name: &str) -> String {
    Ref::new(sub, rg, name).id(KIND)
}

/// The virtual network a call's path names, if the principal may read it.
fn visible(st: &impl Read, call: &Call) -> R<VirtualNetwork> {
    super::visible(st, call, "virtualNetworkName")
}

// ===== rendering =====

/// A virtual network in ARM's shape (its gateway shows on the GatewaySubnet).
pub fn render(v: &VirtualNetwork, gateway: Option<&Gateway>) -> Body {
    super::to_body(&net::VirtualNetwork {
        id: v.id(),
        name: v.name.clone(),
        kind: "Microsoft.Network/virtualNetworks".into(),
        location: v.location.clone(),
        tags: v.tags.clone(),
        etag: v.etag.clone(),
        properties: net::VirtualNetworkPropertiesFormat {
            address_space: net::AddressSpace {
                address_prefixes: v.address_prefixes.clone(),
            },
            subnets: v
                .subnets
                .iter()
                .map(|s| subnets::dto(v, s, gateway))
                .collect(),
            resource_guid: v.resource_guid.clone(),
            ..Default::default()
        },
        ..Default::default()
    })
}

/// The gateway in a virtual network, if it has one.
pub fn gateway_of(st: &impl Read, v: &VirtualNetwork) -> R<Option<Gateway>> {
    Ok(super::referrers::<Gateway>(st, "vnet", &v.id())?
        .into_iter()
        .next())
}

// ===== validation =====

fn bad(code: &'static str, message: impl Into<String>) -> ArmError {
    ArmError::bad_request(code, message)
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub(super) fn prefix(path: &str, s: &str) -> R<IpNet> {
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

pub(super) fn overlap(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

pub(super) fn str_list<'a>(v: &'a Value, path: &str) -> R<Option<Vec<&'a str>>> {
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
    space: Vec<IpNet>,
    /// `None`: the body leaves the subnets as they are ([`subnets::kept_when_omitted`]).
    subnets: Option<Vec<SubnetInput>>,
}

fn vnet_input(body: &Value, api_version: &str) -> R<VnetInput> {
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
    if subnets::kept_when_omitted(api_version, body) {
        return Ok(VnetInput {
            location,
            tags,
            space,
            subnets: None,
        });
    }
    let list = match validate::field(body, "properties.subnets") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(bad(
                "InvalidRequestFormat",
                "'properties.subnets' must be an array.",
            ));
        }
    };
    let mut subnets = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let at = format!("properties.subnets[{i}].");
        let name = validate::req_str(s, "name")
            .map_err(|_| bad("InvalidRequestFormat", format!("'{at}name' is required.")))?;
        subnets.push(subnets::parse(s, name, &at)?);
    }
    subnets::check_layout(&space, &subnets)?;
    Ok(VnetInput {
        location,
        tags,
        space,
        subnets: Some(subnets),
    })
}

// ===== handlers =====

fn list_vnets(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    if !call.owns(p.sub()) {
        return Ok(svc.page_rows(call, Vec::new()));
    }
    let rg = p.has("resourceGroupName").then(|| p.rg());
    let rows = svc.read(|st| -> R<Vec<(i64, Body)>> {
        list::<VirtualNetwork>(st, Some(p.sub()), rg, call.page.after, call.page.size + 1)?
            .into_iter()
            .map(|(pos, v)| Ok((pos, render(&v, gateway_of(st, &v)?.as_ref()))))
            .collect()
    })?;
    Ok(svc.page_rows(call, rows))
}

fn get_vnet(svc: &Service, call: &Call) -> R<Outcome> {
    svc.read(|st| {
        let v = visible(st, call)?;
        Ok(Outcome::Ok(render(&v, gateway_of(st, &v)?.as_ref())))
    })
}

fn put_vnet(svc: &Service, call: &Call) -> R<Outcome> {
    let p = &call.params;
    let (sub, rg, name) = (p.sub(), p.rg(), p.get("virtualNetworkName"));
    call.writable(sub)?;
    validate::resource_name(KIND, name)?;
    validate::resource_name("resourceGroups", rg)?;
    let input = vnet_input(call.body()?, &call.api_version)?;
    region::validate(&input.location, "location")?;
    let id = vnet_id(sub, rg, name);
    let (v, gateway, created, op) = svc.write(|tx| {
        let existing: Option<VirtualNetwork> = load(tx, &id)?;
        call.pre.check(existing.as_ref().map(|v| v.etag.as_str()))?;
        let gateway = match &existing {
            Some(old) => gateway_of(tx, old)?,
            None => None,
        };
        if let Some(old) = &existing
            && !region::same(&old.location, &input.location)
        {
            return Err(bad(
                "CannotChangeLocation",
                format!(
                    "The virtual network's location is '{}' and cannot change.",
                    old.location
                ),
            ));
        }
        let old_subnets = existing.as_ref().map_or(&[][..], |o| &o.subnets[..]);
        let subnets: Vec<Subnet> = match &input.subnets {
            Some(given) => given
                .iter()
                .map(|s| {
                    let old = old_subnets.iter().find(|o| eq(&o.name, &s.name));
                    s.clone().into_subnet(old)
                })
                .collect(),
            None => {
                // Kept as stored: they must still fit the (possibly new) address space.
                let kept: Vec<SubnetInput> = old_subnets.iter().map(subnets::as_input).collect();
                subnets::check_layout(&input.space, &kept)?;
                old_subnets.to_vec()
            }
        };
        // The gateway's subnet must stay as it is while the gateway exists.
        if let Some(g) = &gateway {
            let find = |l: &[Subnet]| l.iter().find(|s| eq(&s.name, GATEWAY_SUBNET)).cloned();
            subnets::guard_gateway_subnet(g, find(old_subnets).as_ref(), find(&subnets).as_ref())?;
        }
        let created = existing.is_none();
        let v = VirtualNetwork {
            sub: sub.to_owned(),
            rg: rg.to_owned(),
            name: name.to_owned(),
            location: existing
                .as_ref()
                .map_or_else(|| input.location.clone(), |o| o.location.clone()),
            tags: input.tags.clone(),
            address_prefixes: input.space.iter().map(ToString::to_string).collect(),
            subnets,
            resource_guid: existing.as_ref().map_or_else(
                || uuid::Uuid::new_v4().to_string(),
                |o| o.resource_guid.clone(),
            ),
            etag: new_etag(),
        };
        put(tx, &v)?;
        if let Some(g) = &gateway {
            gateways::touch_connected(tx, g)?;
        }
        let op = Operation::succeeded(sub, Some(v.id()), None);
        tx.put_operation(&op)?;
        Ok((v, gateway, created, op))
    })?;
    Ok(Outcome::Written {
        created,
        body: render(&v, gateway.as_ref()),
        lro: Some(svc.lro(call, &op, &v.location)),
    })
}

fn patch_vnet(svc: &Service, call: &Call) -> R<Outcome> {
    call.writable(call.params.sub())?;
    let tags = validate::tags(call.body()?)?;
    let (v, g) = svc.write(|tx| {
        let mut v = visible(tx, call)?;
        call.pre.check(Some(&v.etag))?;
        v.tags = tags;
        v.etag = new_etag();
        put(tx, &v)?;
        let g = gateway_of(tx, &v)?;
        Ok((v, g))
    })?;
    Ok(Outcome::Ok(render(&v, g.as_ref())))
}

fn delete_vnet(svc: &Service, call: &Call) -> R<Outcome> {
    if !call.owns(call.params.sub()) {
        return Ok(Outcome::NoContent);
    }
    let done = svc.write(|tx| {
        let Ok(v) = visible(tx, call) else {
            return Ok(None);
        };
        call.pre.check(Some(&v.etag))?;
        if let Some(g) = gateway_of(tx, &v)? {
            return Err(bad(
                "InUseSubnetCannotBeDeleted",
                format!(
                    "Subnet {GATEWAY_SUBNET} of virtual network '{}' is in use by gateway '{}' and cannot be deleted; delete the gateway (and its connections) first.",
                    v.name,
                    g.id()
                ),
            ));
        }
        tx.delete(&v.id())?;
        let op = Operation::succeeded(&v.sub, None, None);
        tx.put_operation(&op)?;
        Ok(Some((op, v.location)))
    })?;
    Ok(match done {
        Some((op, location)) => Outcome::Accepted(svc.lro(call, &op, &location)),
        None => Outcome::NoContent,
    })
}
