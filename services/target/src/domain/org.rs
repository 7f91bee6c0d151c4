//! The organisation tree: units, their kinds and attributes, and the rules
//! a tree must keep (kinds nest in order, no cycles, a REP has no children,
//! sibling names unique).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use attain_core::DomainError;

/// Longest display name accepted.
pub const MAX_NAME_CHARS: usize = 100;

pub use attain_core::id::Id;

/// Units are named by an [`Id`].
pub type UnitId = Id;

/// A unit's display name: trimmed, 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(DomainError::invalid(field, "must not be empty"));
        }
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(DomainError::invalid(
                field,
                format!("is {chars} characters long; at most {MAX_NAME_CHARS} are allowed"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::invalid(field, "must not contain control characters"));
        }
        if let Some(why) = attain_core::text::suspicious(name) {
            return Err(DomainError::invalid(field, why));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key sibling names must be unique by (case-insensitive).
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Kinds nest in this order; a child's kind is deeper than its parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum UnitKind {
    Company,
    Region,
    Team,
    Rep,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Company => "COMPANY",
            Self::Region => "REGION",
            Self::Team => "TEAM",
            Self::Rep => "REP",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Company, Self::Region, Self::Team, Self::Rep].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seniority {
    Senior,
    Regular,
    NewHire,
}

impl Seniority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Senior => "SENIOR",
            Self::Regular => "REGULAR",
            Self::NewHire => "NEW_HIRE",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Senior, Self::Regular, Self::NewHire].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegionMaturity {
    Established,
    New,
}

impl RegionMaturity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Established => "ESTABLISHED",
            Self::New => "NEW",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Established, Self::New].into_iter().find(|k| k.as_str() == s)
    }
}

/// What can change about a unit without moving it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitAttributes {
    pub display_name: DisplayName,
    /// Person id of the manager; for a REP unit, the rep.
    pub manager: String,
    pub seniority: Option<Seniority>,
    pub start_date: Option<NaiveDate>,
    /// The last day it works (a rep who left).
    pub end_date: Option<NaiveDate>,
    pub region_maturity: Option<RegionMaturity>,
    /// A REP's employee code, unique across the org (sheets name people
    /// by it).
    #[serde(default)]
    pub employee_code: Option<String>,
}

impl UnitAttributes {
    /// Attributes that only some kinds carry.
    pub fn check_for(&self, kind: UnitKind, field_prefix: &str) -> Result<(), DomainError> {
        if self.seniority.is_some() && kind != UnitKind::Rep {
            return Err(DomainError::invalid(format!("{field_prefix}seniority"), "only REP units have a seniority"));
        }
        if self.region_maturity.is_some() && kind != UnitKind::Region {
            return Err(DomainError::invalid(
                format!("{field_prefix}region_maturity"),
                "only REGION units have a maturity",
            ));
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date)
            && end < start
        {
            return Err(DomainError::invalid(
                format!("{field_prefix}end_date"),
                format!("{end} is before the start date {start}"),
            ));
        }
        if let Some(code) = &self.employee_code {
            if kind != UnitKind::Rep {
                return Err(DomainError::invalid(
                    format!("{field_prefix}employee_code"),
                    "only REP units have an employee code",
                ));
            }
            // Letters and digits as HR writes them ("E1024", "sh-0042"):
            // never a name, which a sheet would read as someone else.
            if code.is_empty()
                || code.len() > 32
                || !code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(DomainError::invalid(
                    format!("{field_prefix}employee_code"),
                    "must be 1–32 ASCII letters, digits, '-', '_' or '.'",
                ));
            }
        }
        if self.manager.chars().count() > 128 || self.manager.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                format!("{field_prefix}manager"),
                "must be a person id of at most 128 printable characters",
            ));
        }
        Ok(())
    }
}

/// A unit as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub id: UnitId,
    pub parent: Option<UnitId>,
    pub kind: UnitKind,
    pub attributes: UnitAttributes,
    /// From the root down to the parent.
    pub ancestors: Vec<UnitId>,
    /// Where it sat before its moves (its own or an ancestor's), oldest
    /// first: each place's ancestors and last day.
    #[serde(default)]
    pub former: Vec<Placement>,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// A dated move of a unit (with its subtree), as the move log keeps it for
/// followers.
#[derive(Debug, Clone)]
pub struct UnitMove {
    /// Increasing in commit order (0 until logged).
    pub sequence: i64,
    pub unit: UnitId,
    /// The first day in the new place.
    pub from: NaiveDate,
    /// Root first, the unit last.
    pub old_path: Vec<UnitId>,
    pub new_path: Vec<UnitId>,
    pub recorded: DateTime<Utc>,
}

