//! Use cases: what the notify service does, in domain types. Handlers in
//! `api/` parse a request into these and convert the answer back; the
//! follower and the sender run here on the replica holding the lease.

pub mod deliveries;
pub mod enrich;
pub mod follower;
pub mod metrics;
pub mod reminders;
pub mod scope;
pub mod secrets;
pub mod sender;
pub mod subscriptions;
pub mod worker;

use std::time::Duration;

use attain_kit::{
    auth::{Identity, Role},
    configuration::{ClockSettings, NotifySettings},
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::DatabaseConnection;

use crate::{
    channels::Channels,
    clients::Upstreams,
    domain::{channel::Policy, retry::Backoff, subscription::Owner},
};

/// How deliveries are made in this deployment.
#[derive(Debug, Clone)]
pub struct Delivering {
    pub policy: Policy,
    pub backoff: Backoff,
    pub dashboard_url: String,
    /// The organisation's zone: a subscription's when it names none.
    pub org_zone: Tz,
    /// How often reminders and the scope sweep run.
    pub pass_interval: Duration,
}

impl Delivering {
    pub fn from_settings(n: &NotifySettings, org_zone: Tz) -> Self {
        Self {
            policy: Policy { allow_insecure: n.allow_insecure_webhooks },
            backoff: Backoff {
                base: Duration::from_millis(n.retry_base_ms.max(1)),
                max: Duration::from_millis(n.retry_max_ms.max(n.retry_base_ms.max(1))),
                max_attempts: n.max_attempts.max(1),
            },
            dashboard_url: n.dashboard_url.clone(),
            org_zone,
            pass_interval: Duration::from_millis(n.pass_interval_ms.max(100)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub(crate) db: DatabaseConnection,
    pub(crate) up: Upstreams,
    pub(crate) clock: ClockSettings,
    pub(crate) sealer: secrets::Sealer,
    pub(crate) channels: Channels,
    pub(crate) delivering: Delivering,
    pub(crate) metrics: metrics::NotifyMetrics,
    /// Wakes this replica's reminder pass (a subscription asking for
    /// reminders was just made).
    pub(crate) remind_now: std::sync::Arc<tokio::sync::Notify>,
    /// Units' display names, as recently read from target.
    pub(crate) names: enrich::Names,
}

impl App {
    pub fn new(
        db: DatabaseConnection,
        up: Upstreams,
        clock: ClockSettings,
        (sealer, channels, delivering): (secrets::Sealer, Channels, Delivering),
        metrics: &attain_kit::metrics::Metrics,
    ) -> Self {
        Self {
            db,
            up,
            clock,
            sealer,
            channels,
            delivering,
            metrics: metrics::NotifyMetrics::new(metrics),
            remind_now: std::sync::Arc::default(),
            names: enrich::Names::default(),
        }
    }

    /// Now, on the configured clock: a fixed date (demo, tests) keeps its
    /// time of day in the organisation's zone.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now_in(self.delivering.org_zone)
    }

    /// How a subscriber is written to.
    pub(crate) fn voice<'a>(
        &'a self,
        s: &crate::domain::subscription::Subscription,
    ) -> crate::domain::message::Voice<'a> {
        crate::domain::message::Voice {
            language: s.language,
            money_unit: s.money_unit,
            dashboard_url: &self.delivering.dashboard_url,
            zone: s.schedule.zone,
        }
    }

    /// What a subscription's rate limit counts by: its robot, hashed (the
    /// platform's own identity of it — a token, a key, a hook path — so
    /// another spelling of one URL is the same robot).
    pub(crate) fn endpoint_key(&self, stored: &crate::storage::subscriptions::Stored) -> String {
        let s = &stored.subscription;
        let robot = match self.sealer.open(s.id.as_str(), &stored.sealed) {
            Ok(c) => crate::domain::channel::robot(s.channel, &c.url),
            Err(_) => s.id.as_str().to_owned(),
        };
        hex::encode(&ring::digest::digest(&ring::digest::SHA256, robot.as_bytes()).as_ref()[..12])
    }

    /// Whether this replica holds the lease on `job` (taking or renewing
    /// it for `hold`).
    pub async fn lead(&self, job: &str, replica: &str, hold: Duration) -> bool {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(hold).unwrap_or_else(|_| chrono::Duration::seconds(60));
        match crate::storage::leases::hold(&self.db, job, replica, (now, until)).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, job, "lease check failed; not running the job this time");
                false
            }
        }
    }
}

/// The caller as stored with a subscription.
pub(crate) fn owner_of(who: &Identity) -> Owner {
    let role = match who.role {
        Role::Admin => "ADMIN",
        Role::Manager => "MANAGER",
        Role::Rep => "REP",
        Role::Viewer => "VIEWER",
    };
    Owner { person: who.person.clone(), role: role.to_owned(), unit: who.unit.clone() }
}

/// A stored owner as the identity its scope is checked with (None: a role
/// this build does not know, which sees nothing).
pub(crate) fn identity_of(o: &Owner) -> Option<Identity> {
    let role = match o.role.as_str() {
        "ADMIN" => Role::Admin,
        "MANAGER" => Role::Manager,
        "REP" => Role::Rep,
        "VIEWER" => Role::Viewer,
        _ => return None,
    };
    Some(Identity { person: o.person.clone(), role, unit: o.unit.clone() })
}
