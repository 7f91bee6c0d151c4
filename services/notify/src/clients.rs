//! The services notify reads, and their wire types turned into the
//! domain's: tracking's alert feed (followed as the service account) and
//! the target service's tree (to check a subscriber's scope, with the
//! subscriber's own credentials).

use attain_core::money::{Amount, CurrencyCode, Money};
use attain_kit::{ServiceError, ServiceResult, id::Id, upstream::Forwarded};
pub use attain_proto::attain::common::v1::ObligationStatus;
use attain_proto::attain::{
    common::v1 as common,
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    tracking::v1::{self as pb, tracking_service_client::TrackingServiceClient},
};
use attain_target_client::TargetClient;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use tonic::transport::Channel;

use crate::domain::{
    alert::{AlertEvent, Rule, Severity, State},
    reminder::{Reminder, Report},
};

/// One message of tracking's alert feed.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// An alert changed; resume after it with the token.
    Change(Box<AlertEvent>, String),
    /// A change notify has no use for (an unknown rule, a GREEN state).
    Skip(String),
    /// The feed no longer holds the position resumed from.
    Refresh(String),
}

#[derive(Debug, Clone)]
pub struct Upstreams {
    tracking: TrackingServiceClient<Channel>,
    target: TargetClient,
    /// None: this deployment tells of no monthly reviews coming due.
    review: Option<ReviewServiceClient<Channel>>,
}

impl Upstreams {
    pub fn new(target: Channel, tracking: Channel, review: Option<Channel>) -> Self {
        Self {
            tracking: TrackingServiceClient::new(tracking),
            target: TargetClient::new(target),
            review: review.map(ReviewServiceClient::new),
        }
    }

