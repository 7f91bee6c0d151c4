//! Sales activity: opportunities, daily logs, period summaries with the
//! lead's written gap analysis, and loss reasons.

use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    id::Id,
    idempotency::IdempotencyKey,
    idempotent,
    money::Amount,
    period::Period,
    scope::{check_etag, hidden, reveal},
    upstream::Forwarded,
};
use attain_target_client::UnitInfo;
use chrono::{NaiveDate, Utc};
use prost::Message;

use super::{App, ingest::may_write};
use crate::{
    domain::activity::{DailyLog, LossReason, Opportunity, Outcome},
    storage::{
        daily_logs,
        gap_analyses::{self, GapAnalysis},
        loss_rollups, opportunities,
        rollups::{self, Sum},
    },
};

/// What an update may change of an opportunity; `None` keeps the value.
#[derive(Debug, Clone)]
pub struct OpportunityChange {
    pub stage: String,
    pub outcome: Outcome,
    pub close_date: Option<NaiveDate>,
    pub expected_amount: Option<Amount>,
    pub loss_detail: String,
    pub etag: String,
}

/// One member's line of a period summary.
#[derive(Debug, Clone)]
pub struct MemberSummary {
    pub unit: Id,
    /// The days counted (a member for part of the period: its days there).
    pub period: Period,
    pub sum: Sum,
    pub follow_ups: i64,
    pub deals_lost: i64,
}

/// A unit's period: its own figures, its direct members', and the written
/// gap analysis.
#[derive(Debug, Clone)]
pub struct PeriodSummary {
    pub unit: Id,
    pub period: Period,
    pub own: MemberSummary,
    pub members: Vec<MemberSummary>,
    pub gap_analysis: Option<GapAnalysis>,
    /// The amount plan's currency (None: no plan covers the period).
    pub currency: Option<attain_kit::money::CurrencyCode>,
}

impl App {
    /// A rep the caller may record activity for.
    async fn activity_rep(&self, who: &Identity, fwd: &Forwarded, field: &str, id: &Id) -> ServiceResult<UnitInfo> {
        let name = id.resource_name();
        let rep = self.target.unit(fwd, id).await.map_err(|e| match e {
            // Out of scope (or missing, which non-admins cannot tell apart),
            // as for deals.
            ServiceError::Upstream(s) if s.code() == tonic::Code::PermissionDenied => {
                ServiceError::PermissionDenied(format!("{field}: {}", s.message()))
            }
            ServiceError::Upstream(s) => ServiceError::invalid(field, s.message().to_owned()),
            other => other,
        })?;
        if !rep.is_rep {
            return Err(ServiceError::invalid(field, format!("{name} is not a REP unit")));
        }
        if !may_write(who, &rep) {
            return Err(ServiceError::PermissionDenied(format!("you may not record activity for {name}")));
        }
        Ok(rep)
    }

