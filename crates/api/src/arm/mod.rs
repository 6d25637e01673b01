//! Typed Azure Resource Manager (ARM) wire shapes of the Microsoft.Network resources Causeway
//! serves: the response (and request) bodies the official SDKs, the az CLI and Terraform
//! azurerm exchange with `management.azure.com`.
//!
//! One superset model answers every api-version: each struct carries every property Azure
//! returns for its type in the newest api-version. Properties Azure always returns are plain
//! fields whose [`Default`] is Azure's default (so a client that dereferences them without a
//! nil check finds them); properties Azure returns only when set are `Option`s, skipped when
//! `None`. Every struct takes `#[serde(default)]`, so a partial body (a PUT with no read-only
//! fields, an older api-version's response) still parses. Unknown properties are ignored.
//!
//! Enumerations Azure declares `modelAsString` (open-ended: new values appear with new
//! api-versions) are `String`s; their known values are listed on each field.
//!
//! Layout: the common envelope pieces live here; one module per family:
//! [`circuit`] (circuits, peerings, authorizations, Global Reach connections, stats and the
//! ARP / route table / route summary diagnostics), [`cross_connection`] (the provider's view),
//! [`public_ip`] (public IP addresses), [`route_filter`] (route filters and BGP service
//! communities), [`generic_resource`] (generic `/resources` lists),
//! [`service_provider`] (the catalogue) and [`network`] (virtual networks, subnets, ExpressRoute
//! gateways, their connections and routes).
//!
//! Next to come, each in its own module with its list-result name in [`schemas`]:
//! - `express_route_port.rs`: ExpressRoute Direct — `ExpressRoutePort`, `ExpressRouteLink`
//!   (with `macSecConfig`), `ExpressRoutePortAuthorization`, `ExpressRoutePortsLocation`,
//!   `GenerateExpressRoutePortsLOARequest` / `…Result`.
//! - Global Reach as a resource (`peerings/{p}/connections/{c}` and `peerConnections`): the
//!   bodies already exist in [`circuit`] ([`circuit::ExpressRouteCircuitConnection`],
//!   [`circuit::PeerExpressRouteCircuitConnection`]) because peerings embed them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Components, ComponentsBuilder, RefOr};
use utoipa::{PartialSchema, ToSchema};

pub mod ce_config;
pub mod circuit;
pub mod cross_connection;
pub mod generic_resource;
pub mod network;
pub mod public_ip;
pub mod resources;
pub mod route_filter;
pub mod service_provider;

/// Resource tags: name → value. ARM replaces the whole set on PATCH.
pub type Tags = BTreeMap<String, String>;

/// ARM `SubResource`: a reference to another resource by its ARM id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct SubResource {
    /// The referenced resource's ARM id.
    pub id: String,
}

impl SubResource {
    pub fn new(id: impl Into<String>) -> Self {
        SubResource { id: id.into() }
    }
}

/// ARM `TagsObject`: the body of a PATCH (UpdateTags) on a tracked resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct TagsObject {
    pub tags: BTreeMap<String, String>,
}

/// ARM `CloudError`: the body of every non-2xx answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudError {
    pub error: ErrorDetail,
}

impl CloudError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        CloudError {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                ..ErrorDetail::default()
            },
        }
    }
}

/// ARM `CloudErrorBody`: what went wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ErrorDetail {
    /// PascalCase error code clients branch on (`ResourceNotFound`, `InvalidRequestFormat`,
    /// `AnotherOperationInProgress`, …).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The property or resource the error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Nested errors, when one request failed for several reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub details: Vec<ErrorDetail>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_info: Vec<ErrorAdditionalInfo>,
}

/// ARM `ErrorAdditionalInfo`: typed extra information on an error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ErrorAdditionalInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub info: serde_json::Value,
}

/// ARM list result (`…ListResult`): one page of a collection. `nextLink` is the absolute URL of
/// the next page (with its api-version); absent on the last page, never `""`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    #[serde(default)]
    pub value: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List {
            value: Vec::new(),
            next_link: None,
        }
    }
}

impl<T> List<T> {
    /// A single, complete page.
    pub fn of(value: Vec<T>) -> Self {
        List {
            value,
            next_link: None,
        }
    }
}

/// The ARM async operation resource (the `Azure-AsyncOperation` URL's body). The Network RP
/// answers minimal bodies (`{"status":"InProgress"}`), so everything but `status` is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct AsyncOperationStatus {
    /// The status URL's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The operation id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `InProgress` (or any other non-terminal value), then `Succeeded`, `Failed` or
    /// `Canceled`. Clients poll until it is terminal.
    pub status: String,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// RFC 3339; set once terminal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// 0–100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_complete: Option<f64>,
    /// Operation-specific result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Value>,
    /// Why it failed (`status: Failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// ARM `ExtendedLocation`: an edge zone a resource is placed in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExtendedLocation {
    pub name: String,
    /// `EdgeZone`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// ARM `ManagedServiceIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedServiceIdentity {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub tenant_id: Option<String>,
    /// `SystemAssigned`, `UserAssigned`, `SystemAssigned, UserAssigned` or `None`.
    #[serde(rename = "type")]
    pub kind: String,
    /// User-assigned identity ARM id → its ids.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub user_assigned_identities: BTreeMap<String, UserAssignedIdentity>,
}

/// One user-assigned identity of a [`ManagedServiceIdentity`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct UserAssignedIdentity {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub client_id: Option<String>,
}

