//! Route filters and the BGP service communities they choose from: what Microsoft peering
//! advertises (`Microsoft.Network/routeFilters`, `…/routeFilterRules`,
//! `Microsoft.Network/bgpServiceCommunities`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::SubResource;

/// ARM `RouteFilter`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RouteFilter {
    #[schema(read_only)]
    pub id: String,
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Network/routeFilters`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    #[schema(read_only)]
    pub etag: String,
    pub properties: RouteFilterPropertiesFormat,
}

impl RouteFilter {
    pub const TYPE: &'static str = "Microsoft.Network/routeFilters";
}

/// ARM `RouteFilterPropertiesFormat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RouteFilterPropertiesFormat {
    /// At most one rule, of access `Allow`.
    pub rules: Vec<RouteFilterRule>,
    /// The Microsoft peerings the filter is attached to (their ids).
    #[schema(read_only)]
    pub peerings: Vec<SubResource>,
    #[schema(read_only)]
    pub ipv6_peerings: Vec<SubResource>,
    #[schema(read_only)]
    pub provisioning_state: String,
}

/// ARM `RouteFilterRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RouteFilterRule {
    #[schema(read_only)]
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[schema(read_only)]
    pub etag: String,
    pub properties: RouteFilterRulePropertiesFormat,
}

/// ARM `RouteFilterRulePropertiesFormat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RouteFilterRulePropertiesFormat {
    /// `Allow` (`Deny` is refused: a filter allows, and everything else is not advertised).
    pub access: String,
    /// `Community`.
    pub route_filter_rule_type: String,
    /// BGP community values, `12076:5010` form, from `bgpServiceCommunities`.
    pub communities: Vec<String>,
    #[schema(read_only)]
    pub provisioning_state: String,
}

/// ARM `BgpServiceCommunity`: a service reachable over Microsoft peering and its communities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct BgpServiceCommunity {
    pub id: String,
    pub name: String,
    /// `Microsoft.Network/bgpServiceCommunities`.
    #[serde(rename = "type")]
    pub kind: String,
    pub properties: BgpServiceCommunityPropertiesFormat,
}

/// ARM `BgpServiceCommunityPropertiesFormat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct BgpServiceCommunityPropertiesFormat {
    pub service_name: String,
    pub bgp_communities: Vec<BgpCommunity>,
}

/// ARM `BGPCommunity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct BgpCommunity {
    /// The region the community's prefixes serve (`Global` for a global service).
    pub service_supported_region: String,
    pub community_name: String,
    /// `12076:5010` form.
    pub community_value: String,
    /// The prefixes tagged with the community.
    pub community_prefixes: Vec<String>,
    pub is_authorized_to_use: bool,
    pub service_group: String,
}
