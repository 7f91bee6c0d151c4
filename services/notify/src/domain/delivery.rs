//! A delivery: one message owed to one subscription for one event (an
//! alert change, a report coming due) —
//! the outbox row, kept after it is sent.

use attain_core::id::Id;
use chrono::{DateTime, Utc};

use super::{alert::Severity, event::Event, subscription::Subscription};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Sent,
    Failed,
    Dead,
    Cancelled,
}

impl State {
    pub const ALL: [State; 5] = [State::Pending, State::Sent, State::Failed, State::Dead, State::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Sent => "SENT",
            Self::Failed => "FAILED",
            Self::Dead => "DEAD",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Waiting to be sent (first time or again).
    pub fn is_waiting(self) -> bool {
        matches!(self, Self::Pending | Self::Failed)
    }
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: Id,
    pub subscription: Id,
    pub owner: String,
    pub event: Event,
    pub dedupe_key: String,
    pub severity: Severity,
    /// The message as rendered when the change arrived (a digest renders
    /// its day's rows together when it goes).
    pub text: String,
    pub digest: bool,
    pub state: State,
    pub attempts: u32,
    pub last_error: String,
    pub create_time: DateTime<Utc>,
    pub next_attempt: DateTime<Utc>,
    pub sent_time: Option<DateTime<Utc>>,
    /// Which endpoint it goes to (a hash of the address): what rate limits
    /// count by.
    pub endpoint_key: String,
}

impl Delivery {
    /// A new row owed to `s`: `event` told as `text`, written `now` and
    /// due at `due`, to the endpoint `endpoint_key`.
    pub fn owed(
        s: &Subscription,
        (event, dedupe_key, text): (Event, String, String),
        (now, due): (DateTime<Utc>, DateTime<Utc>),
        endpoint_key: String,
    ) -> Self {
        Self {
            id: Id::generate(),
            subscription: s.id.clone(),
            owner: s.owner.person.clone(),
            severity: event.severity(),
            event,
            dedupe_key,
            text,
            digest: s.schedule.digest_hour.is_some(),
            state: State::Pending,
            attempts: 0,
            last_error: String::new(),
            create_time: now,
            next_attempt: due.max(now),
            sent_time: None,
            endpoint_key,
        }
    }

    pub fn resource_name(&self) -> String {
        format!("subscriptions/{}/deliveries/{}", self.subscription.as_str(), self.id.as_str())
    }
}
