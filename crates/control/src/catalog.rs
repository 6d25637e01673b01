//! The operator's catalogue: connectivity providers, the peering locations they serve and
//! the bandwidths they offer (`expressRouteServiceProviders`).
//!
//! Loaded from a TOML file given to `causeway serve --catalog`, or the built-in default: a lab
//! provider at the built-in `Lab` location plus two exchange-style providers.
//!
//! ```toml
//! [[provider]]
//! name = "Causeway Lab"
//! subscription = "00000000-0000-0000-0000-00000000c0de"   # where its cross-connections live
//! peering_locations = ["Lab"]
//! bandwidths_mbps = [50, 100, 200, 500, 1000, 2000, 5000, 10000]
//!
//! [[location]]
//! name = "Lab"
//! geo = "Europe"                # ExpressRoute geopolitical region: Standard reaches its regions
//! local = true                  # the metro has an Azure region: the Local SKU is sold here
//! local_regions = ["westeurope"] # what a Local circuit reaches (needed when `local`)
//! ```
//!
//! `geo` is one of ExpressRoute's geopolitical regions (`crate::arm::region::AREAS`: North
//! America, South America, Europe, Asia, Japan, Korea, India, Australia, Australia
//! Government, Middle East, Africa, and the sovereign US Government and China); the rules
//! that follow from it are in `crate::reach`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub name: String,
    pub subscription: String,
    pub peering_locations: Vec<String>,
    pub bandwidths_mbps: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub name: String,
    pub geo: String,
    #[serde(default)]
    pub local: bool,
    /// The region(s) of the location's metro: what a Local circuit reaches.
    #[serde(default)]
    pub local_regions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "provider")]
    pub providers: Vec<Provider>,
    #[serde(rename = "location")]
    pub locations: Vec<Location>,
    /// The services Microsoft peering reaches (`bgpServiceCommunities`), each tagged by a
    /// BGP community a route filter may allow; a catalogue file without `[[service]]`
    /// tables gets the lab's defaults.
    #[serde(rename = "service", default = "default_services")]
    pub services: Vec<ServiceCommunity>,
}

/// A service reachable over Microsoft peering: its community and the prefixes it tags.
///
/// ```toml
/// [[service]]
/// name = "ExchangeOnline"
/// community_name = "Exchange"
/// community = "12076:5010"
/// prefixes = ["40.92.0.0/15", "52.96.0.0/14"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCommunity {
    pub name: String,
    pub community_name: String,
    pub community: String,
    #[serde(default = "global")]
    pub region: String,
    #[serde(default)]
    pub group: String,
    pub prefixes: Vec<String>,
}

fn global() -> String {
    "Global".into()
}

/// A few services with Microsoft's published communities (reference §3.10) and prefixes
/// from their published ranges: enough for a lab to filter by.
pub fn default_services() -> Vec<ServiceCommunity> {
    let s = |name: &str, cname: &str, community: &str, group: &str, prefixes: &[&str]| {
        ServiceCommunity {
            name: name.into(),
            community_name: cname.into(),
            community: community.into(),
            region: global(),
            group: group.into(),
            prefixes: prefixes.iter().map(|&p| p.into()).collect(),
        }
    };
    vec![
        s(
            "ExchangeOnline",
            "Exchange",
            "12076:5010",
            "O365",
            &["40.92.0.0/15", "52.96.0.0/14"],
        ),
        s(
            "SharePointOnline",
            "SharePoint",
            "12076:5020",
            "O365",
            &["13.107.136.0/22", "40.108.128.0/17"],
        ),
        s(
            "SkypeForBusiness",
            "Skype For Business",
            "12076:5030",
            "O365",
            &["13.107.64.0/18", "52.112.0.0/14"],
        ),
        s(
            "AzureActiveDirectory",
            "Azure Active Directory",
            "12076:5060",
            "",
            &["20.190.128.0/18", "40.126.0.0/18"],
        ),
    ]
}

/// Parses `ASN:value` (each part 0–65535), the form route filter rules and the service
/// catalogue use.
pub fn parse_community(s: &str) -> Option<(u16, u16)> {
    let (a, v) = s.trim().split_once(':')?;
    Some((a.parse().ok()?, v.parse().ok()?))
}

const STANDARD_BANDWIDTHS: [u32; 8] = [50, 100, 200, 500, 1000, 2000, 5000, 10000];

impl Default for Catalog {
    fn default() -> Self {
        let loc = |name: &str, geo: &str, local: &[&str]| Location {
            name: name.into(),
            geo: geo.into(),
            local: !local.is_empty(),
            local_regions: local.iter().map(|&r| r.into()).collect(),
        };
        Catalog {
            providers: vec![
                Provider {
                    name: "Causeway Lab".into(),
                    subscription: "00000000-0000-0000-0000-00000000c0de".into(),
                    peering_locations: vec!["Lab".into()],
                    bandwidths_mbps: STANDARD_BANDWIDTHS.to_vec(),
                },
                Provider {
                    name: "Equinix".into(),
                    subscription: "00000000-0000-0000-0000-0000000e0001".into(),
                    peering_locations: vec![
                        "Amsterdam".into(),
                        "London".into(),
                        "Silicon Valley".into(),
                        "Washington DC".into(),
                    ],
                    bandwidths_mbps: STANDARD_BANDWIDTHS.to_vec(),
                },
                Provider {
                    name: "Megaport".into(),
                    subscription: "00000000-0000-0000-0000-0000000e0002".into(),
                    peering_locations: vec!["Amsterdam".into(), "Sydney".into()],
                    bandwidths_mbps: vec![50, 100, 200, 500, 1000, 2000, 5000, 10000],
                },
            ],
            locations: vec![
                // The lab sits in Europe with West Europe as its metro's region.
                loc("Lab", "Europe", &["westeurope"]),
                loc("Amsterdam", "Europe", &["westeurope"]),
                loc("London", "Europe", &["uksouth"]),
                loc("Silicon Valley", "North America", &["westus"]),
                loc("Washington DC", "North America", &["eastus", "eastus2"]),
                loc("Sydney", "Australia", &["australiaeast"]),
            ],
            services: default_services(),
        }
    }
}