/// A place a unit held in the tree: its ancestors then, through `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub ancestors: Vec<UnitId>,
    pub until: NaiveDate,
}

impl Unit {
    /// Its ancestors on `day`.
    pub fn ancestors_on(&self, day: NaiveDate) -> &[UnitId] {
        self.former.iter().find(|p| p.until >= day).map_or(&self.ancestors, |p| &p.ancestors)
    }

    /// Each place it held, with its days there (oldest first) and its path
    /// then (root first, the unit last).
    pub fn stretches(&self) -> Vec<(super::target::Window, Vec<String>)> {
        let path = |ancestors: &[UnitId]| -> Vec<String> {
            ancestors.iter().chain(std::iter::once(&self.id)).map(|u| u.as_str().to_owned()).collect()
        };
        let mut out = Vec::with_capacity(self.former.len() + 1);
        let mut from = None;
        for p in &self.former {
            out.push((super::target::Window { from, until: Some(p.until) }, path(&p.ancestors)));
            from = p.until.succ_opt();
        }
        out.push((super::target::Window { from, until: None }, path(&self.ancestors)));
        out
    }

    /// As readers of only some of its places see it: the places they may
    /// not read keep their days but not where they were (no ancestors) — a
    /// rep's old manager learns when it left, not where it went, and its
    /// manager now, when it was away, not where; where it sits now
    /// unreadable, nothing of its manager or code either.
    pub fn redact(&mut self, readable: impl Fn(&[String]) -> bool) {
        let path_of = |ancestors: &[UnitId], id: &UnitId| -> Vec<String> {
            ancestors.iter().chain(std::iter::once(id)).map(|u| u.as_str().to_owned()).collect()
        };
        for p in &mut self.former {
            if !readable(&path_of(&p.ancestors, &self.id)) {
                p.ancestors.clear();
            }
        }
        if readable(&self.path()) {
            return;
        }
        self.ancestors.clear();
        self.parent = None;
        self.attributes.manager = String::new();
        self.attributes.employee_code = None;
    }

    /// Where it sat before the moves `undone` (each a moved unit — itself
    /// or an ancestor — and its first day in the new place) were made: an
    /// `as_of` read of a time before they were recorded. A unit's moves
    /// are made in the order of their days, so these are its last places.
    pub fn before_moves(&mut self, undone: &[(UnitId, NaiveDate)]) {
        while let Some(p) = self.former.last() {
            let first_day = p.until.succ_opt();
            let by = |u: &UnitId| *u == self.id || p.ancestors.contains(u) || self.ancestors.contains(u);
            if !undone.iter().any(|(u, d)| Some(*d) == first_day && by(u)) {
                break;
            }
            if let Some(p) = self.former.pop() {
                self.parent = p.ancestors.last().cloned();
                self.ancestors = p.ancestors;
            }
        }
    }

    /// Whether `parent` was its parent in a former place.
    pub fn was_child_of(&self, parent: &UnitId) -> bool {
        self.former.iter().any(|p| p.ancestors.last() == Some(parent))
    }

    /// The day after its last move (its own or an ancestor's), if it moved.
    pub fn placed_since(&self) -> Option<NaiveDate> {
        self.former.last().and_then(|p| p.until.succ_opt())
    }

    /// Records that its current place ends the day before `from`, taking
    /// `ancestors` from then. A place that lasted no day (moved twice on
    /// one day) leaves no trace.
    pub fn move_from(&mut self, from: NaiveDate, ancestors: Vec<UnitId>) {
        if let Some(until) = from.pred_opt()
            && self.placed_since().is_none_or(|since| since <= until)
        {
            self.former.push(Placement { ancestors: std::mem::replace(&mut self.ancestors, ancestors), until });
        } else {
            self.ancestors = ancestors;
        }
    }

    /// Ids from the root down to this unit, for scope checks.
    pub fn path(&self) -> Vec<String> {
        self.ancestors.iter().chain(std::iter::once(&self.id)).map(|u| u.as_str().to_owned()).collect()
    }

    /// Whether `other` is this unit or lies below it.
    pub fn contains(&self, other: &Unit) -> bool {
        other.id == self.id || other.ancestors.contains(&self.id)
    }

    pub fn etag(&self) -> String {
        self.version.to_string()
    }
}

