//! JSON ↔ protobuf for the REST routes, by the proto3 JSON mapping: the
//! request message is assembled from the body, the path variables and the
//! query string; unknown fields anywhere are refused, never dropped.

use attain_kit::{ServiceError, paging::MAX_PAGE_SIZE};
use prost_reflect::{DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, SerializeOptions, Value};
use serde_json::{Map, Value as Json};

use super::{
    routes::{BodyRule, Route},
    template::Capture,
};

/// The request message for a REST call.
pub fn request(
    route: &Route,
    captures: Vec<Capture>,
    query: &str,
    body: &[u8],
) -> Result<DynamicMessage, ServiceError> {
    let input = route.method.input();
    let mut root = match &route.body {
        BodyRule::None => {
            if !body.iter().all(u8::is_ascii_whitespace) {
                return Err(ServiceError::invalid("body", format!("{} takes no body", route.template.as_str())));
            }
            Map::new()
        }
        BodyRule::Whole => match parse_json(body)? {
            Json::Object(m) => m,
            Json::Null => Map::new(),
            _ => return Err(ServiceError::invalid("body", "must be a JSON object")),
        },
        BodyRule::Field(field) => {
            let mut m = Map::new();
            m.insert(field.clone(), parse_json(body)?);
            m
        }
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if route.body == BodyRule::Whole {
            return Err(ServiceError::invalid(
                key.as_ref(),
                "query parameters are not taken where the body is the whole request",
            ));
        }
        set_query(&input, &mut root, &key, &value)?;
    }
    for (field, value) in captures {
        set_path(&mut root, &field, Json::String(value));
    }
    check_object(&input, &root, "")?;
    let mut msg = DynamicMessage::deserialize_with_options(input, Json::Object(root), &DeserializeOptions::new())
        .map_err(|e| ServiceError::invalid("body", e.to_string()))?;
    cap_page_size(&mut msg);
    Ok(msg)
}

/// A page size above the cap is served at the cap (with a next page token),
/// not refused: clients asking for "everything" still get an answer.
fn cap_page_size(msg: &mut DynamicMessage) {
    let cap = i32::try_from(MAX_PAGE_SIZE).unwrap_or(i32::MAX);
    let over = matches!(msg.get_field_by_name("page_size").as_deref(), Some(Value::I32(n)) if *n > cap);
    if over {
        msg.set_field_by_name("page_size", Value::I32(cap));
    }
}

/// The response message as JSON, with every field shown (zeros included):
/// a dashboard should not have to know proto3 defaults.
pub fn response(msg: &DynamicMessage) -> Result<Vec<u8>, ServiceError> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::new(&mut out);
    msg.serialize_with_options(&mut ser, &SerializeOptions::new().skip_default_fields(false))
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("cannot render the response as JSON: {e}")))?;
    Ok(out)
}

fn parse_json(body: &[u8]) -> Result<Json, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Null);
    }
    serde_json::from_slice(body).map_err(|e| ServiceError::invalid("body", format!("is not valid JSON: {e}")))
}

/// Sets `a.b.c` in the JSON object, making the objects on the way.
fn set_path(root: &mut Map<String, Json>, dotted: &str, value: Json) {
    let mut parts = dotted.split('.').peekable();
    let mut at = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            at.insert(part.to_owned(), value);
            return;
        }
        let next = at.entry(part.to_owned()).or_insert_with(|| Json::Object(Map::new()));
        if !next.is_object() {
            *next = Json::Object(Map::new());
        }
        let Json::Object(m) = next else { return };
        at = m;
    }
}

/// A query parameter `a.b=v` becomes the JSON value its field's kind takes;
/// a repeated field collects every occurrence.
fn set_query(
    input: &MessageDescriptor,
    root: &mut Map<String, Json>,
    key: &str,
    raw: &str,
) -> Result<(), ServiceError> {
    let unknown = || ServiceError::invalid(key, format!("is not a field of {}", input.name()));
    let mut desc = input.clone();
    let mut names = Vec::new();
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let field = desc.get_field_by_name(part).or_else(|| desc.get_field_by_json_name(part)).ok_or_else(unknown)?;
        names.push(field.name().to_owned());
        let last = i + 1 == parts.len();
        match (field.kind(), last) {
            (Kind::Message(m), false) => desc = m,
            (_, false) => return Err(unknown()),
            (kind, true) => {
                let dotted = names.join(".");
                // A repeated field's bad value is named by its place, as
                // gRPC callers see it ("statuses[1]").
                let at = match lookup(root, &dotted).and_then(Json::as_array) {
                    Some(items) if field.is_list() => format!("{dotted}[{}]", items.len()),
                    None if field.is_list() => format!("{dotted}[0]"),
                    _ => dotted.clone(),
                };
                let value = scalar(&kind, raw)
                    .ok_or_else(|| ServiceError::invalid(at, format!("{raw:?} is not a valid {}", kind_name(&kind))))?;
                if field.is_list() {
                    let mut list = lookup(root, &dotted).cloned().unwrap_or(Json::Array(Vec::new()));
                    if let Json::Array(items) = &mut list {
                        items.push(value);
                    }
                    set_path(root, &dotted, list);
                } else {
                    set_path(root, &dotted, value);
                }
            }
        }
    }
    Ok(())
}

