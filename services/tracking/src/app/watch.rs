//! Watches: a subtree's alert changes and roll-up changes streamed from the
//! database's change feeds, so a watcher on any replica sees what every
//! replica wrote. Each message carries a resume token; a watcher that comes
//! back with one continues after it, or — when the feed was pruned past it
//! — is told to refresh everything first.

use std::time::Duration;

use attain_kit::{ServiceError, ServiceResult, id::Id};
use chrono::{DateTime, Utc};
use tokio_stream::wrappers::ReceiverStream;

use super::App;
use crate::{
    domain::alert::Alert,
    storage::{
        alerts,
        feeds::{self, Feed},
        rollups,
    },
};

/// How often a watcher looks at its feed unwoken (a notification lost in a
/// reconnect; SQLite writers in another process).
const WATCH_POLL: Duration = Duration::from_millis(500);

/// The least time between a watcher's reads of its feed.
const WATCH_GAP: Duration = Duration::from_millis(20);

/// Live alerts a watcher asking for them gets first, at most.
const OPEN_ON_WATCH: u64 = 10_000;

/// Rows read per feed and read.
const READ: u64 = 500;
/// A read this long may have left rows behind.
const READ_FULL: usize = 500;

/// Units whose figures moved, and when.
#[derive(Debug, Clone)]
pub struct RollupChange {
    pub units: Vec<Id>,
    pub at: DateTime<Utc>,
}

/// One message of a watch: a change, or (None) "the feed no longer holds
/// your position: refetch what you show", and where to resume after it.
#[derive(Debug, Clone)]
pub struct Watched<T> {
    pub change: Option<T>,
    pub resume_token: String,
}

/// What a watch follows; its tokens name it, so one kind's token does not
/// resume another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alerts,
    Rollups,
    RollupsAndAlerts,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Self::Alerts => "a",
            Self::Rollups => "r",
            Self::RollupsAndAlerts => "ra",
        }
    }

    fn feeds(self) -> &'static [Feed] {
        match self {
            Self::Alerts => &[Feed::AlertEvents],
            Self::Rollups => &[Feed::RollupChanges],
            Self::RollupsAndAlerts => &Feed::ALL,
        }
    }
}

/// A watcher's position in the feeds its watch follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    kind: Kind,
    rollups: i64,
    alerts: i64,
}

impl Cursor {
    /// "v1.a.{alerts}", "v1.r.{rollups}" or "v1.ra.{rollups}.{alerts}".
    fn token(self) -> String {
        match self.kind {
            Kind::Alerts => format!("v1.a.{}", self.alerts),
            Kind::Rollups => format!("v1.r.{}", self.rollups),
            Kind::RollupsAndAlerts => format!("v1.ra.{}.{}", self.rollups, self.alerts),
        }
    }

    fn parse(kind: Kind, token: &str) -> ServiceResult<Self> {
        let bad = |why: &str| ServiceError::invalid("resume_token", why.to_owned());
        let rest = token.strip_prefix("v1.").ok_or_else(|| bad("is not a token a watch sent"))?;
        let (tag, positions) = rest.split_once('.').ok_or_else(|| bad("is not a token a watch sent"))?;
        if tag != kind.tag() {
            return Err(bad("is a token of another kind of watch"));
        }
        // Canonical decimal positions only: what `token` writes.
        let number = |p: &str| -> ServiceResult<i64> {
            let canonical = !p.is_empty()
                && p.len() <= 18
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'));
            if !canonical {
                return Err(bad("is not a token a watch sent"));
            }
            p.parse().map_err(|_| bad("is not a token a watch sent"))
        };
        let (rollups, alerts) = match kind {
            Kind::Alerts => (0, number(positions)?),
            Kind::Rollups => (number(positions)?, 0),
            Kind::RollupsAndAlerts => {
                let (r, a) = positions.split_once('.').ok_or_else(|| bad("is not a token a watch sent"))?;
                (number(r)?, number(a)?)
            }
        };
        Ok(Self { kind, rollups, alerts })
    }

    fn with<T>(self, change: T) -> Watched<T> {
        Watched { change: Some(change), resume_token: self.token() }
    }
}

impl App {
    /// Where a watch of `kind` starts: now, or after `resume`; and whether
    /// the watcher must refresh first (pruned past its position, which then
    /// starts now).
    async fn start(&self, resume: &str, kind: Kind) -> ServiceResult<(Cursor, bool)> {
        let (r, a) =
            (feeds::extent(&self.db, Feed::RollupChanges).await?, feeds::extent(&self.db, Feed::AlertEvents).await?);
        let now = Cursor { kind, rollups: r.last, alerts: a.last };
        if resume.is_empty() {
            return Ok((now, false));
        }
        let from = Cursor::parse(kind, resume)?;
        let mut refresh = false;
        for feed in kind.feeds() {
            let (at, extent) = match feed {
                Feed::RollupChanges => (from.rollups, r),
                Feed::AlertEvents => (from.alerts, a),
            };
            if at > extent.last {
                return Err(ServiceError::invalid(
                    "resume_token",
                    format!(
                        "is ahead of the {} feed (newest position {}): not from this deployment",
                        feed.key(),
                        extent.last
                    ),
                ));
            }
            refresh |= at < extent.pruned_through;
        }
        Ok(if refresh { (now, true) } else { (from, false) })
    }

