//! A subtree's reporting obligations over a period: each rep's daily logs
//! and each team's weekly summaries, judged against the organisation's
//! deadlines on each unit's plan calendar, as of now.

use std::collections::HashMap;

use attain_kit::{ServiceResult, auth::Identity, id::Id, period::Period, upstream::Forwarded};
use attain_target_client::{PlanInfo, UnitInfo, UnitKind, calendar_for, period_for};
use chrono::{DateTime, NaiveDate, Utc};

use super::App;
use crate::{
    domain::cadence::{self, Compliance, Life, Obligation},
    storage::{daily_logs, gap_analyses},
};

/// A subtree's obligations in order (deadline, kind, unit), with the
/// display name of each unit.
#[derive(Debug, Clone)]
pub struct Obligations {
    pub period: Period,
    pub rows: Vec<Obligation>,
    pub names: HashMap<Id, String>,
}

impl Obligations {
    pub fn compliance(&self) -> Compliance {
        Compliance::of(&self.rows)
    }
}

impl App {
    /// The instant a pass "as of `day`" judges reports at: now for today,
    /// else the end of that day on the organisation's clock (a replayed
    /// day has all of its deadlines behind it).
    pub fn as_of(&self, day: NaiveDate) -> DateTime<Utc> {
        if day == self.today() { self.now() } else { self.cadence.instant(day, cadence::Cutoff::END_OF_DAY) }
    }

    /// The obligations of `root`'s subtree (as the caller sees it) whose
    /// day or week starts in `period_expr`, read in the fiscal calendar of
    /// the plan covering the root (January years without one).
    pub async fn obligations(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        root: &UnitInfo,
        period_expr: &str,
    ) -> ServiceResult<Obligations> {
        let (units, plans) = tokio::try_join!(self.target.subtree_with_former(fwd, &root.id), self.target.plans(fwd))?;
        let period = period_for(&plans, &root.path, "period", period_expr)?;
        self.obligations_of(&plans, units, period, self.now(), in_subtree(who, &root.id)).await
    }

    /// The obligations of `units` in `period`, as they stand at `now`,
    /// those of each unit's days `keep` accepts.
    pub(crate) async fn obligations_of(
        &self,
        plans: &[PlanInfo],
        units: Vec<UnitInfo>,
        period: Period,
        now: DateTime<Utc>,
        keep: impl Fn(&UnitInfo, NaiveDate) -> bool,
    ) -> ServiceResult<Obligations> {
        let days = (period.start, period.end);
        let of = |k: UnitKind| units.iter().filter(move |u| u.kind == k).collect::<Vec<_>>();
        let (reps, teams) = (of(UnitKind::Rep), of(UnitKind::Team));
        let mondays: Vec<NaiveDate> = cadence::mondays(days).collect();
        let weeks: Vec<String> = mondays.iter().map(|m| cadence::week_expr(*m)).collect();
        let rep_ids: Vec<Id> = reps.iter().map(|u| u.id.clone()).collect();
        let team_ids: Vec<Id> = teams.iter().map(|u| u.id.clone()).collect();
        let (logged, summaries) = tokio::try_join!(
            daily_logs::first_log_times(&self.db, &rep_ids, days),
            gap_analyses::first_submissions(&self.db, &team_ids, &weeks),
        )?;
        let rules = &self.cadence;
        let calendar = |u: &UnitInfo| calendar_for(plans, &u.path, period.start);
        let life = |u: &UnitInfo| Life { start: u.start_date, end: u.end_date };
        let none = HashMap::new();
        let mut rows = Vec::new();
        for u in &reps {
            let met = logged.get(&u.id).unwrap_or(&none);
            let owed = cadence::daily_logs(rules, &calendar(u), &u.id, life(u), days, met, now);
            rows.extend(owed.into_iter().filter(|o| keep(u, o.day)));
        }
        for u in &teams {
            let met: HashMap<NaiveDate, DateTime<Utc>> = mondays
                .iter()
                .zip(&weeks)
                .filter_map(|(m, w)| summaries.get(&(u.id.clone(), w.clone())).map(|t| (*m, *t)))
                .collect();
            let owed = cadence::weekly_summaries(rules, &calendar(u), &u.id, life(u), days, &met, now);
            rows.extend(owed.into_iter().filter(|o| keep(u, o.day)));
        }
        rows.sort_by_cached_key(Obligation::key);
        let names = units.into_iter().map(|u| (u.id, u.display_name)).collect();
        Ok(Obligations { period, rows, names })
    }
}

/// A unit's reports of the days it sat under `root` where `who` may read
/// them: after a back-dated move its earlier days stay its old manager's,
/// and its new one reads only those since.
pub(crate) fn in_subtree<'a>(who: &'a Identity, root: &'a Id) -> impl Fn(&UnitInfo, NaiveDate) -> bool + 'a {
    move |u, day| {
        let path = u.path_on(day);
        path.contains(root) && who.can_read(path)
    }
}
