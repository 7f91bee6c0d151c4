//! The OpenAPI 3.1 document of the REST routes, generated at start-up from
//! the same descriptors (and their proto comments) the routes come from,
//! so it cannot drift from what the gateway serves.

use std::collections::BTreeMap;

use prost_reflect::{FieldDescriptor, FileDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};

use super::routes::{BodyRule, Route, Routes};

/// The document as JSON.
pub fn document(routes: &Routes) -> Json {
    let mut schemas = BTreeMap::new();
    let mut paths: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    for route in routes.iter() {
        let op = operation(route, &mut schemas);
        paths.entry(route.template.openapi_path()).or_default().insert(route.verb.as_str().to_lowercase(), op);
    }
    let mut components: Map<String, Json> = schemas.into_iter().collect();
    components.insert("Error".into(), error_schema());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Attain gateway REST API",
            "version": "v1",
            "description": "REST/JSON bindings of the Attain gRPC API (google.api.http rules in proto/). \
                Bodies and responses follow the proto3 JSON mapping; money is a decimal string. \
                Unknown fields are refused. Errors carry the gRPC status and its details.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } },
        },
    })
}

fn operation(route: &Route, schemas: &mut BTreeMap<String, Json>) -> Json {
    let method = &route.method;
    let input = method.input();
    let vars = route.template.variables();
    let mut parameters: Vec<Json> = vars
        .iter()
        .map(|(field, pattern)| {
            json!({
                "name": field, "in": "path", "required": true,
                "description": format!("Resource name matching `{pattern}`."),
                "schema": { "type": "string" },
            })
        })
        .collect();
    let bound: Vec<&str> = vars.iter().map(|(f, _)| f.split('.').next().unwrap_or_default()).collect();
    if route.body != BodyRule::Whole {
        for f in input.fields() {
            let is_body = matches!(&route.body, BodyRule::Field(b) if b == f.name());
            if bound.contains(&f.name()) || is_body {
                continue;
            }
            query_parameters(&f, "", &mut parameters, schemas);
        }
    }
    let streaming = method.is_server_streaming();
    let content_type = if streaming { "application/x-ndjson" } else { "application/json" };
    let mut op = json!({
        "operationId": format!("{}_{}", method.parent_service().name(), method.name()),
        "tags": [method.parent_service().name()],
        "summary": comment(&method.parent_file(), method.path()).unwrap_or_default(),
        "parameters": parameters,
        "responses": {
            "200": {
                "description": if streaming { "One JSON object per line, as events arrive." } else { "OK" },
                "content": { content_type: { "schema": message_ref(&method.output(), schemas) } },
            },
            "default": {
                "description": "The gRPC status as HTTP (400 INVALID_ARGUMENT, 401, 403, 404, 409 ABORTED/ALREADY_EXISTS, 429, 503, …).",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            },
        },
    });
    let body_schema = match &route.body {
        BodyRule::None => None,
        BodyRule::Whole => Some(message_ref(&input, schemas)),
        BodyRule::Field(f) => input.get_field_by_name(f).map(|f| field_schema(&f, schemas)),
    };
    if let (Some(schema), Some(obj)) = (body_schema, op.as_object_mut()) {
        obj.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": { "schema": schema } } }),
        );
    }
    op
}

/// Scalars (and repeated scalars) of the request become query parameters;
/// small messages (Dimensions) become `dimensions.product_line`.
fn query_parameters(f: &FieldDescriptor, prefix: &str, out: &mut Vec<Json>, schemas: &mut BTreeMap<String, Json>) {
    let name = format!("{prefix}{}", f.name());
    match f.kind() {
        Kind::Message(m) if !is_well_known(&m) => {
            if prefix.is_empty() {
                for inner in m.fields() {
                    query_parameters(&inner, &format!("{name}."), out, schemas);
                }
            }
        }
        _ => out.push(json!({
            "name": name, "in": "query", "required": false,
            "description": comment(&f.parent_file(), f.path()).unwrap_or_default(),
            "schema": field_schema(f, schemas),
        })),
    }
}

fn is_well_known(m: &MessageDescriptor) -> bool {
    m.full_name().starts_with("google.protobuf.")
}

