//! The dashboard's fan-out: one call per section to the backends, in
//! parallel, each with what remains of the caller's deadline; a backend
//! that is down or slow leaves its section UNAVAILABLE instead of failing
//! the call, while the caller's own errors (a unit out of scope, a period
//! that does not parse) end it at once.

use std::time::Duration;

use attain_kit::{ServiceError, ServiceResult, id::Id, metrics::Metrics, upstream::Forwarded};
use attain_proto::attain::{
    common::v1::Compliance,
    gateway::v1 as pb,
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use attain_target_client::TargetClient;
use tokio::time::Instant;
use tonic::{Code, Request, Response, Status, transport::Channel};

use crate::mask::Wanted;

/// The backends a dashboard reads.
#[derive(Debug, Clone)]
pub struct Fanout {
    target: TargetClient,
    tracking: TrackingServiceClient<Channel>,
    review: ReviewServiceClient<Channel>,
    metrics: Metrics,
}

/// A section's value, or why it is missing.
type Section<T> = (Option<T>, Result<(), String>);

/// A section the mask asks for, read; one it does not, neither read nor
/// listed in `sections`.
async fn when<T>(
    asked: bool,
    read: impl std::future::Future<Output = Result<Section<T>, Status>>,
) -> Result<Option<Section<T>>, Status> {
    if asked { read.await.map(Some) } else { Ok(None) }
}

/// An outage (not the caller's fault) becomes an unavailable section.
fn is_outage(s: &Status) -> bool {
    // UNIMPLEMENTED: a backend on an older version mid-rollout.
    matches!(
        s.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown | Code::Unimplemented
    )
}

/// A read with a deadline; one retry on UNAVAILABLE while time remains.
async fn call<T, F, Fut>(deadline: Instant, mut f: F) -> Result<T, Status>
where
    F: FnMut(Duration) -> Fut,
    Fut: std::future::Future<Output = Result<Response<T>, Status>>,
{
    for attempt in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, f(left)).await {
            Ok(Ok(r)) => return Ok(r.into_inner()),
            Ok(Err(s)) if s.code() == Code::Unavailable && attempt == 0 => continue,
            Ok(Err(s)) => return Err(s),
            Err(_) => return Err(ServiceError::DeadlineExceeded("the backend did not answer in time".into()).into()),
        }
    }
    Err(ServiceError::DeadlineExceeded("the backend did not answer in time".into()).into())
}

fn section(name: &str, r: &Result<(), String>) -> pb::SectionStatus {
    match r {
        Ok(()) => pb::SectionStatus { section: name.into(), state: pb::SectionState::Ok as i32, detail: String::new() },
        Err(d) => {
            pb::SectionStatus { section: name.into(), state: pb::SectionState::Unavailable as i32, detail: d.clone() }
        }
    }
}

/// Splits a backend result into its value and the section's state; the
/// caller's own errors pass through.
fn settle<T>(r: Result<T, Status>) -> Result<Section<T>, Status> {
    match r {
        Ok(v) => Ok((Some(v), Ok(()))),
        Err(s) if is_outage(&s) => Ok((None, Err(format!("{:?}: {}", s.code(), s.message())))),
        Err(s) => Err(s),
    }
}

/// A request to a backend carrying the caller's token, request id and
/// what remains of its deadline.
fn timed<T>(fwd: &Forwarded, msg: T, left: Duration) -> Request<T> {
    fwd.clone().with_timeout(left).request(msg)
}

impl Fanout {
    pub fn new(target: Channel, tracking: Channel, review: Channel, metrics: Metrics) -> Self {
        Self {
            target: TargetClient::new(target),
            tracking: TrackingServiceClient::new(tracking),
            review: ReviewServiceClient::new(review),
            metrics,
        }
    }

    /// A section's backend call, counted, and split into its value and state.
    async fn settled<T>(
        &self,
        backend: &str,
        section: &str,
        call: impl std::future::Future<Output = Result<T, Status>>,
    ) -> Result<Section<T>, Status> {
        let r = call.await;
        if let Err(s) = &r {
            self.metrics.incr(
                "attain_gateway_backend_errors_total",
                "Dashboard backend calls that failed, by backend, section and gRPC code (the caller's own \
                 mistakes, such as PERMISSION_DENIED, included)",
                &[("backend", backend), ("section", section), ("code", attain_kit::metrics::code_label(s.code()))],
            );
        }
        settle(r)
    }

