//! Microsoft.Resources shapes the Azure tools assume before they touch a network resource:
//! resource groups, subscriptions and tenants (what `az login` lists), and resource
//! providers (what Terraform registers at start and `az resource show` reads api-versions
//! from).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use std::collections::BTreeMap;

/// `Microsoft.Resources/resourceGroups`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceGroup {
    #[schema(read_only)]
    pub id: String,
    #[schema(read_only)]
    pub name: String,
    /// `Microsoft.Resources/resourceGroups`.
    #[serde(rename = "type")]
    #[schema(read_only)]
    pub kind: String,
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub properties: ResourceGroupProperties,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceGroupProperties {
    /// `Succeeded`, or `Deleting` while a delete runs.
    #[schema(read_only)]
    pub provisioning_state: String,
}

/// `ResourceGroupPatchable`: the body of a PATCH.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceGroupPatchable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A subscription, as `GET /subscriptions` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Subscription {
    /// `/subscriptions/{subscriptionId}`.
    pub id: String,
    pub subscription_id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// `Enabled`, `Warned`, `PastDue`, `Disabled`, `Deleted`.
    pub state: String,
    pub subscription_policies: SubscriptionPolicies,
    /// `RoleBased`.
    pub authorization_source: String,
    pub managed_by_tenants: Vec<ManagedByTenant>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct SubscriptionPolicies {
    pub location_placement_id: String,
    pub quota_id: String,
    /// `On`, `Off`, `CurrentPeriodOff`.
    pub spending_limit: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedByTenant {
    pub tenant_id: String,
}

/// A region, as `GET /subscriptions/{s}/locations` (`az account list-locations`) lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Location {
    /// `/subscriptions/{s}/locations/{name}`.
    pub id: String,
    /// The normalised name (`westeurope`).
    pub name: String,
    /// `Region`.
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name: String,
    /// `(Europe) West Europe`.
    pub regional_display_name: String,
    pub metadata: LocationMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct LocationMetadata {
    /// `Physical` or `Logical`.
    pub region_type: String,
    /// `Recommended`, `Other`.
    pub region_category: String,
    /// The continent-scale group (`Europe`, `US`, `Asia Pacific`, …).
    pub geography_group: String,
    /// The country-scale geography (`Europe`, `United Kingdom`, …).
    pub geography: String,
    pub paired_region: Vec<PairedRegion>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct PairedRegion {
    pub name: String,
    pub id: String,
}

/// A tenant (directory), as `GET /tenants` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct TenantIdDescription {
    /// `/tenants/{tenantId}`.
    pub id: String,
    pub tenant_id: String,
    /// `Home`, `ProjectedBy`, `ManagedBy`.
    pub tenant_category: String,
    pub display_name: String,
    pub default_domain: String,
    pub domains: Vec<String>,
    /// `AAD`.
    pub tenant_type: String,
}

/// A resource provider of a subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Provider {
    /// `/subscriptions/{s}/providers/{namespace}`.
    pub id: String,
    pub namespace: String,
    /// `Registered`, `NotRegistered`, `Registering`, `Unregistering`.
    pub registration_state: String,
    /// `RegistrationRequired`, `RegistrationFree`.
    pub registration_policy: String,
    pub resource_types: Vec<ProviderResourceType>,
}

/// One resource type of a provider: where it is offered and in which api-versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ProviderResourceType {
    pub resource_type: String,
    pub locations: Vec<String>,
    pub api_versions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_api_version: Option<String>,
    pub capabilities: String,
}