/// Why a catalogue file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Parse(String, toml::de::Error),
    #[error("{0}")]
    Invalid(String),
}

impl Catalog {
    pub fn load(path: &std::path::Path) -> Result<Catalog, CatalogError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError::Read(p.clone(), e))?;
        let c: Catalog = toml::from_str(&text).map_err(|e| CatalogError::Parse(p, e))?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), CatalogError> {
        for svc in &self.services {
            if parse_community(&svc.community).is_none() {
                return Err(CatalogError::Invalid(format!(
                    "service {:?}: community {:?} is not ASN:value",
                    svc.name, svc.community
                )));
            }
            if let Some(p) = svc
                .prefixes
                .iter()
                .find(|p| p.parse::<ipnet::IpNet>().is_err())
            {
                return Err(CatalogError::Invalid(format!(
                    "service {:?}: prefix {p:?} is not an address prefix",
                    svc.name
                )));
            }
        }
        for l in &self.locations {
            let Some(area) = crate::arm::region::area(&l.geo) else {
                return Err(CatalogError::Invalid(format!(
                    "location {:?}: geo {:?} is not an ExpressRoute geopolitical region (one of {})",
                    l.name,
                    l.geo,
                    crate::arm::region::AREAS
                        .iter()
                        .map(|(a, _)| *a)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            if l.local && l.local_regions.is_empty() {
                return Err(CatalogError::Invalid(format!(
                    "location {:?} sells the Local SKU: name the region(s) of its metro in local_regions",
                    l.name
                )));
            }
            for r in &l.local_regions {
                match crate::arm::region::find_any(r) {
                    Some(region) if region.area == area => {}
                    Some(region) => {
                        return Err(CatalogError::Invalid(format!(
                            "location {:?}: local region {r:?} is in {}, not in the location's {area}",
                            l.name, region.area
                        )));
                    }
                    None => {
                        return Err(CatalogError::Invalid(format!(
                            "location {:?}: local region {r:?} is not an Azure region",
                            l.name
                        )));
                    }
                }
            }
        }
        for p in &self.providers {
            for l in &p.peering_locations {
                if self.location(l).is_none() {
                    return Err(CatalogError::Invalid(format!(
                        "provider {:?} names peering location {l:?}, which no [[location]] defines",
                        p.name
                    )));
                }
            }
            if p.bandwidths_mbps.is_empty() {
                return Err(CatalogError::Invalid(format!(
                    "provider {:?} offers no bandwidth",
                    p.name
                )));
            }
        }
        Ok(())
    }

    /// The service a community value tags.
    pub fn service_by_community(&self, community: &str) -> Option<&ServiceCommunity> {
        let c = parse_community(community)?;
        self.services
            .iter()
            .find(|s| parse_community(&s.community) == Some(c))
    }

    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn location(&self, name: &str) -> Option<&Location> {
        self.locations
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name))
    }

    /// The provider whose cross-connections live in `sub`.
    pub fn provider_by_subscription(&self, sub: &str) -> Option<&Provider> {
        self.providers
            .iter()
            .find(|p| p.subscription.eq_ignore_ascii_case(sub))
    }

    /// `expressRouteServiceProviders` entries in ARM's shape.
    pub fn render(&self, sub: &str) -> Vec<Value> {
        use api::arm::service_provider as sp;
        self.providers
            .iter()
            .map(|p| {
                serde_json::to_value(sp::ExpressRouteServiceProvider {
                    id: format!(
                        "/subscriptions/{sub}/providers/Microsoft.Network/expressRouteServiceProviders/{}",
                        p.name
                    ),
                    name: p.name.clone(),
                    kind: "Microsoft.Network/expressRouteServiceProviders".into(),
                    properties: sp::ExpressRouteServiceProviderPropertiesFormat {
                        peering_locations: p.peering_locations.clone(),
                        bandwidths_offered: p
                            .bandwidths_mbps
                            .iter()
                            .map(|&m| sp::ExpressRouteServiceProviderBandwidthsOffered {
                                offer_name: offer_name(m),
                                value_in_mbps: m,
                            })
                            .collect(),
                        ..Default::default()
                    },
                    ..Default::default()
                })
                .unwrap_or_default()
            })
            .collect()
    }
}

/// "50Mbps", "1Gbps", as Azure names its offers.
pub fn offer_name(mbps: u32) -> String {
    if mbps >= 1000 && mbps.is_multiple_of(1000) {
        format!("{}Gbps", mbps / 1000)
    } else {
        format!("{mbps}Mbps")
    }
}
