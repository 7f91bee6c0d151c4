//! The guide's reporting rhythm (跟踪频率) as obligations: a rep logs each
//! working day before the cut-off, a team submits last week's summary on
//! the following Monday (by end of day), a region closes last month's
//! review by the 5th. Each obligation is DUE until its
//! deadline, then MISSED; once met it is SUBMITTED (on time) or LATE, with
//! the time it was met. Deadlines are wall-clock times in the
//! organisation's zone, on the plan's working calendar.

use std::collections::HashMap;

use crate::{DomainError, calendar::WorkingCalendar, id::Id};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A rep's progress record for a working day.
    DailyLog,
    /// A team lead's summary (gap analysis) of an ISO week.
    WeeklySummary,
    /// A region manager's review of a month, closed.
    MonthlyReview,
}

impl Kind {
    /// What a person calls it, in a message.
    pub fn label(self) -> &'static str {
        match self {
            Self::DailyLog => "daily log",
            Self::WeeklySummary => "weekly summary",
            Self::MonthlyReview => "monthly review",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Due,
    Submitted,
    Late,
    Missed,
}

/// A wall-clock deadline within a day: minutes after midnight, up to
/// 24:00 ("end of day").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff(u32);

impl Cutoff {
    pub const MIDNIGHT: Self = Self(0);
    pub const END_OF_DAY: Self = Self(24 * 60);

    /// "HH:MM", 00:00–24:00.
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid(field, format!("{s:?} is not a time of day \"HH:MM\" (00:00–24:00)"));
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m >= 60 || h > 24 || (h == 24 && m > 0) {
            return Err(bad());
        }
        Ok(Self(h * 60 + m))
    }
}

impl std::fmt::Display for Cutoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// When things are due (configuration `cadence.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The organisation's zone: deadlines are its wall-clock times.
    pub zone: Tz,
    /// A day's log is due that day at this time.
    pub daily_log_cutoff: Cutoff,
    /// A week's summary is due on this weekday of the next week (the
    /// first working day from it, when it is not worked)…
    pub weekly_summary_day: Weekday,
    /// …at this time.
    pub weekly_summary_cutoff: Cutoff,
    /// A month's review is due on this day of the next month (the first
    /// working day from it, when it is not worked)…
    pub monthly_review_day: u32,
    /// …at this time.
    pub monthly_review_cutoff: Cutoff,
}

impl Default for Rules {
    /// The guide's: logs by 18:00, the summary by Monday's end, the
    /// review by the 5th's end, in UTC.
    fn default() -> Self {
        Self {
            zone: Tz::UTC,
            daily_log_cutoff: Cutoff(18 * 60),
            weekly_summary_day: Weekday::Mon,
            weekly_summary_cutoff: Cutoff::END_OF_DAY,
            monthly_review_day: 5,
            monthly_review_cutoff: Cutoff::END_OF_DAY,
        }
    }
}

impl Rules {
    /// From configuration, naming the key at fault.
    pub fn parse(
        zone: &str,
        daily_log_cutoff: &str,
        weekly_day: &str,
        weekly_cutoff: &str,
    ) -> Result<Self, DomainError> {
        let zone: Tz = zone.parse().map_err(|_| {
            DomainError::invalid(
                "cadence.time_zone",
                format!("{zone:?} is not an IANA time zone (e.g. \"Asia/Shanghai\")"),
            )
        })?;
        let weekly_summary_day: Weekday = weekly_day.parse().map_err(|_| {
            DomainError::invalid(
                "cadence.weekly_summary_day",
                format!("{weekly_day:?} is not a weekday (e.g. \"monday\")"),
            )
        })?;
        Ok(Self {
            zone,
            daily_log_cutoff: Cutoff::parse("cadence.daily_log_cutoff", daily_log_cutoff)?,
            weekly_summary_day,
            weekly_summary_cutoff: Cutoff::parse("cadence.weekly_summary_cutoff", weekly_cutoff)?,
            ..Self::default()
        })
    }

    /// The monthly review's due day (1–28: every month has it) and time.
    pub fn with_monthly_review(mut self, day: u32, cutoff: &str) -> Result<Self, DomainError> {
        if !(1..=28).contains(&day) {
            return Err(DomainError::invalid(
                "cadence.monthly_review_day",
                format!("{day} is not a day every month has (1–28)"),
            ));
        }
        self.monthly_review_day = day;
        self.monthly_review_cutoff = Cutoff::parse("cadence.monthly_review_cutoff", cutoff)?;
        Ok(self)
    }

