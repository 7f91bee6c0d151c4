//! What notify measures of itself: deliveries by channel and outcome, rows
//! waiting and dead, how late the oldest due message is, and whether it
//! follows the alert feed at all.

use attain_kit::metrics::{Counters, Gauges, Metrics};

use crate::domain::channel::Kind;

#[derive(Debug, Clone)]
pub struct NotifyMetrics {
    attempts: Counters,
    waiting: Gauges,
    dead: Gauges,
    lag: Gauges,
    events: Counters,
    following: Gauges,
}

/// The outcomes of an attempt (the `outcome` label's only values).
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Sent,
    Failed,
    Dead,
}

impl NotifyMetrics {
    pub fn new(m: &Metrics) -> Self {
        let mut sets: Vec<Vec<(&'static str, &'static str)>> = Vec::new();
        for k in Kind::ALL {
            for o in ["sent", "failed", "dead"] {
                sets.push(vec![("channel", k.as_str()), ("outcome", o)]);
            }
        }
        let sets: Vec<&[(&'static str, &str)]> = sets.iter().map(Vec::as_slice).collect();
        Self {
            attempts: m
                .counter(
                    "attain_notify_deliveries",
                    "Delivery attempts by channel and outcome: sent; failed (tried again later); dead (gave up)",
                )
                .starting_at_zero(&sets),
            waiting: m
                .gauge("attain_notify_deliveries_waiting", "Deliveries not yet sent (pending or failed)")
                .starting_at_zero(&[&[]]),
            dead: m
                .gauge("attain_notify_deliveries_dead", "Deliveries that gave up and wait for a redrive")
                .starting_at_zero(&[&[]]),
            lag: m
                .gauge(
                    "attain_notify_send_lag_seconds",
                    "How long the oldest due delivery has waited past its time (0: none waiting)",
                )
                .starting_at_zero(&[&[]]),
            events: m
                .counter("attain_notify_alert_changes", "Alert changes read from tracking's feed")
                .starting_at_zero(&[&[]]),
            following: m
                .gauge(
                    "attain_notify_following",
                    "1 while this replica follows tracking's alert feed (the lease holder, its stream open)",
                )
                .starting_at_zero(&[&[]]),
        }
    }

    pub fn attempted(&self, channel: Kind, outcome: Outcome, n: u64) {
        let o = match outcome {
            Outcome::Sent => "sent",
            Outcome::Failed => "failed",
            Outcome::Dead => "dead",
        };
        self.attempts.inc_by(&[("channel", channel.as_str()), ("outcome", o)], n);
    }

    pub fn backlog(&self, waiting: u64, dead: u64, lag_seconds: i64) {
        self.waiting.set(&[], i64::try_from(waiting).unwrap_or(i64::MAX));
        self.dead.set(&[], i64::try_from(dead).unwrap_or(i64::MAX));
        self.lag.set(&[], lag_seconds.max(0));
    }

    pub fn following(&self, yes: bool) {
        self.following.set(&[], i64::from(yes));
    }

    pub fn read_changes(&self, n: u64) {
        self.events.inc_by(&[], n);
    }
}
