//! Units as callers need them.

use std::collections::HashMap;

use attain_core::id::Id;
use attain_kit::ServiceResult;
use attain_proto::attain::target::v1::{self as pb, UnitKind};

use crate::bad;

/// A unit and where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitInfo {
    pub id: Id,
    pub parent: Option<Id>,
    pub is_rep: bool,
    pub kind: Kind,
    pub display_name: String,
    /// From the root down to the unit itself.
    pub path: Vec<Id>,
    /// When the rep started or the region opened, if known.
    pub start_date: Option<chrono::NaiveDate>,
    /// The unit's last day (a rep who left), if it has one.
    pub end_date: Option<chrono::NaiveDate>,
    /// A rep's employee code, if it has one.
    pub employee_code: Option<String>,
    /// Where it sat before its moves: each place's last day and path (root
    /// first, the unit last), oldest first.
    pub former: Vec<(chrono::NaiveDate, Vec<Id>)>,
}

/// A unit's level in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Kind {
    Company,
    Region,
    Team,
    Rep,
    /// An older target service that sent none.
    #[default]
    Unknown,
}

impl Kind {
    fn from_wire(k: i32) -> Self {
        match UnitKind::try_from(k) {
            Ok(UnitKind::Company) => Self::Company,
            Ok(UnitKind::Region) => Self::Region,
            Ok(UnitKind::Team) => Self::Team,
            Ok(UnitKind::Rep) => Self::Rep,
            _ => Self::Unknown,
        }
    }
}

impl UnitInfo {
    /// Whether the unit exists on `day` (started, not yet left).
    pub fn active_on(&self, day: chrono::NaiveDate) -> bool {
        self.start_date.is_none_or(|s| s <= day) && self.end_date.is_none_or(|e| day <= e)
    }

    /// Its places over time: (first day, last day, path), oldest first
    /// (`None`: open).
    pub fn stretches(&self) -> Vec<(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>, &[Id])> {
        let mut out = Vec::with_capacity(self.former.len() + 1);
        let mut from = None;
        for (until, path) in &self.former {
            out.push((from, Some(*until), path.as_slice()));
            from = until.succ_opt();
        }
        out.push((from, None, self.path.as_slice()));
        out
    }

