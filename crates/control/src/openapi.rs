//! `/openapi.json`: an OpenAPI 3.1 description of every route the control plane serves.

use serde_json::{Map, Value, json};

const NET: &str = "/subscriptions/{subscriptionId}/providers/Microsoft.Network";
const RG: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network";

fn param(name: &str, location: &str) -> Value {
    json!({"name": name, "in": location, "required": true, "schema": {"type": "string"}})
}

fn params_for(path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push(param(&rest[start + 1..start + end], "path"));
        rest = &rest[start + end + 1..];
    }
    out.push(param("api-version", "query"));
    out
}

fn op(summary: &str, body: Option<&str>, codes: &[&str], schema: &str) -> Value {
    let mut responses = Map::new();
    for c in codes {
        let r = if *c == "204" {
            json!({"description": "No content"})
        } else {
            json!({"description": summary, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
        };
        responses.insert((*c).to_owned(), r);
    }
    responses.insert(
        "default".into(),
        json!({"description": "ARM error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CloudError"}}}}),
    );
    let mut o = json!({"summary": summary, "responses": responses, "security": [{"bearer": []}]});
    if let Some(b) = body {
        o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{b}")}}}});
    }
    o
}

/// The document.
pub fn document() -> Value {
    let circuit = format!("{RG}/expressRouteCircuits/{{circuitName}}");
    let peering = format!("{circuit}/peerings/{{peeringName}}");
    let auth = format!("{circuit}/authorizations/{{authorizationName}}");
    let cross = format!("{RG}/expressRouteCrossConnections/{{crossConnectionName}}");
    let cross_peering = format!("{cross}/peerings/{{peeringName}}");
    let lro_put = ["200", "201"];
    let lro_delete = ["200", "202", "204"];
    let post = ["200", "202"];
    let mut paths: Vec<(String, Vec<(&str, Value)>)> = vec![
        (
            format!("{NET}/expressRouteServiceProviders"),
            vec![(
                "get",
                op(
                    "List the providers of the catalogue",
                    None,
                    &["200"],
                    "List",
                ),
            )],
        ),
        (
            format!("{NET}/expressRouteCircuits"),
            vec![(
                "get",
                op("List circuits in a subscription", None, &["200"], "List"),
            )],
        ),
        (
            format!("{RG}/expressRouteCircuits"),
            vec![(
                "get",
                op("List circuits in a resource group", None, &["200"], "List"),
            )],
        ),
        (
            circuit.clone(),
            vec![
                ("get", op("Get a circuit", None, &["200"], "Resource")),
                (
                    "put",
                    op(
                        "Create or replace a circuit (long-running)",
                        Some("Resource"),
                        &lro_put,
                        "Resource",
                    ),
                ),
                (
                    "patch",
                    op(
                        "Replace a circuit's tags",
                        Some("TagsObject"),
                        &["200"],
                        "Resource",
                    ),
                ),
                (
                    "delete",
                    op(
                        "Delete a circuit (long-running)",
                        None,
                        &lro_delete,
                        "Resource",
                    ),
                ),
            ],
        ),
        (
            format!("{circuit}/stats"),
            vec![(
                "get",
                op("Bytes in and out per link", None, &["200"], "Stats"),
            )],
        ),
        (
            format!("{circuit}/peerings"),
            vec![("get", op("List peerings", None, &["200"], "List"))],
        ),
        (
            peering.clone(),
            vec![
                ("get", op("Get a peering", None, &["200"], "Resource")),
                (
                    "put",
                    op(
                        "Create or replace a peering (long-running)",
                        Some("Resource"),
                        &lro_put,
                        "Resource",
                    ),
                ),
                (
                    "delete",
                    op(
                        "Delete a peering (long-running)",
                        None,
                        &lro_delete,
                        "Resource",
                    ),
                ),
            ],
        ),
        (
            format!("{peering}/stats"),
            vec![(
                "get",
                op("Bytes in and out per link", None, &["200"], "Stats"),
            )],
        ),
        (
            format!("{circuit}/authorizations"),
            vec![("get", op("List authorizations", None, &["200"], "List"))],
        ),
        (
            auth,
            vec![
                (
                    "get",
                    op("Get an authorization", None, &["200"], "Resource"),
                ),
                (
                    "put",
                    op(
                        "Create an authorization (long-running)",
                        Some("Resource"),
                        &lro_put,
                        "Resource",
                    ),
                ),
                (
                    "delete",
                    op(
                        "Delete an authorization (long-running)",
                        None,
                        &lro_delete,
                        "Resource",
                    ),
                ),
            ],
        ),
        (
            format!("{NET}/expressRouteCrossConnections"),
            vec![(
                "get",
                op(
                    "List the provider's cross-connections",
                    None,
                    &["200"],
                    "List",
                ),
            )],
        ),
        (
            format!("{RG}/expressRouteCrossConnections"),
            vec![(
                "get",
                op(
                    "List cross-connections in a resource group",
                    None,
                    &["200"],
                    "List",
                ),
            )],
        ),
        (
            cross.clone(),
            vec![
                (
                    "get",
                    op("Get a cross-connection", None, &["200"], "Resource"),
                ),
                (
                    "put",
                    op(
                        "Update provisioning state and notes (provider)",
                        Some("Resource"),
                        &["200"],
                        "Resource",
                    ),
                ),
                (
                    "patch",
                    op(
                        "Replace a cross-connection's tags",
                        Some("TagsObject"),
                        &["200"],
                        "Resource",
                    ),
                ),
            ],
        ),
        (
            format!("{cross}/peerings"),
            vec![(
                "get",
                op("List cross-connection peerings", None, &["200"], "List"),
            )],
        ),
        (
            cross_peering.clone(),
            vec![
                (
                    "get",
                    op("Get a cross-connection peering", None, &["200"], "Resource"),
                ),
                (
                    "put",
                    op(
                        "Configure a peering as the provider (long-running)",
                        Some("Resource"),
                        &lro_put,
                        "Resource",
                    ),
                ),
                (
                    "delete",
                    op(
                        "Delete a peering as the provider (long-running)",
                        None,
                        &lro_delete,
                        "Resource",
                    ),
                ),
            ],
        ),
        (
            format!("{NET}/locations/{{location}}/operations/{{operationId}}"),
            vec![(
                "get",
                op(
                    "Status of a long-running operation",
                    None,
                    &["200"],
                    "OperationStatus",
                ),
            )],
        ),
        (
            format!("{NET}/locations/{{location}}/operationResults/{{operationId}}"),
            vec![(
                "get",
                op(
                    "Result of a long-running operation",
                    None,
                    &["200", "204"],
                    "Resource",
                ),
            )],
        ),
    ];
    // The cloud side: virtual networks, ExpressRoute gateways, connections.
    let vnet = format!("{RG}/virtualNetworks/{{virtualNetworkName}}");
    let gateway = format!("{RG}/virtualNetworkGateways/{{virtualNetworkGatewayName}}");
    let connection = format!("{RG}/connections/{{virtualNetworkGatewayConnectionName}}");
    let crud = |what: &str| -> Vec<(&'static str, Value)> {
        vec![
            (
                "get",
                op(&format!("Get a {what}"), None, &["200"], "Resource"),
            ),
            (
                "put",
                op(
                    &format!("Create or replace a {what} (long-running)"),
                    Some("Resource"),
                    &lro_put,
                    "Resource",
                ),
            ),
            (
                "patch",
                op(
                    &format!("Replace a {what}'s tags"),
                    Some("TagsObject"),
                    &["200"],
                    "Resource",
                ),
            ),
            (
                "delete",
                op(
                    &format!("Delete a {what} (long-running)"),
                    None,
                    &lro_delete,
                    "Resource",
                ),
            ),
        ]
    };
    let list = |what: &str| vec![("get", op(what, None, &["200"], "List"))];
    paths.extend([
        (
            format!("{NET}/virtualNetworks"),
            list("List virtual networks in a subscription"),
        ),
        (
            format!("{RG}/virtualNetworks"),
            list("List virtual networks in a resource group"),
        ),
        (vnet.clone(), crud("virtual network")),
        (format!("{vnet}/subnets"), list("List a virtual network's subnets")),
        (
            format!("{vnet}/subnets/{{subnetName}}"),
            vec![("get", op("Get a subnet", None, &["200"], "Resource"))],
        ),
        (
            format!("{RG}/virtualNetworkGateways"),
            list("List ExpressRoute gateways in a resource group"),
        ),
        (gateway.clone(), crud("virtual network gateway (gatewayType ExpressRoute)")),
        (
            format!("{gateway}/getLearnedRoutes"),
            vec![(
                "post",
                op(
                    "Routes the gateway learned from on-premises over its connected circuits (long-running)",
                    None,
                    &post,
                    "GatewayRouteList",
                ),
            )],
        ),
        (
            format!("{gateway}/getAdvertisedRoutes"),
            vec![(
                "post",
                op(
                    "Routes the gateway advertises: its virtual network's prefixes (long-running)",
                    None,
                    &post,
                    "GatewayRouteList",
                ),
            )],
        ),
        (
            format!("{RG}/connections"),
            list("List connections in a resource group"),
        ),
        (connection, crud("connection (connectionType ExpressRoute)")),
    ]);
    for base in [peering, cross_peering] {
        for action in ["arpTables", "routeTables", "routeTablesSummary"] {
            paths.push((
                format!("{base}/{action}/{{devicePath}}"),
                vec![(
                    "post",
                    op(
                        &format!("{action} of the primary or secondary link (long-running)"),
                        None,
                        &post,
                        "List",
                    ),
                )],
            ));
        }
    }
    let mut out = Map::new();
    for (path, ops) in paths {
        let mut item = Map::new();
        item.insert("parameters".into(), Value::Array(params_for(&path)));
        for (method, o) in ops {
            item.insert(method.into(), o);
        }
        out.insert(path, Value::Object(item));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Causeway ExpressRoute control plane",
            "description": "Azure Resource Manager compatible Microsoft.Network ExpressRoute API. Paths are case-insensitive; every api-version from 2015-06-15 through 2026-03-01 is accepted.",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "paths": out,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Resource": {"type": "object", "properties": {
                    "id": {"type": "string", "readOnly": true},
                    "name": {"type": "string"},
                    "type": {"type": "string", "readOnly": true},
                    "location": {"type": "string"},
                    "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                    "etag": {"type": "string", "readOnly": true},
                    "sku": {"type": "object", "properties": {"name": {"type": "string"}, "tier": {"type": "string", "enum": ["Local", "Standard", "Premium"]}, "family": {"type": "string", "enum": ["MeteredData", "UnlimitedData"]}}},
                    "properties": {"type": "object"},
                }},
                "TagsObject": {"type": "object", "properties": {"tags": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "List": {"type": "object", "properties": {"value": {"type": "array", "items": {"type": "object"}}, "nextLink": {"type": ["string", "null"]}}},
                "Stats": {"type": "object", "properties": {
                    "primarybytesIn": {"type": "integer"}, "primarybytesOut": {"type": "integer"},
                    "secondarybytesIn": {"type": "integer"}, "secondarybytesOut": {"type": "integer"},
                }},
                "GatewayRouteList": {"type": "object", "properties": {"value": {"type": "array", "items": {"type": "object", "properties": {
                    "localAddress": {"type": "string"}, "network": {"type": "string"}, "nextHop": {"type": "string"},
                    "sourcePeer": {"type": "string"}, "origin": {"type": "string"}, "asPath": {"type": "string"}, "weight": {"type": "integer"},
                }}}}},
                "OperationStatus": {"type": "object", "properties": {"status": {"type": "string", "enum": ["InProgress", "Succeeded", "Failed", "Canceled"]}, "error": {"type": "object"}}},
                "CloudError": {"type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            }
        }
    })
}
