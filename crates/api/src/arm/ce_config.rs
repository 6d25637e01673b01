//! Causeway extension: the customer-edge configuration of a circuit
//! (`POST …/expressRouteCircuits/{circuitName}/customerEdgeConfiguration`), the text a network
//! engineer loads into the router on the customer's side of both links.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What to write the configuration for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CustomerEdgeConfigurationParameters {
    /// The router: `bird`, `frr`, `junos`, `ios-xe` or `eos`.
    pub vendor: String,
    /// One peering (`AzurePrivatePeering`, `MicrosoftPeering`); every peering when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peering_name: Option<String>,
    /// Put the BGP MD5 keys in the text (otherwise each is replaced by a comment).
    pub include_secrets: bool,
    /// Prefixes to announce over private peering, within the SKU's route limit (Microsoft
    /// peering announces its advertised public prefixes).
    pub announce_prefixes: Vec<String>,
    /// The router's interface toward the primary link (default: the vendor's first port).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_interface: Option<String>,
    /// The router's interface toward the secondary link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_interface: Option<String>,
    /// BFD interval in ms (default: the edges' own, 300 unless the operator changed it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 50, maximum = 10000)]
    pub bfd_interval_ms: Option<u32>,
    /// BFD detection multiplier (default: the edges' own, 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 2, maximum = 50)]
    pub bfd_multiplier: Option<u8>,
}

/// The configuration text and how to save it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CustomerEdgeConfiguration {
    pub vendor: String,
    /// A file name for it (`<circuit>-<vendor>.conf`).
    pub file_name: String,
    /// Whether the text holds MD5 keys (handle it as a secret then).
    pub includes_secrets: bool,
    /// The configuration itself.
    pub content: String,
}
