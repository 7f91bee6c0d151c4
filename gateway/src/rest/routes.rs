//! The REST routes, read from the `google.api.http` options in the
//! descriptor set the protos compile to: the protos are the one source of
//! both the gRPC and the REST surface (and of the OpenAPI document).

use http::Method;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, Value};

use super::template::{Capture, Template};

/// Where the HTTP body goes in the request message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRule {
    /// No body; every field not bound by the path comes from the query.
    None,
    /// The body is the whole request (less the path variables).
    Whole,
    /// The body is this field; the rest comes from the path and query.
    Field(String),
}

/// One REST binding of a gRPC method.
#[derive(Debug, Clone)]
pub struct Route {
    pub verb: Method,
    pub template: Template,
    pub body: BodyRule,
    pub method: MethodDescriptor,
}

impl Route {
    /// The gRPC path the call is made on, e.g. `/attain.gateway.v1.GatewayService/GetDashboard`.
    pub fn grpc_path(&self) -> String {
        format!("/{}/{}", self.method.parent_service().full_name(), self.method.name())
    }
}

/// Every binding, verbs (`:approve`) first so `/v1/{name=units/*}` does not
/// swallow `/v1/units/a:subtree`.
#[derive(Debug, Clone)]
pub struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    pub fn from_pool(pool: &DescriptorPool) -> anyhow::Result<Self> {
        let ext = pool
            .get_extension_by_name("google.api.http")
            .ok_or_else(|| anyhow::anyhow!("the descriptor set lacks google.api.http"))?;
        let mut routes = Vec::new();
        for service in pool.services() {
            for method in service.methods() {
                let options = method.options();
                if !options.has_extension(&ext) {
                    continue;
                }
                if let Value::Message(rule) = options.get_extension(&ext).as_ref() {
                    routes.push(route(&method, rule)?);
                }
            }
        }
        routes.sort_by_key(|r| !r.template.has_verb());
        Ok(Self { routes })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// The route for a request and its path captures; `Err(true)` when the
    /// path is known but not for this HTTP method.
    pub fn find(&self, verb: &Method, path: &str) -> Result<(&Route, Vec<Capture>), bool> {
        let mut path_known = false;
        for r in &self.routes {
            if let Some(captures) = r.template.matches(path) {
                if r.verb == *verb {
                    return Ok((r, captures));
                }
                path_known = true;
            }
        }
        Err(path_known)
    }
}

fn text(rule: &DynamicMessage, field: &str) -> String {
    match rule.get_field_by_name(field).as_deref() {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn route(method: &MethodDescriptor, rule: &DynamicMessage) -> anyhow::Result<Route> {
    let (verb, path) = [
        ("get", Method::GET),
        ("post", Method::POST),
        ("put", Method::PUT),
        ("delete", Method::DELETE),
        ("patch", Method::PATCH),
    ]
    .into_iter()
    .find_map(|(name, verb)| rule.has_field_by_name(name).then(|| (verb, text(rule, name))))
    .ok_or_else(|| anyhow::anyhow!("{}: only get/post/put/delete/patch bindings are supported", method.full_name()))?;
    let template = Template::parse(&path).map_err(|e| anyhow::anyhow!("{}: {e}", method.full_name()))?;
    let body = match text(rule, "body").as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        field => BodyRule::Field(field.to_owned()),
    };
    for (field, _) in template.variables() {
        let top = field.split('.').next().unwrap_or_default();
        if method.input().get_field_by_name(top).is_none() {
            anyhow::bail!("{}: path variable {field} is not a request field", method.full_name());
        }
    }
    Ok(Route { verb, template, body, method: method.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        Routes::from_pool(&DescriptorPool::decode(attain_proto::FILE_DESCRIPTOR_SET).unwrap()).unwrap()
    }

    #[test]
    fn the_protos_bindings_load() {
        let r = routes();
        let (route, captures) = r.find(&Method::GET, "/v1/units/u1/dashboard").unwrap();
        assert_eq!(route.grpc_path(), "/attain.gateway.v1.GatewayService/GetDashboard");
        assert_eq!(captures, vec![("unit".to_owned(), "units/u1".to_owned())]);
        let (route, _) = r.find(&Method::POST, "/v1/plans/p/adjustments/a:approve").unwrap();
        assert_eq!(route.method.name(), "ApproveAdjustment");
        assert_eq!(route.body, BodyRule::Whole);
    }

    #[test]
    fn verbs_win_over_plain_variables() {
        let routes = routes();
        let (route, _) = routes.find(&Method::GET, "/v1/units/u1:subtree").unwrap();
        assert_eq!(route.method.name(), "GetSubtree");
        let (route, _) = routes.find(&Method::GET, "/v1/units/u1").unwrap();
        assert_eq!(route.method.name(), "GetUnit");
    }

    #[test]
    fn a_known_path_with_the_wrong_method_is_told_apart() {
        assert!(matches!(routes().find(&Method::DELETE, "/v1/units/u1/dashboard"), Err(true)));
        assert!(matches!(routes().find(&Method::GET, "/v1/nothing"), Err(false)));
    }
}
