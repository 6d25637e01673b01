//! `Microsoft.Network/publicIPAddresses`: the public address an ExpressRoute gateway's IP
//! configuration names. Causeway serves Standard, Static, IPv4 addresses drawn from an
//! operator-configured pool.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::SubResource;

/// ARM `PublicIPAddress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PublicIPAddress {
    #[schema(read_only)]
    pub id: String,
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Network/publicIPAddresses`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    #[schema(read_only)]
    pub etag: String,
    pub sku: PublicIPAddressSku,
    /// Availability zones (`"1"`, `"2"`, `"3"`); absent for a non-zonal address.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub properties: PublicIPAddressPropertiesFormat,
}

impl PublicIPAddress {
    pub const TYPE: &'static str = "Microsoft.Network/publicIPAddresses";
}

/// ARM `PublicIPAddressSku`: name `Basic` or `Standard` (Causeway: `Standard`), tier
/// `Regional` or `Global` (Causeway: `Regional`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PublicIPAddressSku {
    pub name: String,
    pub tier: String,
}

/// ARM `PublicIPAddressPropertiesFormat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PublicIPAddressPropertiesFormat {
    /// `Static` or `Dynamic` (Standard addresses are always `Static`).
    #[serde(rename = "publicIPAllocationMethod")]
    pub public_ip_allocation_method: String,
    /// `IPv4` or `IPv6`.
    #[serde(rename = "publicIPAddressVersion")]
    pub public_ip_address_version: String,
    /// The allocated address.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub ip_address: Option<String>,
    /// 4–30 minutes.
    pub idle_timeout_in_minutes: u32,
    pub ip_tags: Vec<IpTag>,
    /// The IP configuration that uses the address (a gateway's).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub ip_configuration: Option<SubResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ddos_settings: Option<DdosSettings>,
    #[schema(read_only)]
    pub resource_guid: String,
    #[schema(read_only)]
    pub provisioning_state: String,
}

impl Default for PublicIPAddressPropertiesFormat {
    fn default() -> Self {
        PublicIPAddressPropertiesFormat {
            public_ip_allocation_method: "Static".into(),
            public_ip_address_version: "IPv4".into(),
            ip_address: None,
            idle_timeout_in_minutes: 4,
            ip_tags: Vec::new(),
            ip_configuration: None,
            ddos_settings: None,
            resource_guid: String::new(),
            provisioning_state: "Succeeded".into(),
        }
    }
}

/// ARM `IpTag`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct IpTag {
    pub ip_tag_type: String,
    pub tag: String,
}

/// ARM `DdosSettings`: `VirtualNetworkInherited`, `Enabled` or `Disabled`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct DdosSettings {
    pub protection_mode: String,
}

pub type PublicIPAddressListResult = super::List<PublicIPAddress>;
