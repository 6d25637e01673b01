//! Where the benchmark's resources live (names, paths) and the request bodies it sends.

use serde_json::{Value, json};

const CIRCUITS: &str = "providers/Microsoft.Network/expressRouteCircuits";

/// Subscription `n` (from 1) as a GUID.
pub fn sub_id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// The loaded circuits: circuit `i` is `c{i}` in subscription `i % S + 1`, resource group
/// `rg{(i / S) % R}`, so every subscription and group fills evenly.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub subscriptions: usize,
    pub resource_groups: usize,
}

impl Layout {
    pub fn circuit(&self, i: usize) -> String {
        let sub = i % self.subscriptions + 1;
        let rg = (i / self.subscriptions) % self.resource_groups;
        format!(
            "/subscriptions/{}/resourceGroups/rg{rg}/{CIRCUITS}/c{i:07}",
            sub_id(sub)
        )
    }

    /// The subscription-level listing of subscription `sub` (from 1).
    pub fn list(&self, sub: usize) -> String {
        format!("/subscriptions/{}/{CIRCUITS}", sub_id(sub))
    }
}

/// Circuits the durability writers create: a subscription of their own, outside the counts.
pub fn durability_circuit(round: usize, writer: usize, k: u64) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/durability/{CIRCUITS}/k{round}-{writer}-{k}",
        sub_id(900)
    )
}

/// The lab circuits of the edge measurement: a subscription of their own.
pub fn edge_circuit(i: usize) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/edge/{CIRCUITS}/e{i:05}",
        sub_id(901)
    )
}

/// The lab provider's side of a circuit.
pub fn cross_connection(service_key: &str) -> String {
    format!(
        "/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/CrossConnection-Lab/providers/Microsoft.Network/expressRouteCrossConnections/{service_key}"
    )
}

pub fn circuit_body(provider: &str, location: &str, tags: Value) -> Value {
    json!({
        "location": "westeurope",
        "tags": tags,
        "sku": {"name": "Standard_MeteredData", "tier": "Standard", "family": "MeteredData"},
        "properties": {"serviceProviderProperties": {
            "serviceProviderName": provider,
            "peeringLocation": location,
            "bandwidthInMbps": 50
        }}
    })
}

pub fn peering_body(enabled: bool) -> Value {
    json!({"properties": {
        "peeringType": "AzurePrivatePeering",
        "peerASN": 65001,
        "vlanId": 100,
        "primaryPeerAddressPrefix": "10.0.0.0/30",
        "secondaryPeerAddressPrefix": "10.0.0.4/30",
        "state": if enabled { "Enabled" } else { "Disabled" }
    }})
}
