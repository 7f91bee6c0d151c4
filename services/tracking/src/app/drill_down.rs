//! A unit's drill-down for a period: one row per member of the unit during
//! it, each measured over its own days there. A rep that joined or left in
//! the period counts under the unit for those days only (DESIGN §3 Org
//! tree), so the rows add up to the unit at every date and a manager sees
//! nothing of a member's days elsewhere.

use attain_kit::{ServiceError, ServiceResult, auth::Identity, period::Period, upstream::Forwarded};
use attain_target_client::UnitInfo;
use chrono::NaiveDate;

use super::{
    App,
    measure::{Measured, Reading},
};

type Days = (Option<NaiveDate>, Option<NaiveDate>);

/// The parts of `period` inside `days`, one per stretch that touches it
/// (a member that left and came back is a row for each stay): the period
/// itself when it is all inside, none when none of it is.
pub fn clipped(period: &Period, days: &[Days]) -> ServiceResult<Vec<Period>> {
    let mut out = Vec::new();
    for (from, until) in days {
        let start = from.map_or(period.start, |f| f.max(period.start));
        let end = until.map_or(period.end, |u| u.min(period.end));
        if start > end {
            continue;
        }
        out.push(if (start, end) == (period.start, period.end) {
            period.clone()
        } else {
            Period::parse("period", &format!("{start}..{end}"), 1)?
        });
    }
    Ok(out)
}

/// Where `who` last could read `unit` (its place now, if readable).
pub fn last_readable_path<'a>(who: &Identity, unit: &'a UnitInfo) -> Option<&'a [attain_kit::id::Id]> {
    unit.stretches().into_iter().rev().find(|(_, _, p)| who.can_read(p)).map(|(_, _, p)| p)
}

/// The days of `period` `who` may read `unit` over: all of them, or the
/// one stretch it sat in `who`'s scope (a rep that joined the caller's team
/// in the period reads from the day it joined). Refused when none is
/// (PERMISSION_DENIED) or several are (FAILED_PRECONDITION, naming each
/// stretch to ask for: it left and came back).
pub fn readable_days(who: &Identity, unit: &UnitInfo, period: &Period) -> ServiceResult<Period> {
    // Readable places one after another are one stretch.
    let mut mine: Vec<Days> = Vec::new();
    for (from, until, path) in unit.stretches() {
        if !who.can_read(path) {
            continue;
        }
        match mine.last_mut() {
            Some(last) if last.1.and_then(|d| d.succ_opt()) == from => last.1 = until,
            _ => mine.push((from, until)),
        }
    }
    let parts = clipped(period, &mine)?;
    match parts.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ServiceError::PermissionDenied(format!(
            "{} was outside your scope throughout {}",
            unit.id.resource_name(),
            period.expression
        ))),
        // Readable, in pieces: the period's shape, not a permission.
        many => Err(ServiceError::precondition(
            "PERIOD_SPLIT_BY_MOVES",
            format!(
                "{} was in your scope for part of {} only: ask for {}",
                unit.id.resource_name(),
                period.expression,
                many.iter().map(|p| p.expression.as_str()).collect::<Vec<_>>().join(" or ")
            ),
        )),
    }
}

impl App {
    /// The unit's figures and its members' rows with the days each is
    /// measured over, in the order the target service lists them (children,
    /// then former children).
    pub async fn drill_down(&self, fwd: &Forwarded, r: &Reading) -> ServiceResult<(Measured, Vec<(Period, Measured)>)> {
        let members = self.target.members(fwd, &r.unit.id).await?;
        // Members grouped by the days they are measured over; the unit goes
        // with those there the whole period (one call for the usual case).
        let mut groups: Vec<(Period, Vec<Option<usize>>, Vec<UnitInfo>)> =
            vec![(r.period.clone(), vec![None], vec![r.unit.clone()])];
        let mut n = 0;
        for m in members {
            for p in clipped(&r.period, &m.days_under(&r.unit.id))? {
                match groups.iter_mut().find(|(g, _, _)| *g == p) {
                    Some((_, order, units)) => {
                        order.push(Some(n));
                        units.push(m.clone());
                    }
                    None => groups.push((p, vec![Some(n)], vec![m.clone()])),
                }
                n += 1;
            }
        }
        let mut parent = None;
        let mut rows = Vec::new();
        for (period, order, units) in groups {
            let (measured, _) = self.measure(fwd, units, &r.plan, &period, r.day, &r.dims).await?;
            for (slot, m) in order.into_iter().zip(measured) {
                match slot {
                    None => parent = Some(m),
                    Some(i) => rows.push((i, (period.clone(), m))),
                }
            }
        }
        rows.sort_by_key(|(i, _)| *i);
        let parent = parent.ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no figures")))?;
        Ok((parent, rows.into_iter().map(|(_, row)| row).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_member_counts_for_its_days_in_the_period() {
        let jan = Period::parse("p", "2024-01", 1).unwrap();
        let spans = |days: &[Days]| -> Vec<(NaiveDate, NaiveDate)> {
            clipped(&jan, days).unwrap().into_iter().map(|p| (p.start, p.end)).collect()
        };
        assert_eq!(clipped(&jan, &[(None, None)]).unwrap(), vec![jan.clone()]);
        assert_eq!(spans(&[(Some(d("2024-01-10")), None)]), [(d("2024-01-10"), d("2024-01-31"))]);
        assert_eq!(spans(&[(None, Some(d("2024-01-09")))]), [(d("2024-01-01"), d("2024-01-09"))]);
        assert_eq!(spans(&[(None, Some(d("2023-12-31")))]), [], "left before the period");
        assert_eq!(spans(&[(Some(d("2024-02-01")), None)]), [], "joined after it");
        assert_eq!(spans(&[]), []);
        // Left on the 9th, back on the 15th: a row for each stay.
        assert_eq!(
            spans(&[(None, Some(d("2024-01-09"))), (Some(d("2024-01-15")), None)]),
            [(d("2024-01-01"), d("2024-01-09")), (d("2024-01-15"), d("2024-01-31"))]
        );
    }
}