    /// The organisation's date at `now`.
    pub fn local_day(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.zone).date_naive()
    }

    /// The instant `day` reaches `cutoff` on the organisation's clock. A
    /// wall time skipped by a daylight-saving jump is read as the instant
    /// after the jump; one that occurs twice as its later occurrence (the
    /// deadline never comes earlier than the clock on the wall says).
    pub fn instant(&self, day: NaiveDate, cutoff: Cutoff) -> DateTime<Utc> {
        let (day, minutes) =
            if cutoff == Cutoff::END_OF_DAY { (day.succ_opt().unwrap_or(day), 0) } else { (day, cutoff.0) };
        let wall = day.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(minutes));
        let mut probe = wall;
        // Gaps are at most a few hours; step past one a quarter-hour at a time.
        for _ in 0..16 {
            match self.zone.from_local_datetime(&probe) {
                chrono::LocalResult::Single(t) => return t.with_timezone(&Utc),
                chrono::LocalResult::Ambiguous(_, later) => return later.with_timezone(&Utc),
                chrono::LocalResult::None => probe += Duration::minutes(15),
            }
        }
        wall.and_utc()
    }

    /// When a week's summary (the ISO week starting `monday`) is due.
    pub fn weekly_due(&self, cal: &WorkingCalendar, monday: NaiveDate) -> DateTime<Utc> {
        let next_week = monday + Duration::days(7);
        let offset = i64::from(self.weekly_summary_day.num_days_from_monday());
        // A holiday Monday moves the deadline to the next working day.
        let day = next_week + Duration::days(offset);
        self.instant(first_working(cal, day), self.weekly_summary_cutoff)
    }

    /// When a month's review (the month starting `first`) is due.
    pub fn monthly_due(&self, cal: &WorkingCalendar, first: NaiveDate) -> DateTime<Utc> {
        let next = crate::period::add_months(first, 1).unwrap_or(first);
        let day = next.with_day(self.monthly_review_day).unwrap_or(next);
        self.instant(first_working(cal, day), self.monthly_review_cutoff)
    }
}

/// `day`, or the first working day after it (within a fortnight: a
/// calendar with no working day keeps `day`).
fn first_working(cal: &WorkingCalendar, day: NaiveDate) -> NaiveDate {
    day.iter_days().take(15).find(|d| cal.is_working(*d)).unwrap_or(day)
}

/// One thing due from one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    pub kind: Kind,
    pub unit: Id,
    /// The day logged, the week's Monday or the month's first day.
    pub day: NaiveDate,
    pub due: DateTime<Utc>,
    /// When it was first met.
    pub met: Option<DateTime<Utc>>,
    pub status: Status,
}

impl Obligation {
    /// A stable order, and a page key: deadline, then kind, then unit.
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.due.format("%Y%m%dT%H%M%S"), self.kind as u8, self.unit.as_str())
    }

    /// "2024-01-16" for a day, "2024-W03" for a week.
    pub fn period(&self) -> String {
        match self.kind {
            Kind::DailyLog => self.day.format("%Y-%m-%d").to_string(),
            Kind::WeeklySummary => week_expr(self.day),
            Kind::MonthlyReview => self.day.format("%Y-%m").to_string(),
        }
    }
}

