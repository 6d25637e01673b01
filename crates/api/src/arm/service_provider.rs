//! `Microsoft.Network/expressRouteServiceProviders`: the catalogue of connectivity providers,
//! the peering locations each serves and the bandwidths each offers. List only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// ARM `ExpressRouteServiceProvider` (`Microsoft.Network/expressRouteServiceProviders`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteServiceProvider {
    #[schema(read_only)]
    pub id: String,
    /// The provider's name, as circuits' `serviceProviderName` gives it.
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Network/expressRouteServiceProviders`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    /// Not set by Azure on providers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    pub properties: ExpressRouteServiceProviderPropertiesFormat,
}

impl ExpressRouteServiceProvider {
    pub const TYPE: &'static str = "Microsoft.Network/expressRouteServiceProviders";
}

/// ARM `ExpressRouteServiceProviderPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteServiceProviderPropertiesFormat {
    /// Peering locations (metros) the provider serves.
    pub peering_locations: Vec<String>,
    pub bandwidths_offered: Vec<ExpressRouteServiceProviderBandwidthsOffered>,
    #[schema(read_only)]
    pub provisioning_state: String,
}

impl Default for ExpressRouteServiceProviderPropertiesFormat {
    fn default() -> Self {
        ExpressRouteServiceProviderPropertiesFormat {
            peering_locations: Vec::new(),
            bandwidths_offered: Vec::new(),
            provisioning_state: "Succeeded".into(),
        }
    }
}

/// ARM `ExpressRouteServiceProviderBandwidthsOffered`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExpressRouteServiceProviderBandwidthsOffered {
    /// `50Mbps`, `1Gbps`, …
    pub offer_name: String,
    pub value_in_mbps: u32,
}

/// `ExpressRouteServiceProviderListResult`.
pub type ExpressRouteServiceProviderListResult = super::List<ExpressRouteServiceProvider>;