fn message_ref(m: &MessageDescriptor, schemas: &mut BTreeMap<String, Json>) -> Json {
    if let Some(s) = well_known(m) {
        return s;
    }
    let name = m.full_name().to_owned();
    if !schemas.contains_key(&name) {
        // Placeholder first: messages may refer to themselves.
        schemas.insert(name.clone(), Json::Null);
        let mut properties = Map::new();
        for f in m.fields() {
            let mut schema = field_schema(&f, schemas);
            if let (Some(text), Some(obj)) = (comment(&f.parent_file(), f.path()), schema.as_object_mut()) {
                obj.insert("description".into(), Json::String(text));
            }
            properties.insert(f.json_name().to_owned(), schema);
        }
        let mut schema = json!({ "type": "object", "properties": properties, "additionalProperties": false });
        if let (Some(text), Some(obj)) = (comment(&m.parent_file(), m.path()), schema.as_object_mut()) {
            obj.insert("description".into(), Json::String(text));
        }
        schemas.insert(name.clone(), schema);
    }
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn well_known(m: &MessageDescriptor) -> Option<Json> {
    Some(match m.full_name() {
        "google.protobuf.Timestamp" => json!({ "type": "string", "format": "date-time" }),
        "google.protobuf.Duration" => json!({ "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$" }),
        "google.protobuf.FieldMask" => json!({ "type": "string", "description": "Comma-separated field paths." }),
        "google.protobuf.Struct" | "google.protobuf.Value" => json!({}),
        _ => return None,
    })
}

fn field_schema(f: &FieldDescriptor, schemas: &mut BTreeMap<String, Json>) -> Json {
    if f.is_map() {
        let value = match f.kind() {
            Kind::Message(entry) => entry.map_entry_value_field(),
            _ => return json!({ "type": "object" }),
        };
        return json!({ "type": "object", "additionalProperties": single(&value.kind(), schemas) });
    }
    let one = single(&f.kind(), schemas);
    if f.is_list() { json!({ "type": "array", "items": one }) } else { one }
}

fn single(kind: &Kind, schemas: &mut BTreeMap<String, Json>) -> Json {
    match kind {
        Kind::Double | Kind::Float => json!({ "type": "number" }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({ "type": "integer", "format": "int32" }),
        Kind::Uint32 | Kind::Fixed32 => json!({ "type": "integer", "format": "int64", "minimum": 0 }),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            json!({ "type": "string", "format": "int64" })
        }
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::String => json!({ "type": "string" }),
        Kind::Bytes => json!({ "type": "string", "format": "byte" }),
        Kind::Enum(e) => {
            // `*_UNSPECIFIED` (0) is the unset value servers refuse: not
            // offered.
            let values: Vec<String> = e
                .values()
                .filter(|v| !(v.number() == 0 && v.name().ends_with("_UNSPECIFIED")))
                .map(|v| v.name().to_owned())
                .collect();
            json!({ "type": "string", "enum": values })
        }
        Kind::Message(m) => message_ref(m, schemas),
    }
}

/// The proto comment at a descriptor path, if the descriptor set kept them.
fn comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let loc = info.location.iter().find(|l| l.path == path)?;
    let text = loc.leading_comments.as_deref().or(loc.trailing_comments.as_deref())?;
    let text = text.lines().map(str::trim).collect::<Vec<_>>().join(" ").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn error_schema() -> Json {
    json!({
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": { "type": "integer", "description": "HTTP status." },
                    "status": { "type": "string", "description": "gRPC code name, e.g. INVALID_ARGUMENT." },
                    "message": { "type": "string" },
                    "details": {
                        "type": "array",
                        "description": "google.rpc details (BadRequest, ErrorInfo, ResourceInfo, …) with their @type.",
                        "items": { "type": "object" },
                    },
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use prost_reflect::DescriptorPool;

    use super::*;

    fn doc() -> Json {
        document(&Routes::from_pool(&DescriptorPool::decode(attain_proto::FILE_DESCRIPTOR_SET).unwrap()).unwrap())
    }

    #[test]
    fn every_route_is_documented_with_its_schemas() {
        let d = doc();
        let op = &d["paths"]["/v1/{unit}/dashboard"]["get"];
        assert_eq!(op["operationId"], "GatewayService_GetDashboard");
        let params: Vec<&str> =
            op["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert!(params.contains(&"unit") && params.contains(&"period") && params.contains(&"as_of_date"), "{params:?}");
        let dashboard = &d["components"]["schemas"]["attain.gateway.v1.Dashboard"];
        assert_eq!(dashboard["additionalProperties"], false);
        assert!(dashboard["properties"]["openAlerts"]["items"]["$ref"].is_string());
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/attain.gateway.v1.Dashboard"
        );
    }

    #[test]
    fn bodies_and_comments_come_from_the_protos() {
        let d = doc();
        let op = &d["paths"]["/v1/deals"]["post"];
        assert!(op["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string());
        assert!(op["parameters"].as_array().unwrap().is_empty());
        let summary = d["paths"]["/v1/{unit}/dashboard"]["get"]["summary"].as_str().unwrap();
        assert!(summary.contains("One unit's period"), "{summary}");
        let watch = &d["paths"]["/v1/{unit}/alerts:watch"]["get"];
        assert!(watch["responses"]["200"]["content"]["application/x-ndjson"].is_object());
    }

    #[test]
    fn every_reference_resolves() {
        let d = doc();
        let text = d.to_string();
        for piece in text.split("\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(d["components"]["schemas"][name].is_object(), "{name} is referenced but not defined");
        }
    }
}