    /// The unit's display name (from the target service).
    async fn unit(&self, fwd: &Forwarded, deadline: Instant, unit: &Id) -> Result<String, Status> {
        let left = deadline.saturating_duration_since(Instant::now());
        let fwd = fwd.clone().with_timeout(left);
        let read = async { self.target.unit(&fwd, unit).await.map_err(Status::from) };
        match tokio::time::timeout(left, read).await {
            Ok(r) => r.map(|u| u.display_name),
            Err(_) => Err(ServiceError::DeadlineExceeded("the backend did not answer in time".into()).into()),
        }
    }

    /// The latest review of the unit itself and its open action items.
    async fn review(
        &self,
        fwd: &Forwarded,
        deadline: Instant,
        q: &pb::GetDashboardRequest,
    ) -> Result<(Option<rpb::Review>, Vec<rpb::ActionItem>), Status> {
        // The unit's own latest review: one row, without reading the
        // subtree (a company's dashboard would read its whole org).
        let reviews = call(deadline, |left| {
            let mut c = self.review.clone();
            let req = timed(
                fwd,
                rpb::ListReviewsRequest {
                    unit: q.unit.clone(),
                    page_size: 1,
                    unit_only: true,
                    order_by: "create_time desc".into(),
                    ..Default::default()
                },
                left,
            );
            async move { c.list_reviews(req).await }
        })
        .await?;
        let latest = reviews.reviews.into_iter().next();
        let Some(latest) = latest else { return Ok((None, Vec::new())) };
        let items = call(deadline, |left| {
            let mut c = self.review.clone();
            let req =
                timed(fwd, rpb::ListActionItemsRequest { parent: latest.name.clone(), ..Default::default() }, left);
            async move { c.list_action_items(req).await }
        })
        .await?;
        let open = items
            .action_items
            .into_iter()
            .filter(|i| i.status == rpb::ActionStatus::Open as i32 || i.status == rpb::ActionStatus::InProgress as i32)
            .collect();
        Ok((Some(latest), open))
    }

    /// What the dashboard shows (the fields `wanted` names), read in
    /// parallel by `deadline`.
    pub async fn fetch(
        &self,
        fwd: Forwarded,
        deadline: Instant,
        q: pb::GetDashboardRequest,
        wanted: Wanted,
    ) -> ServiceResult<pb::Dashboard> {
        let unit = Id::from_name("unit", &q.unit)?;
        let w = wanted;
        // Tracking's sections come in one call: it reads the unit, the
        // plans and the expectations once for all of them.
        let tracking_sections: Vec<String> = [
            ("attainment", w.any(&["period", "attainment", "children"])),
            ("burn_up", w.has("burn_up")),
            ("gap_attribution", w.has("gap_attribution")),
            ("open_alerts", w.has("open_alerts")),
            ("alert_summary", w.has("alert_summary")),
            ("loss_reasons", w.has("top_loss_reasons")),
            ("compliance", w.has("compliance")),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_owned())
        .collect();
        let figures_f = call(deadline, |left| {
            let mut c = self.tracking.clone();
            let req = kpb::GetDashboardFiguresRequest {
                unit: q.unit.clone(),
                period: q.period.clone(),
                as_of_date: q.as_of_date.clone(),
                metric: q.metric,
                sections: tracking_sections.clone(),
                plan: q.plan.clone(),
            };
            let req = timed(&fwd, req, left);
            async move { c.get_dashboard_figures(req).await }
        });
        // Monthly reviews owed are the review service's: counted beside
        // tracking's logs and summaries.
        let monthly_f = call(deadline, |left| {
            let mut c = self.review.clone();
            let req = rpb::ListObligationsRequest {
                unit: q.unit.clone(),
                period: q.period.clone(),
                page_size: 1,
                ..Default::default()
            };
            let req = timed(&fwd, req, left);
            async move {
                match c.list_obligations(req).await {
                    // No plan covers the period: nothing is owed (the
                    // figures' own sections say why, if they fail).
                    Err(s) if s.code() == Code::FailedPrecondition => {
                        Ok(tonic::Response::new(rpb::ListObligationsResponse::default()))
                    }
                    other => other,
                }
            }
        });
        let (name, figures, review, monthly) = tokio::try_join!(
            // Always read: it is also the scope check when no other
            // section is asked for.
            when(true, self.settled("target", "unit", self.unit(&fwd, deadline, &unit))),
            when(!tracking_sections.is_empty(), self.settled("tracking", "figures", figures_f)),
            when(
                w.any(&["open_action_items", "latest_review"]),
                self.settled("review", "review", self.review(&fwd, deadline, &q))
            ),
            when(w.has("compliance"), self.settled("review", "review_obligations", monthly_f)),
        )
        .map_err(ServiceError::from)?;
        // With nothing else read, the unit's read is the scope check: it
        // must have answered.
        if let (Some((_, Err(why))), None, None) = (&name, &figures, &review) {
            return Err(ServiceError::Unavailable(format!("the unit could not be checked: {why}")));
        }
        // Each tracking section is listed under its own name, with the
        // state of the one call that read them all.
        let mut sections = Vec::new();
        if let Some((_, st)) = name.as_ref().filter(|_| w.has("display_name")) {
            sections.push(section("unit", st));
        }
        let tracking_names = [
            ("attainment", "attainment"),
            ("burn_up", "burn_up"),
            ("gap_attribution", "gap_attribution"),
            ("open_alerts", "alerts"),
            ("alert_summary", "alert_summary"),
            ("loss_reasons", "loss_reasons"),
            ("compliance", "compliance"),
        ];
        if let Some((_, st)) = &figures {
            for (asked, shown) in tracking_names {
                if tracking_sections.iter().any(|s| s == asked) {
                    sections.push(section(shown, st));
                }
            }
        }
        if let Some((_, st)) = &review {
            sections.push(section("review", st));
        }
        if let Some((_, st)) = &monthly {
            sections.push(section("review_obligations", st));
        }
        let f = figures.and_then(|s| s.0).unwrap_or_default();
        let parts = Parts {
            name: name.and_then(|s| s.0),
            attain: f.attainment,
            burn_up: f.burn_up,
            gap_attribution: f.gap_attribution,
            alerts: f.open_alerts,
            summary: f.alert_summary,
            losses: f.loss_reasons,
            compliance: reporting(f.compliance, monthly.and_then(|s| s.0).and_then(|m| m.compliance)),
            review: review.and_then(|s| s.0),
        };
        Ok(assemble(q.unit, parts, sections, w))
    }
}