/// Every schema of this module tree, by its ARM definition name, for an OpenAPI document's
/// `components.schemas`: each DTO, everything it references, and the list results under
/// Azure's names (`ExpressRouteCircuitListResult`, …). Sorted by name, without duplicates.
pub fn schemas() -> Vec<(String, RefOr<Schema>)> {
    use circuit::*;
    use cross_connection::*;
    use generic_resource::*;
    use network::*;
    use public_ip::*;
    use service_provider::*;

    let mut out: Vec<(String, RefOr<Schema>)> = Vec::new();
    fn add<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push((T::name().into_owned(), T::schema()));
        T::schemas(out);
    }
    fn list<T: ToSchema>(out: &mut Vec<(String, RefOr<Schema>)>, name: &str) {
        out.push((name.to_owned(), List::<T>::schema()));
        T::schemas(out);
        out.push((T::name().into_owned(), T::schema()));
    }

    // Common.
    add::<SubResource>(&mut out);
    add::<TagsObject>(&mut out);
    add::<CloudError>(&mut out);
    add::<AsyncOperationStatus>(&mut out);
    add::<ExtendedLocation>(&mut out);
    add::<ManagedServiceIdentity>(&mut out);

    // Circuits and their children.
    add::<ExpressRouteCircuit>(&mut out);
    list::<ExpressRouteCircuit>(&mut out, "ExpressRouteCircuitListResult");
    add::<ExpressRouteCircuitPeering>(&mut out);
    list::<ExpressRouteCircuitPeering>(&mut out, "ExpressRouteCircuitPeeringListResult");
    add::<ExpressRouteCircuitAuthorization>(&mut out);
    list::<ExpressRouteCircuitAuthorization>(&mut out, "AuthorizationListResult");
    add::<ExpressRouteCircuitConnection>(&mut out);
    list::<ExpressRouteCircuitConnection>(&mut out, "ExpressRouteCircuitConnectionListResult");
    add::<PeerExpressRouteCircuitConnection>(&mut out);
    list::<PeerExpressRouteCircuitConnection>(
        &mut out,
        "PeerExpressRouteCircuitConnectionListResult",
    );
    add::<ExpressRouteCircuitStats>(&mut out);
    list::<ExpressRouteCircuitArpTable>(&mut out, "ExpressRouteCircuitsArpTableListResult");
    list::<ExpressRouteCircuitRoutesTable>(&mut out, "ExpressRouteCircuitsRoutesTableListResult");
    list::<ExpressRouteCircuitRoutesTableSummary>(
        &mut out,
        "ExpressRouteCircuitsRoutesTableSummaryListResult",
    );
    list::<ExpressRouteCrossConnectionRoutesTableSummary>(
        &mut out,
        "ExpressRouteCrossConnectionsRoutesTableSummaryListResult",
    );

    // Causeway extensions.
    add::<ce_config::CustomerEdgeConfigurationParameters>(&mut out);
    add::<ce_config::CustomerEdgeConfiguration>(&mut out);

    // The provider's view.
    add::<ExpressRouteCrossConnection>(&mut out);
    list::<ExpressRouteCrossConnection>(&mut out, "ExpressRouteCrossConnectionListResult");
    add::<ExpressRouteCrossConnectionPeering>(&mut out);
    list::<ExpressRouteCrossConnectionPeering>(&mut out, "ExpressRouteCrossConnectionPeeringList");

    // Microsoft.Resources: groups, subscriptions, tenants, providers.
    add::<resources::ResourceGroup>(&mut out);
    list::<resources::ResourceGroup>(&mut out, "ResourceGroupListResult");
    add::<resources::ResourceGroupPatchable>(&mut out);
    add::<resources::Subscription>(&mut out);
    list::<resources::Subscription>(&mut out, "SubscriptionListResult");
    list::<resources::TenantIdDescription>(&mut out, "TenantListResult");
    list::<resources::Location>(&mut out, "LocationListResult");

    // Route filters.
    add::<route_filter::RouteFilter>(&mut out);
    list::<route_filter::RouteFilter>(&mut out, "RouteFilterListResult");
    add::<route_filter::RouteFilterRule>(&mut out);
    list::<route_filter::RouteFilterRule>(&mut out, "RouteFilterRuleListResult");
    list::<route_filter::BgpServiceCommunity>(&mut out, "BgpServiceCommunityListResult");
    add::<resources::Provider>(&mut out);
    list::<resources::Provider>(&mut out, "ProviderListResult");

    // The catalogue.
    add::<ExpressRouteServiceProvider>(&mut out);
    list::<ExpressRouteServiceProvider>(&mut out, "ExpressRouteServiceProviderListResult");

    // The cloud side.
    add::<VirtualNetwork>(&mut out);
    list::<VirtualNetwork>(&mut out, "VirtualNetworkListResult");
    add::<Subnet>(&mut out);
    list::<Subnet>(&mut out, "SubnetListResult");
    add::<VirtualNetworkGateway>(&mut out);
    list::<VirtualNetworkGateway>(&mut out, "VirtualNetworkGatewayListResult");
    add::<VirtualNetworkGatewayConnection>(&mut out);
    list::<VirtualNetworkGatewayConnection>(&mut out, "VirtualNetworkGatewayConnectionListResult");
    list::<GatewayRoute>(&mut out, "GatewayRouteListResult");
    add::<ConnectionSharedKey>(&mut out);
    add::<PublicIPAddress>(&mut out);
    list::<PublicIPAddress>(&mut out, "PublicIPAddressListResult");

    // Generic ARM access.
    list::<GenericResource>(&mut out, "ResourceListResult");

    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// [`schemas`] as OpenAPI `components`, to merge into a document.
pub fn components() -> Components {
    ComponentsBuilder::new()
        .schemas_from_iter(schemas())
        .build()
}