    /// Alert changes of a subtree (after the live ones, if asked), until
    /// the watcher goes away.
    pub async fn watch_alerts(
        &self,
        path: Vec<Id>,
        include_open: bool,
        resume: &str,
    ) -> ServiceResult<ReceiverStream<Watched<Alert>>> {
        let (from, refresh) = self.start(resume, Kind::Alerts).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        if refresh {
            let _ = tx.send(Watched { change: None, resume_token: from.token() }).await;
        }
        // Resuming replays what happened after the token: the live alerts
        // again would move the watcher's state backwards first.
        let resuming = !resume.is_empty() && !refresh;
        if include_open && !resuming {
            let open = alerts::list(&self.db, &path, None, None, None, OPEN_ON_WATCH).await?;
            for a in open.into_iter().filter(Alert::is_live) {
                let _ = tx.send(from.with(a)).await;
            }
        }
        let db = self.db.clone();
        poll_feed(tx, from, "alert", self.feeds.subscribe(), move |c| {
            let (db, path) = (db.clone(), path.clone());
            async move {
                let events = alerts::events_after(&db, &path, c.alerts, READ).await?;
                Ok(events
                    .into_iter()
                    .map(|(id, a)| {
                        let at = Cursor { alerts: id, ..c };
                        (at, at.with(a))
                    })
                    .collect())
            }
        });
        Ok(ReceiverStream::new(rx))
    }

    /// Roll-up changes (units whose figures moved) below `unit`, or
    /// everywhere; with `include_alerts`, an alert event's unit and those
    /// above it (from `unit` down: their dashboards show its open alerts)
    /// as it commits. A change outside `unit` names no unit.
    pub async fn watch_rollup_changes(
        &self,
        unit: Option<Id>,
        include_alerts: bool,
        resume: &str,
    ) -> ServiceResult<ReceiverStream<Watched<RollupChange>>> {
        let kind = if include_alerts { Kind::RollupsAndAlerts } else { Kind::Rollups };
        let (from, refresh) = self.start(resume, kind).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        if refresh {
            let _ = tx.send(Watched { change: None, resume_token: from.token() }).await;
        }
        let db = self.db.clone();
        poll_feed(tx, from, "roll-up change", self.feeds.subscribe(), move |c| {
            let (db, below) = (db.clone(), unit.clone());
            async move {
                let mut out = Vec::new();
                let mut at = c;
                for change in rollups::changes_after(&db, below.as_ref(), c.rollups, READ).await? {
                    at.rollups = change.id;
                    out.push((at, at.with(RollupChange { units: change.units(below.as_ref()), at: change.at })));
                }
                if include_alerts {
                    for (id, a) in alerts::events_after(&db, &[], c.alerts, READ).await? {
                        let from = match &below {
                            None => Some(0),
                            Some(u) => a.unit_path.iter().position(|p| p == u),
                        };
                        let units = from.map(|i| a.unit_path[i..].to_vec()).unwrap_or_default();
                        at.alerts = id;
                        out.push((at, at.with(RollupChange { units, at: Utc::now() })));
                    }
                }
                Ok(out)
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}

/// Reads a feed from after `last` whenever a commit may have added rows
/// (`wake`), and at least every `WATCH_POLL`, and sends each new row
/// (oldest first) until the watcher goes away. Reads are at least
/// `WATCH_GAP` apart however fast commits come.
fn poll_feed<C, T, F, Fut>(
    tx: tokio::sync::mpsc::Sender<T>,
    mut last: C,
    feed: &'static str,
    mut wake: tokio::sync::watch::Receiver<u64>,
    read: F,
) where
    C: Copy + Send + 'static,
    T: Send + 'static,
    F: Fn(C) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ServiceResult<Vec<(C, T)>>> + Send,
{
    tokio::spawn(async move {
        let mut behind = false;
        loop {
            // A full read means more may be waiting: read on at once.
            if !behind {
                tokio::select! {
                    _ = wake.changed() => {}
                    () = tokio::time::sleep(WATCH_POLL) => {}
                }
            }
            if tx.is_closed() {
                return;
            }
            match read(last).await {
                Ok(rows) => {
                    behind = rows.len() >= READ_FULL;
                    for (at, row) in rows {
                        last = at;
                        if tx.send(row).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    behind = false;
                    tracing::warn!(error = %e, feed, "change feed read failed; retrying");
                }
            }
            if !behind {
                tokio::time::sleep(WATCH_GAP).await;
            }
        }
    });
}
