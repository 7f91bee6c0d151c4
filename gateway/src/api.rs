//! attain.gateway.v1.GatewayService: the dashboard in one call, fanned out
//! to the services in parallel with a deadline per backend taken from the
//! caller's; a backend that is down or slow leaves its section marked
//! UNAVAILABLE instead of failing the call. Bad input (a period that does
//! not parse, a unit out of scope) is still an error.

use std::{sync::Arc, time::Duration};

use attain_kit::{
    ServiceError,
    auth::{Role, caller},
    metrics::Metrics,
    upstream::Forwarded,
};
use attain_proto::attain::{
    common::v1 as common,
    gateway::v1::{self as pb, gateway_service_server::GatewayService},
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    target::v1::{self as tpb, org_service_client::OrgServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use futures::FutureExt;
use tonic::{Code, Request, Response, Status, transport::Channel};

use crate::cache::{Answer, DashboardCache, Key};

/// The whole dashboard's budget when the caller sets no deadline.
const DEFAULT_BUDGET: Duration = Duration::from_secs(3);
/// Kept back from the caller's deadline to assemble and send the answer:
/// a tenth of it, at least 20 ms and at most half a second (a fixed 20 ms
/// was too little on a busy 2-core machine: the reply arrived after the
/// caller had given up).
fn margin(budget: Duration) -> Duration {
    (budget / 10).clamp(Duration::from_millis(20), Duration::from_millis(500))
}

#[derive(Debug, Clone)]
pub struct GatewayApi {
    org: OrgServiceClient<Channel>,
    tracking: TrackingServiceClient<Channel>,
    review: ReviewServiceClient<Channel>,
    metrics: Metrics,
    cache: Arc<DashboardCache>,
}

impl GatewayApi {
    pub fn new(
        target: Channel,
        tracking: Channel,
        review: Channel,
        metrics: Metrics,
        cache: Arc<DashboardCache>,
    ) -> Self {
        Self {
            org: OrgServiceClient::new(target),
            tracking: TrackingServiceClient::new(tracking),
            review: ReviewServiceClient::new(review),
            metrics,
            cache,
        }
    }

    /// A section's backend call, counted, and split into its value and state.
    async fn settled<T>(
        &self,
        backend: &str,
        section: &str,
        call: impl std::future::Future<Output = Result<T, Status>>,
    ) -> Result<(Option<T>, Result<(), String>), Status> {
        let r = call.await;
        self.observe(backend, section, &r);
        settle(r)
    }

    /// Counts a dashboard section's backend failure by backend and code.
    fn observe<T>(&self, backend: &str, section: &str, r: &Result<T, Status>) {
        if let Err(s) = r {
            let code = format!("{:?}", s.code());
            self.metrics.incr(
                "attain_gateway_backend_errors_total",
                "Dashboard backend calls that failed, by backend, section and gRPC code.",
                &[("backend", backend), ("section", section), ("code", &code)],
            );
        }
    }
}

/// The caller's remaining time, from its grpc-timeout header.
fn budget<T>(r: &Request<T>) -> Duration {
    r.metadata()
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (n, unit) = v.split_at(v.len().checked_sub(1)?);
            let n: u64 = n.parse().ok()?;
            Some(match unit {
                "H" => Duration::from_secs(n * 3600),
                "M" => Duration::from_secs(n * 60),
                "S" => Duration::from_secs(n),
                "m" => Duration::from_millis(n),
                "u" => Duration::from_micros(n),
                "n" => Duration::from_nanos(n),
                _ => return None,
            })
        })
        .unwrap_or(DEFAULT_BUDGET)
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
async fn call<T, F, Fut>(deadline: tokio::time::Instant, mut f: F) -> Result<T, Status>
where
    F: FnMut(Duration) -> Fut,
    Fut: std::future::Future<Output = Result<Response<T>, Status>>,
{
    for attempt in 0..2 {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, f(left)).await {
            Ok(Ok(r)) => return Ok(r.into_inner()),
            Ok(Err(s)) if s.code() == Code::Unavailable && attempt == 0 => continue,
            Ok(Err(s)) => return Err(s),
            Err(_) => return Err(Status::deadline_exceeded("the backend did not answer in time")),
        }
    }
    Err(Status::deadline_exceeded("the backend did not answer in time"))
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
fn settle<T>(r: Result<T, Status>) -> Result<(Option<T>, Result<(), String>), Status> {
    match r {
        Ok(v) => Ok((Some(v), Ok(()))),
        Err(s) if is_outage(&s) => Ok((None, Err(format!("{:?}: {}", s.code(), s.message())))),
        Err(s) => Err(s),
    }
}

/// A request to a backend carrying the caller's token, request id and
/// what remains of its deadline.
fn timed<T>(fwd: &Forwarded, msg: T, left: Duration) -> Request<T> {
    let mut req = fwd.request(msg);
    req.set_timeout(left);
    req
}

type Rpc<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl GatewayService for GatewayApi {
    async fn get_caller(&self, r: Request<pb::GetCallerRequest>) -> Rpc<pb::Caller> {
        let who = caller(&r)?;
        let role = match who.role {
            Role::Admin => common::Role::Admin,
            Role::Manager => common::Role::Manager,
            Role::Rep => common::Role::Rep,
            Role::Viewer => common::Role::Viewer,
        };
        let unit = if who.unit.is_empty() { String::new() } else { format!("units/{}", who.unit) };
        Ok(Response::new(pb::Caller { person: who.person, role: role as i32, unit }))
    }

    async fn get_dashboard(&self, r: Request<pb::GetDashboardRequest>) -> Rpc<pb::Dashboard> {
        let who = caller(&r)?;
        let fwd = Forwarded::from_metadata(r.metadata());
        let budget = budget(&r);
        let margin = margin(budget);
        let deadline = tokio::time::Instant::now() + budget.saturating_sub(margin);
        let q = r.into_inner();
        if q.unit.is_empty() {
            return Err(ServiceError::invalid("unit", "is required (units/{unit_id})").into());
        }
        if q.period.is_empty() {
            return Err(ServiceError::invalid("period", "is required (e.g. 2024-01)").into());
        }
        let key = Key {
            scope: format!("{:?}:{}", who.role, who.unit),
            unit: q.unit.clone(),
            period: q.period.clone(),
            plan: q.plan.clone(),
            as_of: q.as_of_date.clone(),
            metric: q.metric,
        };
        let this = self.clone();
        let fetch = move || async move { this.fetch_dashboard(fwd, deadline, q).await }.boxed();
        // A caller joining an identical call under way still keeps its own deadline.
        // Answer a little before the caller gives up (its deadline is the
        // fan-out's plus the margin).
        match tokio::time::timeout_at(deadline + margin / 2, self.cache.get_or_fetch(key, fetch)).await {
            Ok(Ok(Answer::Fetched(d))) => Ok(Response::new(*d)),
            // The stored bytes go out as they are (see `encoded`): the
            // message here is a placeholder nobody encodes.
            Ok(Ok(Answer::Cached(e))) => {
                let mut res = Response::new(pb::Dashboard::default());
                res.extensions_mut().insert(e);
                Ok(res)
            }
            Ok(Err(s)) => Err(s),
            Err(_) => Err(Status::deadline_exceeded("the dashboard was not ready within the deadline")),
        }
    }
}

impl GatewayApi {
    /// The fan-out behind one dashboard.
    async fn fetch_dashboard(
        &self,
        fwd: Forwarded,
        deadline: tokio::time::Instant,
        q: pb::GetDashboardRequest,
    ) -> Result<pb::Dashboard, Status> {
        let unit_f = call(deadline, |left| {
            let mut c = self.org.clone();
            let req = timed(&fwd, tpb::GetUnitRequest { name: q.unit.clone() }, left);
            async move { c.get_unit(req).await }
        });
        let attain_f = call(deadline, |left| {
            let mut c = self.tracking.clone();
            let req = timed(
                &fwd,
                kpb::ListChildAttainmentsRequest {
                    unit: q.unit.clone(),
                    period: q.period.clone(),
                    as_of_date: q.as_of_date.clone(),
                    metric: q.metric,
                    ..Default::default()
                },
                left,
            );
            async move { c.list_child_attainments(req).await }
        });
        let burn_f = call(deadline, |left| {
            let mut c = self.tracking.clone();
            let req = timed(
                &fwd,
                kpb::GetBurnUpRequest {
                    unit: q.unit.clone(),
                    period: q.period.clone(),
                    as_of_date: q.as_of_date.clone(),
                    metric: q.metric,
                    ..Default::default()
                },
                left,
            );
            async move { c.get_burn_up(req).await }
        });
        let gap_f = call(deadline, |left| {
            let mut c = self.tracking.clone();
            let req = timed(
                &fwd,
                kpb::GetGapAttributionRequest {
                    unit: q.unit.clone(),
                    period: q.period.clone(),
                    as_of_date: q.as_of_date.clone(),
                },
                left,
            );
            async move { c.get_gap_attribution(req).await }
        });
        let alerts_f = call(deadline, |left| {
            let mut c = self.tracking.clone();
            let req = timed(
                &fwd,
                kpb::ListAlertsRequest {
                    unit: q.unit.clone(),
                    state: kpb::AlertState::Open as i32,
                    page_size: 100,
                    ..Default::default()
                },
                left,
            );
            async move { c.list_alerts(req).await }
        });
        let losses_f = call(deadline, |left| {
            let mut c = self.tracking.clone();
            let req = timed(
                &fwd,
                kpb::ListLossReasonsRequest { unit: q.unit.clone(), period: q.period.clone(), limit: 3 },
                left,
            );
            async move { c.list_loss_reasons(req).await }
        });
        let review_f = async {
            let reviews = call(deadline, |left| {
                let mut c = self.review.clone();
                let req = timed(
                    &fwd,
                    rpb::ListReviewsRequest { unit: q.unit.clone(), page_size: 1000, ..Default::default() },
                    left,
                );
                async move { c.list_reviews(req).await }
            })
            .await?;
            let latest = reviews
                .reviews
                .into_iter()
                .filter(|x| x.unit == q.unit)
                .max_by_key(|x| x.create_time.as_ref().map(|t| (t.seconds, t.nanos)));
            let Some(latest) = latest else { return Ok((None, Vec::new())) };
            let items = call(deadline, |left| {
                let mut c = self.review.clone();
                let req = timed(
                    &fwd,
                    rpb::ListActionItemsRequest { parent: latest.name.clone(), ..Default::default() },
                    left,
                );
                async move { c.list_action_items(req).await }
            })
            .await?;
            let open = items
                .action_items
                .into_iter()
                .filter(|i| {
                    i.status == rpb::ActionStatus::Open as i32 || i.status == rpb::ActionStatus::InProgress as i32
                })
                .collect();
            Ok::<_, Status>((Some(latest), open))
        };
        // A caller's error (a unit out of scope, a period that does not
        // parse) ends the call at once; outages only cost their section.
        let (
            (unit, unit_state),
            (attain, attain_state),
            (burn_up, burn_state),
            (gap_attribution, gap_state),
            (alerts, alerts_state),
            (losses, losses_state),
            (review, review_state),
        ) = tokio::try_join!(
            self.settled("target", "unit", unit_f),
            self.settled("tracking", "attainment", attain_f),
            self.settled("tracking", "burn_up", burn_f),
            self.settled("tracking", "gap_attribution", gap_f),
            self.settled("tracking", "alerts", alerts_f),
            self.settled("tracking", "loss_reasons", losses_f),
            self.settled("review", "review", review_f),
        )?;
        let (latest_review, open_action_items) = review.unwrap_or((None, Vec::new()));
        let (attainment, children) = attain.map(|a| (a.parent, a.children)).unwrap_or((None, Vec::new()));
        let period = attainment.as_ref().and_then(|a| a.period.clone());
        Ok(pb::Dashboard {
            unit: q.unit.clone(),
            display_name: unit.map(|u| u.display_name).unwrap_or_default(),
            period,
            attainment,
            children,
            open_alerts: alerts.map(|a| a.alerts).unwrap_or_default(),
            top_loss_reasons: losses.map(|l| l.reasons).unwrap_or_default(),
            open_action_items,
            latest_review,
            sections: vec![
                section("unit", &unit_state),
                section("attainment", &attain_state),
                section("burn_up", &burn_state),
                section("gap_attribution", &gap_state),
                section("alerts", &alerts_state),
                section("loss_reasons", &losses_state),
                section("review", &review_state),
            ],
            data_time: Some(attain_kit::wire::timestamp(chrono::Utc::now())),
            from_cache: false,
            burn_up,
            gap_attribution,
        })
    }
}
