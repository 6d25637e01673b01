//! `GenericResource`: what `GET /subscriptions/{s}/resources` (and a resource group's
//! `/resources`) lists, one item per resource of any type — what `az resource list/show`
//! reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// ARM `GenericResourceExpanded` as listed (id, name, type, location, tags, sku).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct GenericResource {
    pub id: String,
    pub name: String,
    /// `Microsoft.Network/expressRouteCircuits`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<GenericSku>,
}

/// ARM `Sku` of a generic resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct GenericSku {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

pub type ResourceListResult = super::List<GenericResource>;
