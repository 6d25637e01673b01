//! `/openapi.json`: an OpenAPI 3.1 description generated from the routes the resource
//! modules declare ([`crate::resources::routes`]) — the same templates the dispatcher
//! matches, so the document cannot drift from the router.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::arm::version;
use crate::service::Route;

fn path_param(name: &str) -> Value {
    let schema = match name {
        "subscriptionId" => json!({"type": "string", "format": "uuid",
            "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"}),
        "devicePath" => json!({"type": "string", "enum": ["primary", "secondary"]}),
        "peeringName" => {
            json!({"type": "string", "enum": ["AzurePrivatePeering", "MicrosoftPeering"]})
        }
        _ => json!({"type": "string", "minLength": 1, "maxLength": 80,
            "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$"}),
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

fn api_version_param() -> Value {
    json!({
        "name": "api-version",
        "in": "query",
        "required": true,
        "schema": {"type": "string", "pattern": version::PATTERN},
        "example": version::NEWEST_API_VERSION,
    })
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The document for `routes`.
pub fn document(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    let mut schemas: BTreeSet<&str> = BTreeSet::new();
    for r in routes {
        let mut item = Map::new();
        for op in &r.ops {
            let mut responses = Map::new();
            for (code, schema) in op.responses {
                let mut resp = json!({"description": op.summary});
                if let Some(s) = schema {
                    schemas.insert(s);
                    resp["content"] = json!({"application/json": {"schema": schema_ref(s)}});
                }
                responses.insert(code.to_string(), resp);
            }
            responses.insert(
                "default".into(),
                json!({"description": "ARM error", "content": {"application/json": {"schema": schema_ref("CloudError")}}}),
            );
            let mut params: Vec<Value> = r.template.params().map(path_param).collect();
            params.push(api_version_param());
            let mut o = json!({
                "summary": op.summary,
                "operationId": operation_id(r.template.text, op.verb.openapi()),
                "parameters": params,
                "responses": responses,
                "security": [{"bearer": []}],
            });
            if let Some(b) = op.body {
                schemas.insert(b);
                o["requestBody"] = json!({
                    "required": true,
                    "content": {"application/json": {"schema": schema_ref(b)}},
                });
            }
            item.insert(op.verb.openapi().to_owned(), o);
        }
        paths.insert(r.template.text.to_owned(), Value::Object(item));
    }
    // The typed ARM bodies of crates/api describe themselves; a name no type provides yet
    // is an open object.
    let mut components = Map::new();
    for (name, schema) in api::arm::schemas() {
        components.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    for s in schemas {
        components
            .entry(s.to_owned())
            .or_insert_with(|| json!({"type": "object"}));
    }
    components.entry("CloudError").or_insert_with(|| {
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }},
        })
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Causeway ExpressRoute API (Azure Resource Manager compatible)",
            "version": version::NEWEST_API_VERSION,
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}

/// A stable operation id from the template and verb: `put_expressRouteCircuits_circuitName`.
fn operation_id(template: &str, verb: &str) -> String {
    let tail: Vec<&str> = template
        .split('/')
        .skip_while(|s| *s != "Microsoft.Network")
        .skip(1)
        .map(|s| s.trim_start_matches('{').trim_end_matches('}'))
        .collect();
    format!("{verb}_{}", tail.join("_"))
}