/// Checks that a unit of `kind` may sit under `parent` (None: a root).
pub fn check_placement(parent: Option<&Unit>, kind: UnitKind, field: &str) -> Result<(), DomainError> {
    match parent {
        None if kind == UnitKind::Company => Ok(()),
        None => Err(DomainError::invalid(
            field,
            format!("a {} unit needs a parent; only COMPANY units are roots", kind.as_str()),
        )),
        Some(p) if p.kind == UnitKind::Rep => {
            Err(DomainError::invalid(field, format!("{} is a REP unit, which has no children", p.id.resource_name())))
        }
        Some(p) if kind <= p.kind => Err(DomainError::invalid(
            field,
            format!(
                "a {} unit cannot sit under a {} unit (kinds nest COMPANY → REGION → TEAM → REP)",
                kind.as_str(),
                p.kind.as_str()
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// Checks that moving `unit` under `new_parent` makes no cycle.
pub fn check_no_cycle(unit: &Unit, new_parent: &Unit, field: &str) -> Result<(), DomainError> {
    if unit.contains(new_parent) {
        return Err(DomainError::invalid(
            field,
            format!(
                "moving {} under {} would make it its own ancestor",
                unit.id.resource_name(),
                new_parent.id.resource_name()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, kind: UnitKind, ancestors: &[&str]) -> Unit {
        Unit {
            id: Id::parse("id", id).unwrap(),
            parent: ancestors.last().map(|a| Id::parse("id", a).unwrap()),
            kind,
            attributes: UnitAttributes {
                display_name: DisplayName(id.into()),
                manager: String::new(),
                seniority: None,
                start_date: None,
                end_date: None,
                region_maturity: None,
                employee_code: None,
            },
            ancestors: ancestors.iter().map(|a| Id::parse("id", a).unwrap()).collect(),
            former: Vec::new(),
            version: 1,
            create_time: Utc::now(),
            update_time: Utc::now(),
        }
    }

    #[test]
    fn names_parse() {
        assert!(DisplayName::parse("f", "  华东区  ").unwrap().as_str() == "华东区");
        assert!(DisplayName::parse("f", "   ").is_err());
        assert!(DisplayName::parse("f", &"名".repeat(100)).is_ok());
        assert!(DisplayName::parse("f", &"名".repeat(101)).is_err());
        assert!(DisplayName::parse("f", "a\u{7}b").is_err());
        assert_eq!(DisplayName::parse("f", "Region A").unwrap().key(), "region a");
    }

    #[test]
    fn kinds_nest_in_order() {
        let company = unit("acme", UnitKind::Company, &[]);
        let region = unit("ra", UnitKind::Region, &["acme"]);
        let rep = unit("r1", UnitKind::Rep, &["acme", "ra"]);
        assert!(check_placement(None, UnitKind::Company, "p").is_ok());
        assert!(check_placement(None, UnitKind::Region, "p").is_err());
        assert!(check_placement(Some(&company), UnitKind::Region, "p").is_ok());
        assert!(check_placement(Some(&region), UnitKind::Rep, "p").is_ok(), "a region may hold reps directly");
        assert!(check_placement(Some(&region), UnitKind::Region, "p").is_err());
        assert!(check_placement(Some(&region), UnitKind::Company, "p").is_err());
        assert!(check_placement(Some(&rep), UnitKind::Rep, "p").is_err());
    }

    #[test]
    fn cycles_are_found() {
        let region = unit("ra", UnitKind::Region, &["acme"]);
        let team = unit("t1", UnitKind::Team, &["acme", "ra"]);
        let other = unit("rb", UnitKind::Region, &["acme"]);
        assert!(check_no_cycle(&region, &team, "p").is_err());
        assert!(check_no_cycle(&region, &region, "p").is_err());
        assert!(check_no_cycle(&team, &other, "p").is_ok());
    }

    #[test]
    fn attributes_belong_to_kinds() {
        let mut a = unit("x", UnitKind::Team, &["acme"]).attributes;
        a.seniority = Some(Seniority::Senior);
        assert!(a.check_for(UnitKind::Team, "unit.").is_err());
        assert!(a.check_for(UnitKind::Rep, "unit.").is_ok());
    }
}

/// What a revision records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitChange {
    Created,
    Updated,
    Moved,
}

impl UnitChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Updated => "UPDATED",
            Self::Moved => "MOVED",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Created, Self::Updated, Self::Moved].into_iter().find(|c| c.as_str() == s)
    }
}

/// One change of a unit, as recorded.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: i64,
    pub change: UnitChange,
    pub unit: Unit,
    pub actor: String,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}