    /// Reports of a subtree in `status` (DUE: not yet in, deadline not
    /// passed; MISSED: deadline passed), from what `period` covers: reps'
    /// daily logs and teams' weekly summaries (tracking) and regions'
    /// reviews of the months starting in it (review). A period no plan
    /// covers has none.
    pub async fn reports(
        &self,
        fwd: &Forwarded,
        unit: &Id,
        period: &str,
        status: common::ObligationStatus,
    ) -> ServiceResult<Vec<Reminder>> {
        let statuses = vec![status as i32];
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let req = pb::ListObligationsRequest {
                unit: unit.resource_name(),
                period: period.to_owned(),
                statuses: statuses.clone(),
                kinds: Vec::new(),
                page_size: 1000,
                page_token: token.clone(),
            };
            let page = match self.tracking.clone().list_obligations(fwd.request(req)).await {
                Ok(p) => p.into_inner(),
                Err(s) if s.code() == tonic::Code::FailedPrecondition => break,
                Err(s) => return Err(s.into()),
            };
            out.extend(page.obligations.iter().filter_map(reminder));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        if let Some(review) = &self.review {
            let mut token = String::new();
            loop {
                let req = rpb::ListObligationsRequest {
                    unit: unit.resource_name(),
                    period: period.to_owned(),
                    statuses: statuses.clone(),
                    page_size: 1000,
                    page_token: token.clone(),
                };
                let page = match review.clone().list_obligations(fwd.request(req)).await {
                    Ok(p) => p.into_inner(),
                    Err(s) if s.code() == tonic::Code::FailedPrecondition => break,
                    Err(s) => return Err(s.into()),
                };
                out.extend(page.obligations.iter().filter_map(reminder));
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
        }
        Ok(out)
    }

    /// The ids from the root down to a unit the caller may read (target
    /// answers PERMISSION_DENIED or NOT_FOUND otherwise).
    pub async fn unit_path(&self, fwd: &Forwarded, unit: &Id) -> ServiceResult<Vec<Id>> {
        Ok(self.unit_info(fwd, unit).await?.path)
    }

    /// A unit as target has it now.
    pub async fn unit_info(&self, fwd: &Forwarded, unit: &Id) -> ServiceResult<attain_target_client::UnitInfo> {
        self.target.unit(fwd, unit).await
    }

    /// The whole organisation's alert changes after `resume` (None: the
    /// open alerts first, then from now).
    pub async fn alert_feed(
        &self,
        fwd: &Forwarded,
        resume: Option<&str>,
    ) -> ServiceResult<impl Stream<Item = ServiceResult<FeedItem>> + use<>> {
        let req = pb::WatchAlertsRequest {
            unit: String::new(),
            include_open: resume.is_none(),
            resume_token: resume.unwrap_or_default().to_owned(),
        };
        let stream = self.tracking.clone().watch_alerts(fwd.request(req)).await?.into_inner();
        Ok(stream.map(|m| {
            let m = m?;
            if m.refresh {
                return Ok(FeedItem::Refresh(m.resume_token));
            }
            Ok(match m.alert.as_ref().map(event) {
                Some(Ok(Some(e))) => FeedItem::Change(Box::new(e), m.resume_token),
                // One alert notify cannot read must not stop the feed.
                Some(Err(e)) => {
                    tracing::error!(error = %e, alert = ?m.alert.as_ref().map(|a| &a.name), "an alert change could not be read; skipped");
                    FeedItem::Skip(m.resume_token)
                }
                _ => FeedItem::Skip(m.resume_token),
            })
        }))
    }
}

fn money(m: Option<&common::Money>) -> ServiceResult<Option<Money>> {
    let Some(m) = m else { return Ok(None) };
    // No plan prices it (tracking names no currency): no figures.
    if m.amount.is_empty() || m.currency_code.is_empty() {
        return Ok(None);
    }
    let bad = || ServiceError::corrupt("alert money from tracking", &m.amount);
    Ok(Some(Money {
        currency: CurrencyCode::parse(&m.currency_code).map_err(|_| bad())?,
        amount: Amount::parse(&m.amount).map_err(|_| bad())?,
    }))
}

fn time(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
}

/// An alert change in the domain's terms (None: nothing a person hears of).
fn event(a: &pb::Alert) -> ServiceResult<Option<AlertEvent>> {
    let rule = match pb::AlertRule::try_from(a.rule) {
        Ok(pb::AlertRule::BehindPace) => Rule::BehindPace,
        Ok(pb::AlertRule::MissedMilestone) => Rule::MissedMilestone,
        Ok(pb::AlertRule::StaleData) => Rule::StaleData,
        Ok(pb::AlertRule::ReportOverdue) => Rule::ReportOverdue,
        _ => return Ok(None),
    };
    let severity = match common::Status::try_from(a.severity) {
        Ok(common::Status::Red) => Severity::Red,
        Ok(common::Status::Yellow) => Severity::Yellow,
        _ => return Ok(None),
    };
    let state = match pb::AlertState::try_from(a.state) {
        Ok(pb::AlertState::Open) => State::Open,
        Ok(pb::AlertState::Acknowledged) => State::Acknowledged,
        Ok(pb::AlertState::Resolved) => State::Resolved,
        _ => return Ok(None),
    };
    let strip = |n: &str| n.strip_prefix("units/").unwrap_or(n).to_owned();
    let at = [time(a.resolve_time.as_ref()), time(a.escalate_time.as_ref()), time(a.open_time.as_ref())];
    Ok(Some(AlertEvent {
        alert: a.name.clone(),
        unit: strip(&a.unit),
        unit_path: a.unit_path.iter().map(|u| strip(u)).collect(),
        period: a.period.as_ref().map(|p| p.expression.clone()).unwrap_or_default(),
        rule,
        state,
        severity,
        actual: money(a.actual.as_ref())?,
        expected: money(a.expected.as_ref())?,
        escalation_level: u32::try_from(a.escalation_level).unwrap_or(0),
        message: a.message.clone(),
        time: at.into_iter().flatten().max().unwrap_or_else(Utc::now),
        told_as: None,
        unit_name: String::new(),
        missed: Vec::new(),
    }))
}

/// An obligation still due, as a reminder (None: not a report notify
/// knows, or no deadline).
fn reminder(o: &common::Obligation) -> Option<Reminder> {
    let report = match common::ObligationKind::try_from(o.kind).ok()? {
        common::ObligationKind::DailyLog => Report::DailyLog,
        common::ObligationKind::WeeklySummary => Report::WeeklySummary,
        common::ObligationKind::MonthlyReview => Report::MonthlyReview,
        common::ObligationKind::Unspecified => return None,
    };
    Some(Reminder {
        report,
        unit: o.unit.strip_prefix("units/").unwrap_or(&o.unit).to_owned(),
        unit_name: o.unit_display_name.clone(),
        period: o.period.clone(),
        due: time(o.due_time.as_ref())?,
    })
}
