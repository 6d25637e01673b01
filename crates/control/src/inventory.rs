//! The operator's inventory: each peering location's edge pair and each edge's ports.
//!
//! Loaded from `causeway serve --inventory FILE` (TOML), replaced through the admin API
//! (`PUT /admin/v1/inventory`, persisted in the store), or the built-in default: the `Lab`
//! location whose two edges (`lab-edge-1`, `lab-edge-2`) have virtual ports — every circuit
//! provisioned there gets a veth cross-connect per link, its customer end left in a network
//! namespace where the user runs their own router.
//!
//! ```toml
//! [[location]]
//! name = "Amsterdam"
//! [location.primary]
//! name = "ams-edge-1"
//! router_id = "192.0.2.11"
//! ports = [{ ifname = "eth1", encapsulation = "qinq", owner = "Equinix" }]
//! [location.secondary]
//! name = "ams-edge-2"
//! router_id = "192.0.2.12"
//! ports = [{ ifname = "eth1", encapsulation = "qinq", owner = "Equinix" }]
//! ```

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(rename = "location", default)]
    pub locations: Vec<LocationEdges>,
    /// The edge that hosts every virtual network gateway (their routing domains and
    /// namespaces); without one, gateways exist in the API only.
    #[serde(default)]
    pub gateway: Option<GatewayHost>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayHost {
    pub name: String,
    /// The gateway host's VXLAN tunnel endpoint.
    #[serde(default)]
    pub fabric: Option<api::FabricEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationEdges {
    /// A peering location of the catalogue.
    pub name: String,
    pub primary: EdgeDef,
    pub secondary: EdgeDef,
    /// ExpressRoute Direct at this location: the facility and the port speeds on offer
    /// (`expressRoutePortsLocations`); absent where Direct is not sold.
    #[serde(default)]
    pub direct: Option<DirectOffer>,
}

/// Where and at what speeds a location sells ExpressRoute Direct port pairs.
///
/// ```toml
/// [location.direct]
/// address = "Science Park 610, 1098 XH Amsterdam"
/// contact = "noc@example.net"
/// bandwidths_gbps = [10, 100]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectOffer {
    pub address: String,
    pub contact: String,
    pub bandwidths_gbps: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdgeDef {
    pub name: String,
    pub router_id: Ipv4Addr,
    /// Virtual lab ports: a veth cross-connect per circuit link.
    #[serde(default)]
    pub lab: bool,
    #[serde(default)]
    pub ports: Vec<PortDef>,
    /// The edge's VXLAN tunnel endpoint toward virtual network gateways on other hosts.
    #[serde(default)]
    pub fabric: Option<api::FabricEndpoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortDef {
    pub ifname: String,
    /// `untagged` (one circuit per port), `dot1q` (C-tag = the peering's vlanId) or `qinq`
    /// (an S-tag per circuit, C-tag per peering).
    pub encapsulation: String,
    /// The provider name, or `direct:<subscription>` for an ExpressRoute Direct customer.
    pub owner: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Parse(String, toml::de::Error),
    #[error("{0}")]
    Invalid(String),
}

/// Where an edge stands: its location, role and definition.
#[derive(Debug, Clone, Copy)]
pub struct EdgePlace<'a> {
    pub location: &'a LocationEdges,
    pub role: api::Role,
    pub edge: &'a EdgeDef,
}

impl Default for Inventory {
    fn default() -> Self {
        let edge = |name: &str, id: [u8; 4]| EdgeDef {
            name: name.into(),
            router_id: Ipv4Addr::from(id),
            lab: true,
            ports: Vec::new(),
            fabric: None,
        };
        Inventory {
            locations: vec![LocationEdges {
                name: "Lab".into(),
                primary: edge("lab-edge-1", [192, 0, 2, 1]),
                secondary: edge("lab-edge-2", [192, 0, 2, 2]),
                direct: Some(DirectOffer {
                    address: "Causeway lab, this host".into(),
                    contact: "operator@localhost".into(),
                    bandwidths_gbps: vec![10, 100],
                }),
            }],
            gateway: Some(GatewayHost {
                name: "lab-gateway".into(),
                fabric: None,
            }),
        }
    }
}

const ENCAPSULATIONS: [&str; 3] = ["untagged", "dot1q", "qinq"];

/// An edge's name becomes part of network namespace and record names.
fn valid_edge_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 20
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl Inventory {
    pub fn load(path: &std::path::Path) -> Result<Inventory, InventoryError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InventoryError::Read(p.clone(), e))?;
        let inv: Inventory = toml::from_str(&text).map_err(|e| InventoryError::Parse(p, e))?;
        Ok(inv)
    }

    /// Checks names, roles and ports against the catalogue's locations.
    pub fn validate(&self, catalog: &crate::catalog::Catalog) -> Result<(), InventoryError> {
        let bad = |m: String| Err(InventoryError::Invalid(m));
        let mut edges = std::collections::HashSet::new();
        let mut locations = std::collections::HashSet::new();
        for l in &self.locations {
            if catalog.location(&l.name).is_none() {
                return bad(format!(
                    "location {:?} is not a peering location of the catalogue",
                    l.name
                ));
            }
            if let Some(d) = &l.direct
                && (d.bandwidths_gbps.is_empty()
                    || d.bandwidths_gbps.iter().any(|b| ![10, 100].contains(b)))
            {
                return bad(format!(
                    "location {:?}: Direct ports are 10 or 100 Gbps (bandwidths_gbps = [10, 100])",
                    l.name
                ));
            }
            if !locations.insert(l.name.to_ascii_lowercase()) {
                return bad(format!("location {:?} is listed twice", l.name));
            }
            for e in [&l.primary, &l.secondary] {
                if !valid_edge_name(&e.name) {
                    return bad(format!(
                        "edge name {:?}: use 1-20 letters, digits or '-' (it names network namespaces)",
                        e.name
                    ));
                }
                if !edges.insert(e.name.clone()) {
                    return bad(format!(
                        "edge {:?} appears twice: an edge serves one role at one location",
                        e.name
                    ));
                }
                if !e.lab && e.ports.is_empty() {
                    return bad(format!(
                        "edge {:?} has no ports and is not a lab edge",
                        e.name
                    ));
                }
                for p in &e.ports {
                    if !ENCAPSULATIONS.contains(&p.encapsulation.as_str()) {
                        return bad(format!(
                            "edge {:?} port {:?}: encapsulation must be untagged, dot1q or qinq",
                            e.name, p.ifname
                        ));
                    }
                    if p.ifname.is_empty() || p.ifname.len() > 15 {
                        return bad(format!(
                            "edge {:?}: interface name {:?} must be 1-15 characters",
                            e.name, p.ifname
                        ));
                    }
                }
            }
        }
        if let Some(g) = &self.gateway
            && !valid_edge_name(&g.name)
        {
            return bad(format!(
                "gateway host name {:?}: use 1-20 letters, digits or '-'",
                g.name
            ));
        }
        Ok(())
    }

    pub fn location(&self, name: &str) -> Option<&LocationEdges> {
        self.locations
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
    }

    pub fn place(&self, edge: &str) -> Option<EdgePlace<'_>> {
        self.locations.iter().find_map(|l| {
            if l.primary.name == edge {
                Some(EdgePlace {
                    location: l,
                    role: api::Role::Primary,
                    edge: &l.primary,
                })
            } else if l.secondary.name == edge {
                Some(EdgePlace {
                    location: l,
                    role: api::Role::Secondary,
                    edge: &l.secondary,
                })
            } else {
                None
            }
        })
    }

    /// Whether `edge` hosts the virtual network gateways.
    pub fn is_gateway_host(&self, edge: &str) -> bool {
        self.gateway.as_ref().is_some_and(|g| g.name == edge)
    }

    /// Whether `edge` is an edge of this inventory (at a location, or the gateway host).
    pub fn knows(&self, edge: &str) -> bool {
        self.place(edge).is_some() || self.is_gateway_host(edge)
    }

    /// Every edge name.
    pub fn edges(&self) -> impl Iterator<Item = &EdgeDef> {
        self.locations
            .iter()
            .flat_map(|l| [&l.primary, &l.secondary])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn the_built_in_inventory_is_valid_and_places_both_lab_edges() {
        let inv = Inventory::default();
        inv.validate(&Catalog::default()).expect("valid");
        assert_eq!(
            inv.place("lab-edge-1").map(|p| p.role),
            Some(api::Role::Primary)
        );
        assert_eq!(
            inv.place("lab-edge-2").map(|p| p.role),
            Some(api::Role::Secondary)
        );
        assert!(inv.place("nope").is_none());
    }

    #[test]
    fn an_inventory_naming_an_unknown_location_or_encapsulation_is_refused() {
        let mut inv = Inventory::default();
        inv.locations[0].name = "Atlantis".into();
        let e = inv
            .validate(&Catalog::default())
            .expect_err("unknown location");
        assert!(e.to_string().contains("Atlantis"), "{e}");
        let mut inv = Inventory::default();
        inv.locations[0].primary.lab = false;
        inv.locations[0].primary.ports = vec![PortDef {
            ifname: "eth1".into(),
            encapsulation: "vxlan".into(),
            owner: "Causeway Lab".into(),
        }];
        let e = inv
            .validate(&Catalog::default())
            .expect_err("bad encapsulation");
        assert!(e.to_string().contains("untagged, dot1q or qinq"), "{e}");
    }
}
