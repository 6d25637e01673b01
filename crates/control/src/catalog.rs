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
//! geo = "Lab"          # geopolitical area: Standard reaches its regions
//! local = true         # the metro has an Azure region: the Local SKU is sold here
//! ```

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "provider")]
    pub providers: Vec<Provider>,
    #[serde(rename = "location")]
    pub locations: Vec<Location>,
}

const STANDARD_BANDWIDTHS: [u32; 8] = [50, 100, 200, 500, 1000, 2000, 5000, 10000];

impl Default for Catalog {
    fn default() -> Self {
        let loc = |name: &str, geo: &str, local: bool| Location {
            name: name.into(),
            geo: geo.into(),
            local,
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
                loc("Lab", "Lab", true),
                loc("Amsterdam", "Europe", true),
                loc("London", "Europe", true),
                loc("Silicon Valley", "North America", true),
                loc("Washington DC", "North America", true),
                loc("Sydney", "Australia", true),
            ],
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
