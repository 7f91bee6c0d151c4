//! attain.gateway.v1.GatewayService: who is calling, and the dashboard in
//! one call — cached per caller's scope, fetched by `dashboard::Fanout`
//! within the caller's deadline.

use std::{sync::Arc, time::Duration};

use attain_kit::{
    Rpc, ServiceError,
    auth::{Role, caller},
    context::Ctx,
};
use attain_proto::attain::{
    common::v1 as common,
    gateway::v1::{self as pb, gateway_service_server::GatewayService},
};
use futures::FutureExt;
use tonic::{Request, Response, Status};

use crate::{
    cache::{Answer, DashboardCache, Key},
    dashboard::Fanout,
    mask::Wanted,
};

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
    fanout: Fanout,
    cache: Arc<DashboardCache>,
    clock: attain_kit::configuration::ClockSettings,
}

impl GatewayApi {
    pub fn new(fanout: Fanout, cache: Arc<DashboardCache>, clock: attain_kit::configuration::ClockSettings) -> Self {
        Self { fanout, cache, clock }
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
        let today = self.clock.today().format("%Y-%m-%d").to_string();
        Ok(Response::new(pb::Caller { person: who.person, role: role as i32, unit, today }))
    }

    async fn get_dashboard(&self, r: Request<pb::GetDashboardRequest>) -> Rpc<pb::Dashboard> {
        let Ctx { who, fwd } = Ctx::of(&r)?;
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
        // Checked whatever the mask asks: an answer of the always-returned
        // fields alone still names a unit and period the caller may read.
        attain_kit::period::Period::parse("period", &q.period, 1).map_err(ServiceError::from)?;
        if !q.as_of_date.is_empty() {
            attain_kit::wire::parse_date("as_of_date", &q.as_of_date)?;
        }
        attain_kit::wire::parse_metric("metric", q.metric)?;
        let wanted = Wanted::parse(q.read_mask.as_ref())?;
        let key = Key {
            scope: format!("{:?}:{}", who.role, who.unit),
            unit: q.unit.clone(),
            period: q.period.clone(),
            plan: q.plan.clone(),
            as_of: q.as_of_date.clone(),
            metric: q.metric,
            wanted,
        };
        let this = self.clone();
        let fetch =
            move || async move { this.fanout.fetch(fwd, deadline, q, wanted).await.map_err(Status::from) }.boxed();
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
            Err(_) => {
                Err(ServiceError::DeadlineExceeded("the dashboard was not ready within the deadline".into()).into())
            }
        }
    }
}