    /// Every path it has had: where it sits, then where it sat.
    pub fn places(&self) -> Vec<Vec<Id>> {
        let mut out = vec![self.path.clone()];
        for (_, p) in &self.former {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        out
    }

    /// The days it sat directly under `parent`, as inclusive ranges
    /// (`None`: open), oldest first.
    pub fn days_under(&self, parent: &Id) -> Vec<(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>)> {
        let mut out: Vec<(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>)> = Vec::new();
        let mut from = None;
        let parent_of = |path: &[Id]| path.len().checked_sub(2).and_then(|i| path.get(i)).cloned();
        let places = self.former.iter().map(|(until, path)| (Some(*until), path.as_slice()));
        for (until, path) in places.chain(std::iter::once((None, self.path.as_slice()))) {
            if parent_of(path).as_ref() == Some(parent) {
                match out.last_mut() {
                    // Places under the same parent one after another (an
                    // ancestor moved) are one stretch.
                    Some(last) if last.1.and_then(|d| d.succ_opt()) == from => last.1 = until,
                    _ => out.push((from, until)),
                }
            }
            from = until.and_then(|d| d.succ_opt());
        }
        out
    }

    /// Its path on `day`: where a deal closing then counts, whenever it is
    /// entered.
    pub fn path_on(&self, day: chrono::NaiveDate) -> &[Id] {
        self.former.iter().find(|(until, _)| *until >= day).map_or(&self.path, |(_, p)| p)
    }

    pub fn path_strings(&self) -> Vec<String> {
        self.path.iter().map(|p| p.as_str().to_owned()).collect()
    }
}

/// A unit with what the caller may see below it.
#[derive(Debug, Clone)]
pub struct UnitTree {
    pub id: Id,
    pub path: Vec<Id>,
    /// Display names of the unit and every unit below it, by resource name.
    pub names: HashMap<String, String>,
    /// Unit ids below (not including) the unit.
    pub below: Vec<Id>,
    /// Who manages what, by person id: the unit's resource name and whether
    /// it is a rep (a rep's unit is named after the rep); a person over
    /// several units is named by their rep unit, else their highest one.
    pub managers: HashMap<String, (String, bool)>,
}

pub(crate) fn id_of(field: &str, name: &str) -> ServiceResult<Id> {
    Id::from_name(field, name).map_err(|_| bad(field, name))
}

pub(crate) fn unit_info(u: &pb::Unit) -> ServiceResult<UnitInfo> {
    let id = id_of("unit", &u.name)?;
    let mut path: Vec<Id> = u.ancestors.iter().map(|a| id_of("ancestor", a)).collect::<ServiceResult<Vec<_>>>()?;
    path.push(id.clone());
    let former = u
        .former_places
        .iter()
        .map(|p| {
            let until = chrono::NaiveDate::parse_from_str(&p.until, "%Y-%m-%d")
                .map_err(|_| bad("former_places.until", &p.until))?;
            let mut path =
                p.ancestors.iter().map(|a| id_of("former_places.ancestors", a)).collect::<ServiceResult<Vec<_>>>()?;
            path.push(id.clone());
            Ok((until, path))
        })
        .collect::<ServiceResult<_>>()?;
    Ok(UnitInfo {
        id,
        parent: (!u.parent.is_empty()).then(|| id_of("parent", &u.parent)).transpose()?,
        is_rep: u.kind == UnitKind::Rep as i32,
        kind: Kind::from_wire(u.kind),
        display_name: u.display_name.clone(),
        path,
        start_date: chrono::NaiveDate::parse_from_str(&u.start_date, "%Y-%m-%d").ok(),
        end_date: chrono::NaiveDate::parse_from_str(&u.end_date, "%Y-%m-%d").ok(),
        employee_code: Some(u.employee_code.clone()).filter(|c| !c.is_empty()),
        former,
    })
}

/// The first unit of a GetSubtree answer is its root.
pub(crate) fn unit_tree(id: &Id, units: &[pb::Unit]) -> ServiceResult<UnitTree> {
    let root = units.first().ok_or_else(|| bad("subtree", "(empty)"))?;
    let path = unit_info(root)?.path;
    let names = units.iter().map(|u| (u.name.clone(), u.display_name.clone())).collect();
    let below = units.iter().skip(1).map(|u| id_of("unit", &u.name)).collect::<ServiceResult<Vec<_>>>()?;
    let mut managers: HashMap<String, (String, bool)> = HashMap::new();
    // Root first, so the first unit seen of a manager is their highest.
    for u in units.iter().filter(|u| !u.manager.is_empty()) {
        let is_rep = u.kind == UnitKind::Rep as i32;
        let seen = managers.get(&u.manager).is_some_and(|(_, rep)| *rep || !is_rep);
        if !seen {
            managers.insert(u.manager.clone(), (u.name.clone(), is_rep));
        }
    }
    Ok(UnitTree { id: id.clone(), path, names, below, managers })
}

/// A dated move, as followers need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitMove {
    pub sequence: i64,
    pub unit: Id,
    /// The first day in the new place.
    pub from: chrono::NaiveDate,
    /// Root first, the unit last: before and after.
    pub old_path: Vec<Id>,
    pub new_path: Vec<Id>,
}

pub(crate) fn unit_move(m: &pb::UnitMove) -> ServiceResult<UnitMove> {
    let path = |p: &[String]| p.iter().map(|a| id_of("move path", a)).collect::<ServiceResult<Vec<_>>>();
    Ok(UnitMove {
        sequence: m.sequence,
        unit: id_of("move unit", &m.unit)?,
        from: chrono::NaiveDate::parse_from_str(&m.effective_date, "%Y-%m-%d")
            .map_err(|_| bad("move effective_date", &m.effective_date))?,
        old_path: path(&m.old_path)?,
        new_path: path(&m.new_path)?,
    })
}
