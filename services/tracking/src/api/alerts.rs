//! Alert and change-feed handlers: parse, call the alert engine
//! (`app::alerts`), convert.

use std::pin::Pin;

use attain_kit::{ServiceError, ServiceResult, context::Ctx, id::Id, paging::PageRequest, period::Period};
use attain_proto::attain::tracking::v1 as pb;
use futures::{Stream, StreamExt};
use tonic::Status;

use super::{TrackingApi, convert, unit_id};
use crate::{
    app::watch::{RollupChange, Watched},
    domain::alert::State,
};

type Feed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The plans a watch prices alerts with, read again when an alert names a
/// plan it does not know (no oftener than `AGAIN`).
#[derive(Clone)]
struct PlansSeen(std::sync::Arc<tokio::sync::Mutex<(crate::app::alerts::Currencies, Option<std::time::Instant>)>>);

impl PlansSeen {
    const AGAIN: std::time::Duration = std::time::Duration::from_secs(5);

    fn new(c: crate::app::alerts::Currencies) -> Self {
        Self(std::sync::Arc::new(tokio::sync::Mutex::new((c, None))))
    }

    async fn measured(
        &self,
        app: &crate::app::App,
        fwd: &attain_kit::upstream::Forwarded,
        a: &crate::domain::alert::Alert,
    ) -> Option<(attain_kit::money::CurrencyCode, attain_kit::period::Period)> {
        let mut seen = self.0.lock().await;
        if let Some(m) = seen.0.of(a) {
            return Some(m);
        }
        if seen.1.is_none_or(|t| t.elapsed() >= Self::AGAIN) {
            seen.1 = Some(std::time::Instant::now());
            if let Ok(fresh) = app.alert_currencies(fwd).await {
                seen.0 = fresh;
            }
        }
        seen.0.of(a)
    }
}

/// Ends a watch when the caller's token expires, with UNAUTHENTICATED: the
/// caller reconnects with a fresh token and its last resume_token.
fn until_expiry<T: Send + 'static>(fwd: &attain_kit::upstream::Forwarded, feed: Feed<T>) -> Feed<T> {
    let Some(at) = fwd.token_expiry() else { return feed };
    let left = at.duration_since(std::time::SystemTime::now()).unwrap_or_default();
    let expired = futures::stream::once(async {
        Err(Status::from(ServiceError::Unauthenticated(
            "the token expired: watch again with a fresh one and the last resume_token".to_owned(),
        )))
    });
    Box::pin(feed.take_until(tokio::time::sleep(left)).chain(expired))
}

fn alert_id(name: &str) -> ServiceResult<Id> {
    match name.strip_prefix("alerts/") {
        Some(id) => Ok(Id::parse("name", id)?),
        None => Err(ServiceError::invalid("name", format!("{name:?} is not an alert name (alerts/{{alert_id}})"))),
    }
}

fn state(field: &str, s: i32) -> ServiceResult<Option<State>> {
    match pb::AlertState::try_from(s) {
        Ok(pb::AlertState::Unspecified) => Ok(None),
        Ok(pb::AlertState::Open) => Ok(Some(State::Open)),
        Ok(pb::AlertState::Acknowledged) => Ok(Some(State::Acknowledged)),
        Ok(pb::AlertState::Resolved) => Ok(Some(State::Resolved)),
        Err(_) => Err(ServiceError::invalid(field, format!("{s} is not an AlertState"))),
    }
}

/// What ListAlerts' page tokens are bound to: another listing's token is
/// refused.
pub(crate) fn list_alerts_query(unit: &str, state: i32, escalated_to: &str) -> String {
    format!("ListAlerts {unit} {state} {escalated_to}")
}

impl TrackingApi {
    pub(crate) async fn evaluate_alerts(
        &self,
        ctx: Ctx,
        r: pb::EvaluateAlertsRequest,
    ) -> ServiceResult<pb::EvaluateAlertsResponse> {
        let Ctx { who, fwd } = ctx;
        let root = self.app.visible(&who, &fwd, &unit_id("unit", &r.unit)?).await?;
        let day = if r.as_of_date.is_empty() { self.app.today() } else { convert::date("as_of_date", &r.as_of_date)? };
        let period = if r.period.is_empty() { Period::month_of(day).expression } else { r.period.clone() };
        let metric = attain_kit::wire::parse_metric("metric", r.metric)?;
        let changed = self.app.evaluate_subtree(&who, &fwd, &root, metric, &period, day).await?;
        let cur = self.app.alert_currencies(&fwd).await?;
        Ok(pb::EvaluateAlertsResponse { changed: changed.iter().map(|a| convert::alert(a, cur.of(a))).collect() })
    }

    pub(crate) async fn list_alerts(
        &self,
        ctx: Ctx,
        r: pb::ListAlertsRequest,
    ) -> ServiceResult<pb::ListAlertsResponse> {
        let Ctx { who, fwd } = ctx;
        let query = list_alerts_query(&r.unit, r.state, &r.escalated_to);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let unit = self.app.visible(&who, &fwd, &unit_id("unit", &r.unit)?).await?;
        let state = state("state", r.state)?;
        let escalated_to = match r.escalated_to.as_str() {
            "" => None,
            name => Some(self.app.visible(&who, &fwd, &unit_id("escalated_to", name)?).await?.id),
        };
        let mut rows = self
            .app
            .list_alerts(&unit, state, escalated_to.as_ref(), page.after.as_deref(), page.fetch_limit())
            .await?;
        let next_page_token = page.finish(&mut rows, |a| a.id.as_str().to_owned());
        let cur = self.app.alert_currencies(&fwd).await?;
        let alerts = rows.iter().map(|a| convert::alert(a, cur.of(a))).collect();
        Ok(pb::ListAlertsResponse { alerts, next_page_token })
    }