fn lookup<'a>(root: &'a Map<String, Json>, dotted: &str) -> Option<&'a Json> {
    let mut parts = dotted.split('.');
    let mut at = root.get(parts.next()?)?;
    for part in parts {
        at = at.get(part)?;
    }
    Some(at)
}

/// `a_b.c_d,e` → `aB.cD,e`.
fn camel_paths(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut upper = false;
    for c in raw.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// The JSON form of a query value; 64-bit integers and floats stay strings,
/// which the proto3 JSON mapping accepts.
fn scalar(kind: &Kind, raw: &str) -> Option<Json> {
    Some(match kind {
        Kind::Bool => Json::Bool(raw.parse().ok()?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Json::from(raw.parse::<i32>().ok()?),
        Kind::Uint32 | Kind::Fixed32 => Json::from(raw.parse::<u32>().ok()?),
        // A field mask's JSON form names fields in lowerCamelCase; a query
        // may name them as the proto does (`read_mask=alert_summary`).
        // A capitalised path ("Compliance") is neither form: refused, not
        // turned into a field of another name.
        Kind::Message(m) if m.full_name() == "google.protobuf.FieldMask" => {
            let capital = raw.split([',', '.']).any(|p| p.trim().starts_with(|c: char| c.is_ascii_uppercase()));
            if capital {
                return None;
            }
            Json::String(camel_paths(raw))
        }
        Kind::Message(m) if m.full_name().starts_with("google.protobuf.") => Json::String(raw.to_owned()),
        Kind::Message(_) => return None,
        // By name, or by number as the proto3 JSON mapping allows.
        Kind::Enum(e) => match raw.parse::<i32>() {
            Ok(n) => Json::from(e.get_value(n)?.number()),
            Err(_) => Json::String(e.get_value_by_name(raw)?.name().to_owned()),
        },
        _ => Json::String(raw.to_owned()),
    })
}

/// Finds the first value that does not fit its field, so that the error
/// names the field ("deal.amount.amount", as gRPC callers see it) rather
/// than the whole body.
fn check_object(desc: &MessageDescriptor, obj: &Map<String, Json>, path: &str) -> Result<(), ServiceError> {
    let join = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    let mut oneofs: Vec<String> = Vec::new();
    for (key, value) in obj {
        let Some(field) = desc.get_field_by_json_name(key).or_else(|| desc.get_field_by_name(key)) else {
            return Err(ServiceError::invalid(join(key), format!("is not a field of {}", desc.name())));
        };
        let at = join(field.name());
        if value.is_null() || field.is_map() {
            continue;
        }
        if let Some(o) = field.containing_oneof() {
            if oneofs.iter().any(|seen| seen == o.name()) {
                return Err(ServiceError::invalid(at, format!("only one field of {} may be set", o.name())));
            }
            oneofs.push(o.name().to_owned());
        }
        if field.is_list() {
            let Json::Array(items) = value else {
                return Err(ServiceError::invalid(at, "must be a JSON array"));
            };
            for (i, item) in items.iter().enumerate() {
                check_value(&field.kind(), item, &format!("{at}[{i}]"))?;
            }
        } else {
            check_value(&field.kind(), value, &at)?;
        }
    }
    Ok(())
}

fn check_value(kind: &Kind, v: &Json, at: &str) -> Result<(), ServiceError> {
    let fits = match (kind, v) {
        // Well-known types have JSON forms of their own; prost-reflect checks them.
        (Kind::Message(m), _) if m.full_name().starts_with("google.protobuf.") => true,
        (Kind::Message(m), Json::Object(o)) => return check_object(m, o, at),
        (Kind::Message(_), _) => false,
        (Kind::Enum(e), Json::String(s)) => e.get_value_by_name(s).is_some(),
        (Kind::Enum(e), Json::Number(n)) => {
            n.as_i64().and_then(|n| i32::try_from(n).ok()).is_some_and(|n| e.get_value(n).is_some())
        }
        (Kind::Enum(_), _) => false,
        (Kind::String | Kind::Bytes, v) => v.is_string(),
        (Kind::Bool, v) => v.is_boolean(),
        // Numbers: a JSON number or a decimal string (64-bit ints).
        (_, v) => v.is_number() || v.is_string(),
    };
    if fits {
        return Ok(());
    }
    let mut shown = v.to_string();
    if shown.chars().count() > 60 {
        shown = shown.chars().take(60).collect::<String>() + "…";
    }
    Err(ServiceError::invalid(at, format!("{shown} is not a valid {}", kind_name(kind))))
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use http::Method;
    use prost_reflect::DescriptorPool;

    use super::*;
    use crate::rest::routes::Routes;

    static ROUTES: std::sync::LazyLock<Routes> = std::sync::LazyLock::new(|| {
        Routes::from_pool(&DescriptorPool::decode(attain_proto::FILE_DESCRIPTOR_SET).unwrap()).unwrap()
    });

    fn with<T>(verb: Method, path: &str, f: impl FnOnce(&Route, Vec<Capture>) -> T) -> T {
        let (route, captures) = ROUTES.find(&verb, path).unwrap();
        f(route, captures)
    }

    fn field(msg: &DynamicMessage, name: &str) -> Value {
        msg.get_field_by_name(name).unwrap().into_owned()
    }

    proptest::proptest! {
        // Fuzzing by property: any body or query on a write and a read is an
        // answer or a named error, never a panic.
        #[test]
        fn any_body_or_query_is_handled(body in "\\PC{0,200}", query in "[a-z_.=&%0-9A-Z]{0,80}") {
            let _ = with(Method::POST, "/v1/deals", |r, c| request(r, c, "", body.as_bytes()));
            let _ = with(Method::GET, "/v1/units/u1/alerts", |r, c| request(r, c, &query, b""));
        }
    }

    #[test]
    fn path_and_query_fill_the_request() {
        let msg = with(Method::GET, "/v1/units/u1/dashboard", |r, c| request(r, c, "period=2024-01", b"")).unwrap();
        assert_eq!(field(&msg, "unit"), Value::String("units/u1".into()));
        assert_eq!(field(&msg, "period"), Value::String("2024-01".into()));
    }

    #[test]
    fn enums_ints_and_json_names_parse_from_the_query() {
        let msg =
            with(Method::GET, "/v1/units/u1/alerts", |r, c| request(r, c, "state=ALERT_STATE_OPEN&pageSize=5", b""))
                .unwrap();
        assert_eq!(field(&msg, "page_size"), Value::I32(5));
        assert!(matches!(field(&msg, "state"), Value::EnumNumber(n) if n > 0));
        let by_number = with(Method::GET, "/v1/units/u1/alerts", |r, c| request(r, c, "state=1", b"")).unwrap();
        assert_eq!(field(&by_number, "state"), field(&msg, "state"), "an enum by its number, as proto3 JSON allows");
    }

    #[test]
    fn page_size_is_capped() {
        let msg = with(Method::GET, "/v1/units/u1/alerts", |r, c| request(r, c, "page_size=100000", b"")).unwrap();
        assert_eq!(field(&msg, "page_size"), Value::I32(1000));
    }

    #[test]
    fn unknown_and_malformed_input_names_the_problem() {
        let bad = |path: &str, verb: Method, query: &str, body: &[u8]| {
            with(verb, path, |r, c| request(r, c, query, body)).unwrap_err().to_string()
        };
        assert!(bad("/v1/units/u1/dashboard", Method::GET, "colour=red", b"").contains("colour"));
        assert!(bad("/v1/units/u1/alerts", Method::GET, "page_size=ten", b"").contains("page_size"));
        assert!(bad("/v1/deals", Method::POST, "", b"{\"deal\": ").contains("not valid JSON"));
        assert!(bad("/v1/deals", Method::POST, "", b"{\"deal\": {\"colour\": 1}}").contains("colour"));
        assert!(bad("/v1/deals", Method::POST, "", b"[1]").contains("JSON object"));
        assert!(bad("/v1/units/u1/dashboard", Method::GET, "", b"{}").contains("takes no body"));
        let second = bad("/v1/units/u1/obligations", Method::GET, "statuses=1&statuses=NOPE", b"");
        assert!(second.contains("statuses[1]"), "a repeated field's value is named by its place: {second}");
        let capital = bad("/v1/units/u1/dashboard", Method::GET, "read_mask=Compliance", b"");
        assert!(capital.contains("read_mask"), "{capital}");
    }

    #[test]
    fn a_body_field_binding_nests_the_path_variable() {
        let msg = with(Method::PATCH, "/v1/reviews/r/actionItems/i", |r, c| {
            request(r, c, "update_mask=status", br#"{"status": "ACTION_STATUS_DONE"}"#)
        })
        .unwrap();
        let Value::Message(item) = field(&msg, "action_item") else { panic!("action_item") };
        assert_eq!(field(&item, "name"), Value::String("reviews/r/actionItems/i".into()));
    }

    #[test]
    fn responses_show_zero_fields() {
        let msg = with(Method::GET, "/v1/units/u1/dashboard", |r, c| request(r, c, "", b"")).unwrap();
        let json: Json = serde_json::from_slice(&response(&msg).unwrap()).unwrap();
        assert_eq!(json["asOfDate"], "");
        assert_eq!(json["unit"], "units/u1");
    }
}
