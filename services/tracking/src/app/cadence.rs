//! A subtree's reporting obligations over a period: each rep's daily logs
//! and each team's weekly summaries, judged against the organisation's
//! deadlines on each unit's plan calendar, as of now.

use std::collections::HashMap;

use attain_kit::{ServiceResult, auth::Identity, id::Id, period::Period, upstream::Forwarded};
use attain_target_client::{PlanInfo, UnitInfo, UnitKind, calendar_for, period_for, plan_for};
use chrono::{DateTime, NaiveDate, Utc};

use super::App;
use crate::{
    domain::cadence::{self, Compliance, Kind, Life, Obligation, Status},
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
    /// the plan covering the root (none: FAILED_PRECONDITION).
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
        let mut rows = Vec::new();
        self.visit(plans, &units, &period, now, keep, |u, kind, day, due, met, status| {
            rows.push(Obligation { kind, unit: u.id.clone(), day, due, met, status });
        })
        .await?;
        // Compared as values: a string key per row is for page tokens.
        rows.sort_by(|a, b| (a.due, a.kind, a.unit.as_str()).cmp(&(b.due, b.kind, b.unit.as_str())));
        let names = units.into_iter().map(|u| (u.id, u.display_name)).collect();
        Ok(Obligations { period, rows, names })
    }

    /// The same counted by status, without a row per obligation: what a
    /// dashboard shows (a company's quarter is some hundred thousand), and
    /// how long the counts stand unless a report is written: until the
    /// next deadline still ahead, or the organisation's next midnight (a
    /// new day owes a new log).
    pub(crate) async fn compliance_of(
        &self,
        plans: &[PlanInfo],
        units: &[UnitInfo],
        period: &Period,
        keep: impl Fn(&UnitInfo, NaiveDate) -> bool,
    ) -> ServiceResult<(Compliance, std::time::Duration)> {
        let now = self.now();
        let mut c = Compliance::default();
        let tomorrow = self.today().succ_opt().unwrap_or(period.end);
        let mut until = self.cadence.instant(tomorrow, cadence::Cutoff::MIDNIGHT);
        self.visit(plans, units, period, now, keep, |_, _, _, due, _, status| {
            c.count(status);
            if due > now && due < until {
                until = due;
            }
        })
        .await?;
        Ok((c, (until - now).to_std().unwrap_or_default()))
    }

    /// Each obligation of `units` in `period` at `now` whose day `keep`
    /// accepts, handed to `each` as (unit, kind, day, deadline, first
    /// submission, status). Deadlines are computed once per plan calendar.
    async fn visit(
        &self,
        plans: &[PlanInfo],
        units: &[UnitInfo],
        period: &Period,
        now: DateTime<Utc>,
        keep: impl Fn(&UnitInfo, NaiveDate) -> bool,
        mut each: impl FnMut(&UnitInfo, Kind, NaiveDate, DateTime<Utc>, Option<DateTime<Utc>>, Status),
    ) -> ServiceResult<()> {
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
        let plan_of = |u: &UnitInfo| plan_for(plans, &u.path, period.start).map(|p| p.name.as_str());
        let calendar = |u: &UnitInfo| calendar_for(plans, &u.path, period.start);
        let life = |u: &UnitInfo| Life { start: u.start_date, end: u.end_date };
        // A unit that never moved sits in one place: `keep` is asked once.
        let kept = |u: &UnitInfo, day: NaiveDate, whole: Option<bool>| whole.unwrap_or_else(|| keep(u, day));
        let whole = |u: &UnitInfo| u.former.is_empty().then(|| keep(u, period.start));
        let mut deadlines: HashMap<Option<&str>, Vec<(NaiveDate, DateTime<Utc>)>> = HashMap::new();
        let none = HashMap::new();
        for u in &reps {
            let dues =
                deadlines.entry(plan_of(u)).or_insert_with(|| cadence::daily_deadlines(rules, &calendar(u), days, now));
            let met = logged.get(&u.id).unwrap_or(&none);
            let w = whole(u);
            for (day, due, met, status) in cadence::daily_statuses(dues, life(u), met, now) {
                if kept(u, day, w) {
                    each(u, Kind::DailyLog, day, due, met, status);
                }
            }
        }
        for u in &teams {
            let met: HashMap<NaiveDate, DateTime<Utc>> = mondays
                .iter()
                .zip(&weeks)
                .filter_map(|(m, w)| summaries.get(&(u.id.clone(), w.clone())).map(|t| (*m, *t)))
                .collect();
            let w = whole(u);
            for o in cadence::weekly_summaries(rules, &calendar(u), &u.id, life(u), days, &met, now) {
                if kept(u, o.day, w) {
                    each(u, o.kind, o.day, o.due, o.met, o.status);
                }
            }
        }
        Ok(())
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