    pub(crate) async fn summarize_alerts(
        &self,
        ctx: Ctx,
        r: pb::SummarizeAlertsRequest,
    ) -> ServiceResult<pb::AlertSummary> {
        let Ctx { who, fwd } = ctx;
        let first = match r.first {
            0 => 5,
            n @ 1..=100 => u64::try_from(n).unwrap_or(5),
            _ => return Err(ServiceError::invalid("first", "must be between 0 (meaning 5) and 100")),
        };
        let state = state("state", r.state)?;
        let unit = self.app.visible(&who, &fwd, &unit_id("unit", &r.unit)?).await?;
        let s = self.app.summarize_alerts(&unit, state, first).await?;
        Ok(convert::alert_summary(&s, &self.app.alert_currencies(&fwd).await?))
    }

    pub(crate) async fn acknowledge_alert(&self, ctx: Ctx, r: pb::AcknowledgeAlertRequest) -> ServiceResult<pb::Alert> {
        let a = self.app.transition(&ctx.who, &alert_id(&r.name)?, &r.etag, State::Acknowledged).await?;
        Ok(convert::alert(&a, self.app.alert_currencies(&ctx.fwd).await?.of(&a)))
    }

    pub(crate) async fn resolve_alert(&self, ctx: Ctx, r: pb::ResolveAlertRequest) -> ServiceResult<pb::Alert> {
        let a = self.app.transition(&ctx.who, &alert_id(&r.name)?, &r.etag, State::Resolved).await?;
        Ok(convert::alert(&a, self.app.alert_currencies(&ctx.fwd).await?.of(&a)))
    }

    pub(crate) async fn watch_alerts(
        &self,
        ctx: Ctx,
        r: pb::WatchAlertsRequest,
    ) -> ServiceResult<Feed<pb::WatchAlertsResponse>> {
        let Ctx { who, fwd } = ctx;
        // The whole organisation is an admin's (notify follows it so).
        let path = match r.unit.as_str() {
            "" if who.is_admin() => Vec::new(),
            "" => return Err(ServiceError::invalid("unit", "is required unless the caller is an admin")),
            name => self.app.visible(&who, &fwd, &unit_id("unit", name)?).await?.path,
        };
        let feed = self.app.watch_alerts(path, r.include_open, &r.resume_token).await?;
        // Plans as the watch opens; a watch lives long (notify's, for
        // days), so an alert of a plan made since reads them again — at
        // most every few seconds, for alerts no plan prices.
        let plans = PlansSeen::new(self.app.alert_currencies(&fwd).await?);
        let (app, watcher) = (self.app.clone(), fwd.clone());
        let feed = Box::pin(feed.then(move |w| {
            let (app, watcher, plans) = (app.clone(), watcher.clone(), plans.clone());
            async move {
                let alert = match w.change {
                    Some(a) => Some(convert::alert(&a, plans.measured(&app, &watcher, &a).await)),
                    None => None,
                };
                Ok(pb::WatchAlertsResponse { refresh: alert.is_none(), alert, resume_token: w.resume_token })
            }
        }));
        Ok(until_expiry(&fwd, feed))
    }

    pub(crate) async fn record_review_close(
        &self,
        ctx: Ctx,
        r: pb::RecordReviewCloseRequest,
    ) -> ServiceResult<pb::RecordReviewCloseResponse> {
        let unit = unit_id("unit", &r.unit)?;
        let month = r.month.trim();
        let ok = month.len() == 7
            && chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok()
            && month.as_bytes()[4] == b'-';
        if !ok {
            return Err(ServiceError::invalid("month", format!("{:?} is not a month (\"YYYY-MM\")", r.month)));
        }
        let at = r
            .close_time
            .as_ref()
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
            .ok_or_else(|| ServiceError::invalid("close_time", "is required"))?;
        let recorded = self.app.record_review_close(&ctx.who, &ctx.fwd, &unit, month, at).await?;
        Ok(pb::RecordReviewCloseResponse { recorded })
    }

    pub(crate) async fn watch_rollup_changes(
        &self,
        ctx: Ctx,
        r: pb::WatchRollupChangesRequest,
    ) -> ServiceResult<Feed<pb::WatchRollupChangesResponse>> {
        let Ctx { who, fwd } = ctx;
        let unit = match r.unit.as_str() {
            "" if who.is_admin() => None,
            "" => return Err(ServiceError::invalid("unit", "is required unless the caller is an admin")),
            name => Some(self.app.visible(&who, &fwd, &unit_id("unit", name)?).await?.id),
        };
        let feed = self.app.watch_rollup_changes(unit, r.include_alerts, &r.resume_token).await?;
        let shown = |w: &Watched<RollupChange>| w.change.as_ref().is_none_or(|c| !c.units.is_empty());
        let feed = Box::pin(feed.filter(move |w| std::future::ready(shown(w))).map(|w| {
            Ok(match w.change {
                Some(c) => pb::WatchRollupChangesResponse {
                    units: c.units.iter().map(Id::resource_name).collect(),
                    change_time: Some(convert::timestamp(c.at)),
                    resume_token: w.resume_token,
                    refresh: false,
                },
                None => {
                    pb::WatchRollupChangesResponse { resume_token: w.resume_token, refresh: true, ..Default::default() }
                }
            })
        }));
        Ok(until_expiry(&fwd, feed))
    }
}
