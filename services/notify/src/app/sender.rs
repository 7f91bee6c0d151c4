//! Sending what is due: each due delivery (a digest's rows of one
//! subscription together) is claimed for one attempt, sent, and marked
//! SENT — or FAILED with a backoff, or DEAD after the last attempt. Rows of
//! one endpoint go one after another (its rate limit counts them); endpoints
//! go side by side.

use std::collections::{BTreeMap, HashSet};

use attain_kit::ServiceResult;
use chrono::{DateTime, Duration, Utc};
use ring::rand::SecureRandom;

use super::{App, metrics::Outcome};
use crate::{
    channels::Outgoing,
    domain::{
        delivery::{Delivery, State},
        event::Event,
        message::{Block, Message, digest, late_note, render_event},
        subscription::{self, Subscription},
    },
    storage::{
        deliveries::{self, Outcome as Stored},
        live_alerts, subscriptions,
    },
};

/// Due rows read per pass.
const BATCH: u64 = 100;
/// How long one attempt holds its rows (longer than any channel's timeout).
const CLAIM: Duration = Duration::seconds(60);
/// A digest takes its rows due this soon too.
const DIGEST_SLACK: Duration = Duration::seconds(5);

fn jitter() -> f64 {
    let mut b = [0u8; 8];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

impl App {
    /// What is due now, one list per endpoint (oldest first), leaving out
    /// the endpoints `busy` with a send: each endpoint's rows go one after
    /// another (its rate limit counts them), endpoints side by side, and
    /// a slow one holds up nobody else.
    pub async fn due_by_endpoint(&self, busy: &HashSet<String>) -> ServiceResult<Vec<Vec<Delivery>>> {
        let due = deliveries::due(&self.db, Utc::now(), BATCH, busy).await?;
        let mut by_endpoint: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
        for d in due {
            by_endpoint.entry(d.endpoint_key.clone()).or_default().push(d);
        }
        Ok(by_endpoint.into_values().collect())
    }

    /// Sends one endpoint's due rows in order: how many went.
    pub async fn send_endpoint(&self, rows: Vec<Delivery>) -> ServiceResult<usize> {
        let mut done_digests = Vec::new();
        let mut n = 0;
        for d in rows {
            if d.digest {
                if done_digests.contains(&d.subscription) {
                    continue;
                }
                done_digests.push(d.subscription.clone());
                let now = Utc::now();
                let group = deliveries::due_digest(&self.db, &d.subscription, now, now + DIGEST_SLACK).await?;
                if !group.is_empty() {
                    n += self.attempt(group).await?;
                }
            } else {
                n += self.attempt(vec![d]).await?;
            }
        }
        Ok(n)
    }

    /// One attempt at one message (one row, or a digest's rows).
    async fn attempt(&self, rows: Vec<Delivery>) -> ServiceResult<usize> {
        let Some(first) = rows.first() else { return Ok(0) };
        let ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
        let now = Utc::now();
        if !deliveries::claim(&self.db, &ids, now, now + CLAIM).await? {
            // Another pass has them (or some were cancelled meanwhile).
            return Ok(0);
        }
        let Some(stored) = subscriptions::get(&self.db, first.subscription.as_str()).await? else {
            return Ok(0);
        };
        let s = &stored.subscription;
        if s.state != subscription::State::Active {
            deliveries::cancel_waiting(&self.db, s.id.as_str()).await?;
            return Ok(0);
        }
        // The channel's rate limit: with a full minute behind it, the next
        // message waits until the oldest of that minute is a minute old —
        // the time the delivery shows as its next attempt.
        let limit = usize::try_from(s.channel.per_minute()).unwrap_or(usize::MAX).max(1);
        let recent = deliveries::sent_times_since(&self.db, &first.endpoint_key, now - Duration::minutes(1)).await?;
        if recent.len() >= limit {
            let free = recent[recent.len() - limit] + Duration::minutes(1);
            deliveries::postpone(&self.db, &ids, free.max(now + Duration::milliseconds(100))).await?;
            return Ok(0);
        }
        let mut message = self.message_of(s, &rows);
        if let [one] = rows.as_slice() {
            self.note_if_late(one, s, &mut message).await?;
        }
        let events: Vec<Event> = rows.iter().map(|d| d.event.clone()).collect();
        let result = match self.sealer.open(s.id.as_str(), &stored.sealed) {
            Err(e) => Err(e),
            Ok(secret) => {
                let signing = match (&stored.secret_env, secret.secret.is_empty()) {
                    (Some(var), _) => std::env::var(var).ok(),
                    (None, false) => Some(secret.secret.clone()),
                    (None, true) => None,
                };
                if stored.secret_env.is_some() && signing.is_none() {
                    Err(format!(
                        "the signing secret's variable {} is not set",
                        stored.secret_env.as_deref().unwrap_or("")
                    ))
                } else {
                    let out = Outgoing {
                        kind: s.channel,
                        secret: &secret,
                        signing_key: signing.as_deref(),
                        message: &message,
                        dedupe_key: &group_key(&rows),
                        events: &events,
                        language: s.language.as_str(),
                    };
                    self.channels.send(&out, Utc::now().timestamp_millis()).await
                }
            }
        };
        self.record(s, &rows, &ids, result).await?;
        Ok(rows.len())
    }

    /// A single alert message going out after its alert moved on says so.
    async fn note_if_late(&self, d: &Delivery, s: &Subscription, m: &mut Message) -> ServiceResult<()> {
        let (Event::Alert(e), false) = (&d.event, d.digest) else { return Ok(()) };
        let now = live_alerts::get(&self.db, &e.alert).await?;
        if let Some(note) = late_note(e, now.as_ref(), d.create_time, self.voice(s)) {
            // Before the link, after what it tells.
            let at = m.blocks.len().saturating_sub(1);
            m.blocks.insert(at, note);
        }
        Ok(())
    }

    fn message_of(&self, s: &Subscription, rows: &[Delivery]) -> Message {
        let voice = self.voice(s);
        match rows {
            [one] if !one.digest => render_event(&one.event, voice).unwrap_or_else(|| Message {
                title: one.text.lines().next().unwrap_or("").trim_matches('*').to_owned(),
                blocks: vec![Block::Text(one.text.clone())],
            }),
            _ => {
                let events: Vec<Event> = rows.iter().map(|d| d.event.clone()).collect();
                digest(&events, voice)
            }
        }
    }

    async fn record(
        &self,
        s: &Subscription,
        rows: &[Delivery],
        ids: &[&str],
        result: Result<(), String>,
    ) -> ServiceResult<()> {
        let attempts = rows.iter().map(|d| d.attempts).max().unwrap_or(0) + 1;
        let now = Utc::now();
        let n = rows.len() as u64;
        let outcome = match result {
            Ok(()) => {
                self.metrics.attempted(s.channel, Outcome::Sent, n);
                Stored {
                    state: State::Sent,
                    attempts,
                    last_error: String::new(),
                    next_attempt: now,
                    sent_at: Some(now),
                }
            }
            Err(e) => {
                let backoff = self.delivering.backoff;
                let dead = backoff.exhausted(attempts);
                self.metrics.attempted(s.channel, if dead { Outcome::Dead } else { Outcome::Failed }, n);
                tracing::warn!(subscription = %s.id.as_str(), channel = s.channel.as_str(), attempts, dead, error = %e, "delivery failed");
                let wait = Duration::from_std(backoff.wait(attempts, jitter())).unwrap_or_else(|_| Duration::hours(1));
                Stored {
                    state: if dead { State::Dead } else { State::Failed },
                    attempts,
                    last_error: e,
                    next_attempt: now + wait,
                    sent_at: None,
                }
            }
        };
        deliveries::finish(&self.db, ids, &outcome).await
    }

    /// Gauges of what waits: rows waiting and dead, and the oldest due
    /// row's lateness.
    pub async fn measure_backlog(&self, now: DateTime<Utc>) -> ServiceResult<()> {
        let waiting = deliveries::count_in(&self.db, State::Pending).await?
            + deliveries::count_in(&self.db, State::Failed).await?;
        let dead = deliveries::count_in(&self.db, State::Dead).await?;
        let oldest = deliveries::due(&self.db, now, 1, &HashSet::new()).await?;
        let lag = oldest.first().map_or(0, |d| (now - d.next_attempt).num_seconds());
        self.metrics.backlog(waiting, dead, lag);
        Ok(())
    }
}

/// The key a channel sees: a row's own, or a digest's (its rows' keys
/// together), so a repeat of the same message carries the same key.
fn group_key(rows: &[Delivery]) -> String {
    match rows {
        [one] => format!("{}/{}", one.subscription.as_str(), one.dedupe_key),
        _ => {
            let mut keys: Vec<&str> = rows.iter().map(|d| d.dedupe_key.as_str()).collect();
            keys.sort_unstable();
            let joined = keys.join("\n");
            let h = hex::encode(&ring::digest::digest(&ring::digest::SHA256, joined.as_bytes()).as_ref()[..16]);
            format!("{}/digest-{h}", rows.first().map_or("", |d| d.subscription.as_str()))
        }
    }
}