    /// Records an opportunity for its rep (`draft.rep`); its id, path and
    /// times are set here.
    pub async fn create_opportunity<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        mut opp: Opportunity,
        render: fn(&Opportunity) -> R,
    ) -> ServiceResult<R> {
        let rep = self.activity_rep(who, fwd, "opportunity.rep", &opp.rep).await?;
        let now = Utc::now();
        opp.id = Id::generate();
        let day = opp.close_date.unwrap_or_else(|| self.today());
        super::ingest::may_book(who, &rep, day, "opportunity.close_date")?;
        opp.booked_path = rep.path_on(day).to_vec();
        opp.version = 1;
        opp.create_time = now;
        opp.update_time = now;
        opp.check("opportunity")?;
        idempotent!(self.db, key, |txn| {
            opportunities::insert_opportunity(&txn, &opp).await?;
            render(&opp)
        })
    }

    pub async fn update_opportunity<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        (id, name): (&Id, &str),
        change: OpportunityChange,
        render: fn(&Opportunity) -> R,
    ) -> ServiceResult<R> {
        // The rep's scope is asked of the target service before the write
        // transaction opens (an opportunity's rep never changes).
        let seen = reveal(who, "opportunity", name, opportunities::get_opportunity(&self.db, id).await?, |_| true)?;
        let rep = self.target.unit(fwd, &seen.rep).await.map_err(|_| hidden(name))?;
        if !may_write(who, &rep) {
            return Err(hidden(name));
        }
        idempotent!(self.db, key, |txn| {
            let current = reveal(who, "opportunity", name, opportunities::get_opportunity(&txn, id).await?, |_| true)?;
            check_etag(&change.etag, &current.version.to_string(), name)?;
            let mut next = current.clone();
            next.stage = change.stage;
            next.outcome = change.outcome;
            next.close_date = change.close_date.or(current.close_date);
            next.expected_amount = change.expected_amount.unwrap_or(current.expected_amount);
            next.loss_detail = change.loss_detail;
            next.version = current.version + 1;
            next.update_time = Utc::now();
            next.check("opportunity")?;
            if !opportunities::update_opportunity(&txn, &current, &next).await? {
                return Err(ServiceError::stale_etag(name));
            }
            render(&next)
        })
    }

    pub async fn list_opportunities(
        &self,
        (who, unit): (&Identity, &UnitInfo),
        dates: Option<(NaiveDate, NaiveDate)>,
        after: Option<&str>,
        limit: u64,
    ) -> ServiceResult<Vec<Opportunity>> {
        opportunities::list_opportunities(&self.db, &App::places_for(who, unit), dates, after, limit).await
    }

    /// Records a rep's day (`log.rep`); its id, path and time are set here.
    pub async fn create_daily_log<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        mut log: DailyLog,
        render: fn(&DailyLog) -> R,
    ) -> ServiceResult<R> {
        let rep = self.activity_rep(who, fwd, "daily_log.rep", &log.rep).await?;
        if log.date > self.today() {
            return Err(ServiceError::invalid("daily_log.log_date", "is in the future"));
        }
        log.id = Id::generate();
        super::ingest::may_book(who, &rep, log.date, "daily_log.log_date")?;
        super::ingest::worked_then(&rep, log.date, "daily_log.log_date")?;
        log.booked_path = rep.path_on(log.date).to_vec();
        log.create_time = self.now();
        let stored: ServiceResult<R> = idempotent!(self.db, key, |txn| {
            daily_logs::insert_log(&txn, &log).await?;
            // Readers of the rep's figures (the gateway's dashboards, the
            // reporting section) hear of it as of a deal.
            rollups::record_change(&txn, vec![attain_kit::id::encode_path(&log.booked_path)]).await?;
            render(&log)
        });
        self.compliance.written();
        self.after_ingestion();
        stored
    }

    pub async fn list_daily_logs(
        &self,
        (who, unit): (&Identity, &UnitInfo),
        dates: Option<(NaiveDate, NaiveDate)>,
        after: Option<&str>,
        limit: u64,
    ) -> ServiceResult<Vec<DailyLog>> {
        daily_logs::list_logs(&self.db, &App::places_for(who, unit), dates, after, limit).await
    }

    /// A unit's period (calendar dates) beside its direct members'.
    pub async fn period_summary(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        unit: &Id,
        period: &Period,
    ) -> ServiceResult<PeriodSummary> {
        let (unit, plans) = tokio::try_join!(self.visible(who, fwd, unit), self.target.plans(fwd))?;
        let currency = super::alerts::Currencies::new(plans).of_amounts(&unit.path, &period.expression);
        let places = App::places_for(who, &unit);
        // Whoever was a member during the period, a line per stay, each
        // counted over its days in the unit.
        let mut stays: Vec<(UnitInfo, Period)> = vec![(unit.clone(), period.clone())];
        for m in self.target.members(fwd, &unit.id).await? {
            for days in super::drill_down::clipped(period, &m.days_under(&unit.id))? {
                stays.push((m.clone(), days));
            }
        }
        // One set of queries per distinct span of days (usually one).
        let mut spans: Vec<Period> = Vec::new();
        for (_, days) in &stays {
            if !spans.contains(days) {
                spans.push(days.clone());
            }
        }
        let mut lines: Vec<Option<MemberSummary>> = vec![None; stays.len()];
        for days in spans {
            let at: Vec<usize> = (0..stays.len()).filter(|i| stays[*i].1 == days).collect();
            let ids: Vec<Id> = at.iter().map(|i| stays[*i].0.id.clone()).collect();
            let sums = rollups::sums(&self.db, &ids, days.start, days.end, &Default::default()).await?;
            let losses = loss_rollups::losses(&self.db, &ids, days.start, days.end).await?;
            // Logs count where they were booked on their day: under the
            // unit's places (those the caller may read), a member's where
            // the booked path passes through it.
            let mut visits = Vec::new();
            for place in &places {
                visits.extend(daily_logs::visits(&self.db, Some(place), days.start, days.end).await?);
            }
            for i in at {
                let m = &stays[i].0;
                let follow_ups = visits.iter().filter(|(path, _, _)| path.contains(&m.id)).map(|(_, _, n)| n).sum();
                lines[i] = Some(MemberSummary {
                    unit: m.id.clone(),
                    period: days.clone(),
                    sum: sums.get(&m.id).copied().unwrap_or_default(),
                    follow_ups,
                    deals_lost: losses.get(&m.id).map_or(0, |v| v.iter().map(|x| x.1).sum()),
                });
            }
        }
        let mut lines = lines.into_iter().flatten();
        let own = lines.next().ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no summary of the unit")))?;
        let lines: Vec<MemberSummary> = lines.collect();
        Ok(PeriodSummary {
            unit: unit.id.clone(),
            period: period.clone(),
            own,
            members: lines,
            gap_analysis: gap_analyses::gap_analysis(&self.db, &unit.id, &period.expression).await?,
            currency,
        })
    }

    /// The team lead's / region manager's written analysis of the gap.
    pub async fn set_gap_analysis(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        (unit, period): (&Id, &Period),
        text: String,
        etag: &str,
    ) -> ServiceResult<PeriodSummary> {
        let visible = self.visible(who, fwd, unit).await?;
        if !matches!(who.role, Role::Admin | Role::Manager) {
            return Err(ServiceError::PermissionDenied("a gap analysis is written by the unit's manager".to_owned()));
        }
        if period.start > self.today() {
            // Written in advance it would meet the weekly summaries of
            // weeks not yet lived.
            return Err(ServiceError::precondition(
                "PERIOD_NOT_STARTED",
                format!("{} starts on {}; analyse its gap once it has begun", period.expression, period.start),
            ));
        }
        let what = format!("the gap analysis of {} for {}", unit.resource_name(), period.expression);
        // A retry of a write that went through changes nothing more (and
        // answers the summary as it stands).
        if let Some(k) = &key
            && k.replay::<()>(&self.db).await?.is_some()
        {
            return self.period_summary(who, fwd, unit, period).await;
        }
        let current = gap_analyses::gap_analysis(&self.db, &visible.id, &period.expression).await?;
        let current_version = current.as_ref().map_or(0, |g| g.version);
        check_etag(etag, &current_version.to_string(), &what)?;
        let next = GapAnalysis { text, author: who.person.clone(), version: current_version + 1, time: self.now() };
        let previous = current.map(|g| g.version);
        let txn = attain_kit::db::begin_write(&self.db).await?;
        match gap_analyses::put_gap_analysis(&txn, &visible.id, &period.expression, &next, previous).await {
            Ok(true) => {}
            Ok(false) | Err(ServiceError::Internal(_)) => return Err(ServiceError::stale_etag(&what)),
            Err(e) => return Err(e),
        }
        if let Some(k) = &key {
            k.record(&txn, &()).await?;
        }
        // Readers of the team's figures (the gateway's dashboards) hear of it.
        rollups::record_change(&txn, vec![attain_kit::id::encode_path(&visible.path)]).await?;
        txn.commit().await?;
        self.compliance.written();
        self.after_ingestion();
        self.period_summary(who, fwd, unit, period).await
    }

    /// Lost-deal reasons of a unit, most frequent first: (reason, count, amount).
    pub async fn loss_reasons(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        unit: &Id,
        period: &Period,
        limit: usize,
    ) -> ServiceResult<(Vec<(LossReason, i64, Amount)>, Option<attain_kit::money::CurrencyCode>)> {
        let (unit, plans) = tokio::try_join!(self.visible(who, fwd, unit), self.target.plans(fwd))?;
        let currency = super::alerts::Currencies::new(plans).of_amounts(&unit.path, &period.expression);
        Ok((self.loss_reasons_of(&unit.id, period, limit).await?, currency))
    }

    /// The most frequent loss reasons of a unit the caller may read.
    pub async fn loss_reasons_of(
        &self,
        unit: &Id,
        period: &Period,
        limit: usize,
    ) -> ServiceResult<Vec<(LossReason, i64, Amount)>> {
        let ids = std::slice::from_ref(unit);
        let mut losses = loss_rollups::losses(&self.db, ids, period.start, period.end).await?;
        Ok(losses.remove(unit).map(|v| v.into_iter().take(limit).collect()).unwrap_or_default())
    }
}
