//! URL path templates of `google.api.http` rules, e.g.
//! `/v1/{name=plans/*/adjustments/*}:approve`: parsed once at start-up,
//! matched against request paths without allocation beyond the captures.

/// One `/`-separated piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{field=pattern}` (or `{field}`, which is `{field=*}`): captures as
    /// many path segments as the pattern has, each `*` one non-empty segment.
    Variable {
        field: String,
        pattern: Vec<Option<String>>,
    },
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
    verb: Option<String>,
    text: String,
}

/// A path variable bound by a match: the request field (dotted for nested
/// fields) and the path segments it captured.
pub type Capture = (String, String);

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text.strip_prefix('/').ok_or_else(|| format!("template {text:?} must start with '/'"))?;
        // A custom verb follows the last ':' that is outside any variable.
        let (body, verb) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('}') && !rest[i..].contains('/') => {
                (&rest[..i], Some(rest[i + 1..].to_owned()))
            }
            _ => (rest, None),
        };
        let mut segments = Vec::new();
        let mut chars = body;
        while !chars.is_empty() {
            if let Some(inner) = chars.strip_prefix('{') {
                let end = inner.find('}').ok_or_else(|| format!("unclosed variable in {text:?}"))?;
                let (field, pattern) = match inner[..end].split_once('=') {
                    Some((f, p)) => (f, p),
                    None => (&inner[..end], "*"),
                };
                let pattern = pattern
                    .split('/')
                    .map(|p| match p {
                        "*" => Ok(None),
                        "**" | "" => Err(format!("unsupported pattern {p:?} in {text:?}")),
                        lit => Ok(Some(lit.to_owned())),
                    })
                    .collect::<Result<_, _>>()?;
                segments.push(Segment::Variable { field: field.to_owned(), pattern });
                chars = &inner[end + 1..];
            } else {
                let end = chars.find('/').unwrap_or(chars.len());
                segments.push(Segment::Literal(chars[..end].to_owned()));
                chars = &chars[end..];
            }
            chars = chars.strip_prefix('/').unwrap_or(chars);
        }
        Ok(Self { segments, verb, text: text.to_owned() })
    }

    /// The template as written, for errors and the OpenAPI document.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the template ends in a custom verb (`:approve`).
    pub fn has_verb(&self) -> bool {
        self.verb.is_some()
    }

    /// The OpenAPI form: `/v1/{name}:approve`, with the variables' patterns
    /// left to the parameter descriptions.
    pub fn openapi_path(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Variable { field, .. } => {
                    out.push('{');
                    out.push_str(field);
                    out.push('}');
                }
            }
        }
        if let Some(v) = &self.verb {
            out.push(':');
            out.push_str(v);
        }
        out
    }

    /// The variables with their patterns, e.g. `("name", "plans/*")`.
    pub fn variables(&self) -> Vec<(String, String)> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Variable { field, pattern } => Some((
                    field.clone(),
                    pattern.iter().map(|p| p.as_deref().unwrap_or("*")).collect::<Vec<_>>().join("/"),
                )),
                Segment::Literal(_) => None,
            })
            .collect()
    }

    /// Matches a request path (already percent-decoded per segment).
    pub fn matches(&self, path: &str) -> Option<Vec<Capture>> {
        let rest = path.strip_prefix('/')?;
        let (body, verb) = match (&self.verb, rest.rfind(':')) {
            (Some(_), Some(i)) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if verb != self.verb.as_deref() {
            return None;
        }
        let parts: Vec<&str> = body.split('/').collect();
        let mut at = 0;
        let mut captures = Vec::new();
        for s in &self.segments {
            match s {
                Segment::Literal(l) => {
                    if parts.get(at) != Some(&l.as_str()) {
                        return None;
                    }
                    at += 1;
                }
                Segment::Variable { field, pattern } => {
                    let taken = parts.get(at..at + pattern.len())?;
                    for (part, want) in taken.iter().zip(pattern) {
                        let ok = match want {
                            None => !part.is_empty(),
                            Some(lit) => part == lit,
                        };
                        if !ok {
                            return None;
                        }
                    }
                    captures.push((field.clone(), taken.join("/")));
                    at += pattern.len();
                }
            }
        }
        (at == parts.len()).then_some(captures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Template {
        Template::parse(s).unwrap()
    }

    #[test]
    fn literal_paths_match_exactly() {
        assert_eq!(t("/v1/caller").matches("/v1/caller"), Some(vec![]));
        assert_eq!(t("/v1/caller").matches("/v1/caller/x"), None);
        assert_eq!(t("/v1/caller").matches("/v1"), None);
    }

    #[test]
    fn variables_capture_their_pattern() {
        let tpl = t("/v1/{unit=units/*}/dashboard");
        assert_eq!(tpl.matches("/v1/units/abc/dashboard"), Some(vec![("unit".into(), "units/abc".into())]));
        assert_eq!(tpl.matches("/v1/plans/abc/dashboard"), None);
        assert_eq!(tpl.matches("/v1/units//dashboard"), None);
        assert_eq!(tpl.openapi_path(), "/v1/{unit}/dashboard");
        assert_eq!(tpl.variables(), vec![("unit".to_owned(), "units/*".to_owned())]);
    }

    #[test]
    fn custom_verbs_must_match() {
        let tpl = t("/v1/{name=plans/*/adjustments/*}:approve");
        assert_eq!(
            tpl.matches("/v1/plans/p/adjustments/a:approve"),
            Some(vec![("name".into(), "plans/p/adjustments/a".into())])
        );
        assert_eq!(tpl.matches("/v1/plans/p/adjustments/a:reject"), None);
        assert_eq!(tpl.matches("/v1/plans/p/adjustments/a"), None);
        assert_eq!(
            t("/v1/{name=units/*}").matches("/v1/units/a:subtree"),
            Some(vec![("name".into(), "units/a:subtree".into())])
        );
    }

    #[test]
    fn nested_fields_and_bare_variables() {
        let tpl = t("/v1/{action_item.name=reviews/*/actionItems/*}");
        assert_eq!(tpl.matches("/v1/reviews/r/actionItems/i").unwrap()[0].0, "action_item.name");
        assert_eq!(t("/v1/things/{id}").matches("/v1/things/7"), Some(vec![("id".into(), "7".into())]));
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(Template::parse("v1/x").is_err());
        assert!(Template::parse("/v1/{name=units/*").is_err());
        assert!(Template::parse("/v1/{name=**}").is_err());
    }
}
