//! A dashboard's read mask (AIP-157): the fields a client shows, and so
//! the sections — and backend calls — the fan-out makes. A client that
//! shows a summary of alerts need not pay for a hundred of them in full.

use attain_kit::{ServiceError, ServiceResult};
use prost_types::FieldMask;

/// The fields of a dashboard a mask asks for, one bit each in `FIELDS`
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Wanted(u32);

/// Every field a mask may name. The first four always come back: they say
/// what the answer is and how fresh, and cost no call.
const FIELDS: [&str; 16] = [
    "unit",
    "sections",
    "data_time",
    "from_cache",
    "display_name",
    "period",
    "attainment",
    "children",
    "burn_up",
    "gap_attribution",
    "open_alerts",
    "alert_summary",
    "top_loss_reasons",
    "open_action_items",
    "latest_review",
    "compliance",
];
const ALWAYS: u32 = 0b1111;

/// A JSON client may send the field's JSON name (`alertSummary`).
fn snake(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn bit(field: &str) -> u32 {
    FIELDS.iter().position(|f| *f == field).map_or(0, |i| 1 << i)
}

impl Wanted {
    pub const ALL: Self = Self((1 << FIELDS.len()) - 1);

    /// The fields a mask names; none or `*`: all of them.
    pub fn parse(mask: Option<&FieldMask>) -> ServiceResult<Self> {
        let paths: Vec<&str> =
            mask.map(|m| m.paths.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect()).unwrap_or_default();
        if paths.is_empty() || paths.contains(&"*") {
            return Ok(Self::ALL);
        }
        let mut bits = ALWAYS;
        for path in paths {
            let name = snake(path);
            match bit(&name) {
                0 if name.contains('.') => {
                    return Err(ServiceError::invalid(
                        "read_mask",
                        format!("{path:?}: only whole fields of the dashboard can be asked for, not a part of one"),
                    ));
                }
                0 => {
                    return Err(ServiceError::invalid(
                        "read_mask",
                        format!("{path:?} is not a dashboard field (fields: {})", FIELDS.join(", ")),
                    ));
                }
                b => bits |= b,
            }
        }
        Ok(Self(bits))
    }

    /// Whether the field is asked for.
    pub fn has(self, field: &str) -> bool {
        self.0 & bit(field) != 0
    }

    /// Whether any of the fields is (the section that fills them is read).
    pub fn any(self, fields: &[&str]) -> bool {
        fields.iter().any(|f| self.has(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(paths: &[&str]) -> FieldMask {
        FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }
    }

    #[test]
    fn no_mask_or_a_star_reads_everything() {
        assert_eq!(Wanted::parse(None).ok(), Some(Wanted::ALL));
        assert_eq!(Wanted::parse(Some(&mask(&[]))).ok(), Some(Wanted::ALL));
        assert_eq!(Wanted::parse(Some(&mask(&["*"]))).ok(), Some(Wanted::ALL));
    }

    #[test]
    fn a_mask_reads_only_the_sections_its_fields_need() {
        let w = Wanted::parse(Some(&mask(&["children", "alertSummary", "data_time"]))).unwrap_or(Wanted::ALL);
        assert!(w.has("children") && w.has("alert_summary") && w.has("unit") && w.has("from_cache"));
        assert!(!w.has("attainment") && !w.has("open_alerts") && !w.has("burn_up"));
        assert!(w.any(&["attainment", "children"]));
        let bare = Wanted::parse(Some(&mask(&["unit", "sections"]))).unwrap_or(Wanted::ALL);
        assert!(!bare.any(&FIELDS[4..]));
        assert!(FIELDS.iter().all(|f| Wanted::ALL.has(f)));
    }

    #[test]
    fn unknown_or_nested_fields_are_refused_by_name() {
        for bad in ["alerts", "attainment.actual", "openAlerts.message"] {
            let e = Wanted::parse(Some(&mask(&["attainment", bad]))).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("read_mask") && e.contains(bad), "{bad}: {e}");
        }
    }
}