/// "2024-W03": the period a week's summary is written for.
pub fn week_expr(monday: NaiveDate) -> String {
    let w = monday.iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// The Mondays within `days` (inclusive): the weeks that start in them.
pub fn mondays(days: (NaiveDate, NaiveDate)) -> impl Iterator<Item = NaiveDate> {
    let first = days.0 + Duration::days(i64::from((7 - days.0.weekday().num_days_from_monday()) % 7));
    first.iter_weeks().take_while(move |m| *m <= days.1)
}

/// The first days of the months starting within `days` (inclusive).
pub fn months(days: (NaiveDate, NaiveDate)) -> impl Iterator<Item = NaiveDate> {
    let first =
        days.0.with_day(1).filter(|d| *d == days.0).or_else(|| crate::period::add_months(days.0.with_day(1)?, 1));
    std::iter::successors(first, |m| crate::period::add_months(*m, 1)).take_while(move |m| *m <= days.1)
}

/// Where an obligation stands at `now`.
pub fn status(due: DateTime<Utc>, met: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Status {
    match met {
        Some(t) if t <= due => Status::Submitted,
        Some(_) => Status::Late,
        None if now <= due => Status::Due,
        None => Status::Missed,
    }
}

/// A unit's life: obligations fall only on its days.
#[derive(Debug, Clone, Copy)]
pub struct Life {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

impl Life {
    fn holds(&self, d: NaiveDate) -> bool {
        self.start.is_none_or(|s| s <= d) && self.end.is_none_or(|e| d <= e)
    }
}

/// The working days within `days` (inclusive) begun by `now`, each with
/// its log's deadline: computed once per calendar, shared by every rep on
/// it (a company's reps would otherwise convert the same wall times once
/// each).
pub fn daily_deadlines(
    rules: &Rules,
    cal: &WorkingCalendar,
    days: (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> Vec<(NaiveDate, DateTime<Utc>)> {
    let today = rules.local_day(now);
    days.0
        .iter_days()
        .take_while(|d| *d <= days.1 && *d <= today)
        .filter(|d| cal.is_working(*d))
        .map(|day| (day, rules.instant(day, rules.daily_log_cutoff)))
        .collect()
}

/// A rep's daily logs over `deadlines` (from `daily_deadlines`) within its
/// life: (day, deadline, first log, status). `met` holds the first log
/// time of each day logged.
pub fn daily_statuses<'a>(
    deadlines: &'a [(NaiveDate, DateTime<Utc>)],
    life: Life,
    met: &'a HashMap<NaiveDate, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> impl Iterator<Item = (NaiveDate, DateTime<Utc>, Option<DateTime<Utc>>, Status)> + 'a {
    deadlines.iter().filter(move |(d, _)| life.holds(*d)).map(move |(day, due)| {
        let met = met.get(day).copied();
        (*day, *due, met, status(*due, met, now))
    })
}

/// A rep's daily logs due over `days` (inclusive) that have begun by
/// `now`: one per working day of its life. `met` holds the first log
/// time of each day logged.
pub fn daily_logs(
    rules: &Rules,
    cal: &WorkingCalendar,
    rep: &Id,
    life: Life,
    days: (NaiveDate, NaiveDate),
    met: &HashMap<NaiveDate, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<Obligation> {
    let deadlines = daily_deadlines(rules, cal, days, now);
    daily_statuses(&deadlines, life, met, now)
        .map(|(day, due, met, status)| Obligation { kind: Kind::DailyLog, unit: rep.clone(), day, due, met, status })
        .collect()
}

/// A team's weekly summaries for the ISO weeks starting (Monday) within
/// `days` that have begun by `now`, skipping weeks without a working day
/// or outside its life. `met` holds the first submission of each week, by
/// its Monday.
pub fn weekly_summaries(
    rules: &Rules,
    cal: &WorkingCalendar,
    team: &Id,
    life: Life,
    days: (NaiveDate, NaiveDate),
    met: &HashMap<NaiveDate, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<Obligation> {
    let today = rules.local_day(now);
    mondays(days)
        .take_while(|m| *m <= today)
        .filter(|m| {
            let week: Vec<NaiveDate> = m.iter_days().take(7).collect();
            week.iter().any(|d| cal.is_working(*d)) && week.iter().any(|d| life.holds(*d))
        })
        .map(|monday| {
            let due = rules.weekly_due(cal, monday);
            let met = met.get(&monday).copied();
            Obligation {
                kind: Kind::WeeklySummary,
                unit: team.clone(),
                day: monday,
                due,
                met,
                status: status(due, met, now),
            }
        })
        .collect()
}

/// A region's monthly reviews for the months starting within `days` that
/// have begun by `now`, skipping months outside its life. `met` holds when
/// each month's review was closed, by the month's first day.
pub fn monthly_reviews(
    rules: &Rules,
    cal: &WorkingCalendar,
    region: &Id,
    life: Life,
    days: (NaiveDate, NaiveDate),
    met: &HashMap<NaiveDate, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<Obligation> {
    let today = rules.local_day(now);
    let first =
        days.0.with_day(1).filter(|d| *d == days.0).or_else(|| crate::period::add_months(days.0.with_day(1)?, 1));
    let months = std::iter::successors(first, |m| crate::period::add_months(*m, 1));
    months
        .take_while(|m| *m <= days.1 && *m <= today)
        .filter(|m| {
            let last = crate::period::add_months(*m, 1).and_then(|n| n.pred_opt()).unwrap_or(*m);
            life.start.is_none_or(|s| s <= last) && life.end.is_none_or(|e| *m <= e)
        })
        .map(|first| {
            let due = rules.monthly_due(cal, first);
            let met = met.get(&first).copied();
            Obligation {
                kind: Kind::MonthlyReview,
                unit: region.clone(),
                day: first,
                due,
                met,
                status: status(due, met, now),
            }
        })
        .collect()
}

/// Obligations counted by status, and the share met on time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Compliance {
    pub due: u32,
    pub submitted: u32,
    pub late: u32,
    pub missed: u32,
}

impl Compliance {
    pub fn of<'a>(obligations: impl IntoIterator<Item = &'a Obligation>) -> Self {
        let mut c = Self::default();
        for o in obligations {
            c.count(o.status);
        }
        c
    }

    /// One more obligation in `status`.
    pub fn count(&mut self, status: Status) {
        match status {
            Status::Due => self.due += 1,
            Status::Submitted => self.submitted += 1,
            Status::Late => self.late += 1,
            Status::Missed => self.missed += 1,
        }
    }

    /// Both counts together (one subtree's reports from two services).
    pub fn plus(self, other: Self) -> Self {
        Self {
            due: self.due + other.due,
            submitted: self.submitted + other.submitted,
            late: self.late + other.late,
            missed: self.missed + other.missed,
        }
    }

    /// Met on time out of those past their deadline or met (None: none
    /// yet). What is still DUE counts for nobody yet.
    pub fn on_time_rate(&self) -> Option<Decimal> {
        let settled = self.submitted + self.late + self.missed;
        (settled > 0).then(|| (Decimal::from(self.submitted) / Decimal::from(settled)).round_dp(4).normalize())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn shanghai() -> Rules {
        Rules::parse("Asia/Shanghai", "18:00", "monday", "24:00").unwrap()
    }

    fn rep() -> Id {
        Id::parse("id", "rep-1").unwrap()
    }

    const ALWAYS: Life = Life { start: None, end: None };

    #[test]
    fn a_log_is_due_at_six_in_the_organisations_zone() {
        let r = shanghai();
        // 18:00 in Shanghai is 10:00 UTC.
        assert_eq!(r.instant(day("2024-01-16"), r.daily_log_cutoff), at("2024-01-16T10:00:00Z"));
        // End of day is the next midnight.
        assert_eq!(r.instant(day("2024-01-22"), Cutoff::END_OF_DAY), at("2024-01-22T16:00:00Z"));
        let due = at("2024-01-16T10:00:00Z");
        assert_eq!(status(due, Some(at("2024-01-16T09:59:59Z")), at("2024-01-17T00:00:00Z")), Status::Submitted);
        assert_eq!(status(due, Some(due), due), Status::Submitted);
        assert_eq!(status(due, Some(at("2024-01-16T10:00:01Z")), due), Status::Late);
        assert_eq!(status(due, None, due), Status::Due);
        assert_eq!(status(due, None, at("2024-01-16T10:00:01Z")), Status::Missed);
    }

    #[test]
    fn a_deadline_in_a_daylight_saving_gap_is_the_instant_after_it() {
        let r = Rules::parse("America/New_York", "02:30", "monday", "24:00").unwrap();
        // 2024-03-10 02:00 EST jumps to 03:00 EDT: 02:30 never happens.
        assert_eq!(r.instant(day("2024-03-10"), r.daily_log_cutoff), at("2024-03-10T07:00:00Z"));
        // 2024-11-03 01:30 happens twice: the later (EST) one.
        let twice = Rules::parse("America/New_York", "01:30", "monday", "24:00").unwrap();
        assert_eq!(twice.instant(day("2024-11-03"), twice.daily_log_cutoff), at("2024-11-03T06:30:00Z"));
    }

    #[test]
    fn bad_settings_name_their_key() {
        let err = |r: Result<Rules, DomainError>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(Rules::parse("Mars/Olympus", "18:00", "monday", "24:00")).contains("cadence.time_zone"));
        assert!(err(Rules::parse("UTC", "18:60", "monday", "24:00")).contains("cadence.daily_log_cutoff"));
        assert!(err(Rules::parse("UTC", "6pm", "monday", "24:00")).contains("cadence.daily_log_cutoff"));
        assert!(err(Rules::parse("UTC", "18:00", "someday", "24:00")).contains("cadence.weekly_summary_day"));
        assert!(err(Rules::parse("UTC", "18:00", "monday", "24:01")).contains("cadence.weekly_summary_cutoff"));
        assert_eq!(Cutoff::parse("f", "24:00").unwrap(), Cutoff::END_OF_DAY);
        assert_eq!(Cutoff::parse("f", "09:05").unwrap().to_string(), "09:05");
    }

    #[test]
    fn the_guides_week_of_logs() {
        // Tuesday Jan 16 2024, 20:00 in Shanghai: Monday and Tuesday's are
        // settled, nothing later exists yet.
        let r = shanghai();
        let now = at("2024-01-16T12:00:00Z");
        let met = HashMap::from([(day("2024-01-15"), at("2024-01-15T09:00:00Z"))]);
        let got = daily_logs(
            &r,
            &WorkingCalendar::default(),
            &rep(),
            ALWAYS,
            (day("2024-01-13"), day("2024-01-19")),
            &met,
            now,
        );
        let seen: Vec<(String, Status)> = got.iter().map(|o| (o.period(), o.status)).collect();
        assert_eq!(seen, [("2024-01-15".to_owned(), Status::Submitted), ("2024-01-16".to_owned(), Status::Missed)]);
        // At 17:00 Tuesday's is still due.
        let got = daily_logs(
            &r,
            &WorkingCalendar::default(),
            &rep(),
            ALWAYS,
            (day("2024-01-15"), day("2024-01-19")),
            &met,
            at("2024-01-16T09:00:00Z"),
        );
        assert_eq!(got.last().map(|o| o.status), Some(Status::Due));
    }

    #[test]
    fn holidays_and_a_reps_start_owe_nothing() {
        let r = shanghai();
        let mut cal = WorkingCalendar::default();
        cal.holidays.insert(day("2024-01-16"));
        cal.working_weekends.insert(day("2024-01-20"));
        let life = Life { start: Some(day("2024-01-16")), end: Some(day("2024-01-20")) };
        let got = daily_logs(
            &r,
            &cal,
            &rep(),
            life,
            (day("2024-01-01"), day("2024-01-31")),
            &HashMap::new(),
            at("2024-02-01T00:00:00Z"),
        );
        let days: Vec<String> = got.iter().map(Obligation::period).collect();
        assert_eq!(days, ["2024-01-17", "2024-01-18", "2024-01-19", "2024-01-20"]);
        assert!(got.iter().all(|o| o.status == Status::Missed));
    }

    #[test]
    fn a_weeks_summary_is_due_by_the_end_of_the_next_monday_or_the_next_working_day() {
        let r = shanghai();
        let team = Id::parse("id", "team-a").unwrap();
        let mut cal = WorkingCalendar::default();
        // Monday Jan 22 off: week 3's summary is due Tuesday's end.
        cal.holidays.insert(day("2024-01-22"));
        let met = HashMap::from([(day("2024-01-08"), at("2024-01-15T15:59:59Z"))]);
        let got = weekly_summaries(
            &r,
            &cal,
            &team,
            ALWAYS,
            (day("2024-01-01"), day("2024-01-31")),
            &met,
            at("2024-01-23T12:00:00Z"),
        );
        let seen: Vec<(String, DateTime<Utc>, Status)> = got.iter().map(|o| (o.period(), o.due, o.status)).collect();
        assert_eq!(
            seen,
            [
                ("2024-W01".to_owned(), at("2024-01-08T16:00:00Z"), Status::Missed),
                ("2024-W02".to_owned(), at("2024-01-15T16:00:00Z"), Status::Submitted),
                ("2024-W03".to_owned(), at("2024-01-23T16:00:00Z"), Status::Due),
                ("2024-W04".to_owned(), at("2024-01-29T16:00:00Z"), Status::Due),
            ]
        );
        // A week off entirely owes no summary.
        let mut off = WorkingCalendar::default();
        off.holidays.extend(day("2024-02-12").iter_days().take(5));
        let got = weekly_summaries(
            &r,
            &off,
            &team,
            ALWAYS,
            (day("2024-02-01"), day("2024-02-29")),
            &HashMap::new(),
            at("2024-03-01T00:00:00Z"),
        );
        let weeks: Vec<String> = got.iter().map(Obligation::period).collect();
        assert_eq!(weeks, ["2024-W06", "2024-W08", "2024-W09"]);
    }

    #[test]
    fn a_months_review_is_due_by_the_fifth_or_the_next_working_day() {
        let r = shanghai();
        let region = Id::parse("id", "region-a").unwrap();
        let mut cal = WorkingCalendar::default();
        // Feb 5 2024 is a Monday; May 5 2024 a Sunday (due Monday the 6th).
        cal.holidays.insert(day("2024-02-05"));
        let met = HashMap::from([(day("2024-01-01"), at("2024-02-06T15:00:00Z"))]);
        let life = Life { start: Some(day("2024-01-20")), end: None };
        let got = monthly_reviews(
            &r,
            &cal,
            &region,
            life,
            (day("2023-12-15"), day("2024-12-31")),
            &met,
            at("2024-05-10T00:00:00Z"),
        );
        let seen: Vec<(String, DateTime<Utc>, Status)> = got.iter().map(|o| (o.period(), o.due, o.status)).collect();
        assert_eq!(
            seen,
            [
                ("2024-01".to_owned(), at("2024-02-06T16:00:00Z"), Status::Submitted),
                ("2024-02".to_owned(), at("2024-03-05T16:00:00Z"), Status::Missed),
                ("2024-03".to_owned(), at("2024-04-05T16:00:00Z"), Status::Missed),
                ("2024-04".to_owned(), at("2024-05-06T16:00:00Z"), Status::Missed),
                ("2024-05".to_owned(), at("2024-06-05T16:00:00Z"), Status::Due),
            ]
        );
        let err = Rules::default().with_monthly_review(29, "24:00").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("cadence.monthly_review_day"), "{err}");
        let c = Compliance { due: 1, submitted: 2, late: 0, missed: 1 }.plus(Compliance {
            due: 0,
            submitted: 1,
            late: 1,
            missed: 0,
        });
        assert_eq!(c, Compliance { due: 1, submitted: 3, late: 1, missed: 1 });
    }

    #[test]
    fn the_on_time_rate_counts_what_is_settled() {
        let c = Compliance { due: 3, submitted: 6, late: 1, missed: 1 };
        assert_eq!(c.on_time_rate().map(|r| r.to_string()), Some("0.75".to_owned()));
        assert_eq!(Compliance { due: 2, ..Compliance::default() }.on_time_rate(), None);
        let third = Compliance { submitted: 1, missed: 2, ..Compliance::default() };
        assert_eq!(third.on_time_rate().map(|r| r.to_string()), Some("0.3333".to_owned()));
    }

    proptest! {
        /// Over any span of days and any submission times, a day is listed
        /// once, only when worked and begun, and its status follows its
        /// first submission against its own deadline.
        #[test]
        fn every_working_day_begun_is_owed_once(
            start in 0i64..400,
            len in 0i64..60,
            now_offset in 0i64..(500 * 24 * 60),
            logged in prop::collection::vec((0i64..460, -600i64..1_800), 0..40),
        ) {
            let r = shanghai();
            let base = day("2024-01-01");
            let from = base + Duration::days(start);
            let to = from + Duration::days(len);
            let now = at("2024-01-01T00:00:00Z") + Duration::minutes(now_offset);
            let met: HashMap<NaiveDate, DateTime<Utc>> = logged
                .iter()
                .map(|(d, m)| {
                    let d = base + Duration::days(*d);
                    (d, r.instant(d, Cutoff(0)) + Duration::minutes(*m))
                })
                .collect();
            let cal = WorkingCalendar::default();
            let got = daily_logs(&r, &cal, &rep(), ALWAYS, (from, to), &met, now);
            let today = r.local_day(now);
            let expected: Vec<NaiveDate> =
                from.iter_days().take_while(|d| *d <= to && *d <= today).filter(|d| cal.is_working(*d)).collect();
            prop_assert_eq!(got.iter().map(|o| o.day).collect::<Vec<_>>(), expected);
            for o in &got {
                let on_time = met.get(&o.day).is_some_and(|t| *t <= o.due);
                prop_assert_eq!(o.status == Status::Submitted, on_time);
                prop_assert_eq!(o.status == Status::Missed, !met.contains_key(&o.day) && now > o.due);
            }
            let c = Compliance::of(&got);
            prop_assert_eq!((c.due + c.submitted + c.late + c.missed) as usize, got.len());
        }
    }
}