/// The subtree's reporting: tracking's daily logs and weekly summaries with
/// the review service's monthly reviews (whichever answered).
fn reporting(logs: Option<Compliance>, reviews: Option<Compliance>) -> Option<Compliance> {
    let counts = |c: Option<&Compliance>| c.map(attain_kit::wire::compliance_from);
    match (counts(logs.as_ref()), counts(reviews.as_ref())) {
        (Some(a), Some(b)) => Some(attain_kit::wire::compliance(&a.plus(b))),
        (Some(a), None) | (None, Some(a)) => Some(attain_kit::wire::compliance(&a)),
        (None, None) => None,
    }
}

/// What the sections brought back (None: the section is unavailable).
struct Parts {
    name: Option<String>,
    attain: Option<kpb::ListChildAttainmentsResponse>,
    burn_up: Option<kpb::BurnUp>,
    gap_attribution: Option<kpb::GapAttribution>,
    alerts: Option<kpb::ListAlertsResponse>,
    summary: Option<kpb::AlertSummary>,
    losses: Option<kpb::ListLossReasonsResponse>,
    compliance: Option<Compliance>,
    review: Option<(Option<rpb::Review>, Vec<rpb::ActionItem>)>,
}

/// The dashboard from its sections: the fields asked for, no others.
fn assemble(unit: String, p: Parts, sections: Vec<pb::SectionStatus>, w: Wanted) -> pb::Dashboard {
    let (latest_review, open_action_items) = p.review.unwrap_or((None, Vec::new()));
    let (attainment, children) = p.attain.map(|a| (a.parent, a.children)).unwrap_or((None, Vec::new()));
    let period = attainment.as_ref().and_then(|a| a.period.clone());
    let keep = |f: &str| w.has(f);
    pb::Dashboard {
        unit,
        display_name: p.name.filter(|_| keep("display_name")).unwrap_or_default(),
        period: period.filter(|_| keep("period")),
        attainment: attainment.filter(|_| keep("attainment")),
        children: if keep("children") { children } else { Vec::new() },
        open_alerts: p.alerts.map(|a| a.alerts).unwrap_or_default(),
        alert_summary: p.summary,
        top_loss_reasons: p.losses.map(|l| l.reasons).unwrap_or_default(),
        open_action_items: if keep("open_action_items") { open_action_items } else { Vec::new() },
        latest_review: latest_review.filter(|_| keep("latest_review")),
        sections,
        data_time: Some(attain_kit::wire::timestamp(chrono::Utc::now())),
        from_cache: false,
        burn_up: p.burn_up,
        gap_attribution: p.gap_attribution,
        compliance: p.compliance,
    }
}
