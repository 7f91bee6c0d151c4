//! Subscribing, reading and stopping subscriptions. Scope is checked when
//! a person subscribes (the unit must be theirs to read, asked of the
//! target service with their own credentials) and again on every delivery.

use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    id::Id,
    idempotency::IdempotencyKey,
    idempotent,
    scope::{check_etag, hidden, reveal},
    upstream::Forwarded,
};
use chrono::Utc;
use prost::Message;

use super::{App, owner_of, secrets::ChannelSecret};
use crate::{
    domain::{
        alert::{Rule, Severity},
        channel::{Kind, check_email, check_url},
        schedule::{QuietHours, Schedule, digest_hour, zone},
        subscription::{Language, MoneyUnit, State, Subscription, remind_minutes},
    },
    storage::{deliveries, live_alerts, subscriptions as store},
};

/// A subscription as asked for, fields as given (checked here).
#[derive(Debug, Clone, Default)]
pub struct NewSubscription {
    pub unit: Option<Id>,
    pub channel: Option<NewChannel>,
    pub rules: Vec<Rule>,
    pub least_severity: Option<Severity>,
    pub time_zone: String,
    pub quiet_hours: Option<(String, String)>,
    pub digest_hour: Option<i32>,
    pub language: String,
    pub money_unit: String,
    pub remind_minutes: i32,
}

#[derive(Debug, Clone)]
pub struct NewChannel {
    pub kind: Kind,
    /// The URL, or the e-mail address.
    pub address: String,
    pub secret: String,
    pub secret_env: String,
}

/// An environment variable a secret may be read from: the service's own
/// settings (APP__…) and system variables are not channel secrets.
fn check_env_name(field: &str, name: &str) -> ServiceResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && name.starts_with("NOTIFY_SECRET_");
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(field, format!("{name:?} is not a secret variable (NOTIFY_SECRET_…, upper case)")))
    }
}

/// Active subscriptions one person may hold: each alert change fans out to
/// every one, so an unbounded number is an amplifier.
const MAX_PER_PERSON: u64 = 50;
/// An admin wires the organisation's channels, and may hold more.
const MAX_PER_ADMIN: u64 = 500;

/// A signing secret as given: printable ASCII without spaces (a pasted
/// secret with an invisible character or a stray blank would sign every
/// message wrongly, found only when they all fail), at most 512 characters;
/// the generic webhook's, which Attain signs with, at least 16.
fn check_secret(field: &str, kind: Kind, secret: &str) -> ServiceResult<()> {
    if let Some(c) = secret.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(ServiceError::invalid(
            field,
            format!("contains {c:?} (U+{:04X}); a secret is printable ASCII without spaces", u32::from(c)),
        ));
    }
    let least = if kind == Kind::Webhook { 16 } else { 1 };
    if !(least..=512).contains(&secret.len()) {
        return Err(ServiceError::invalid(field, format!("must be {least} to 512 characters, not {}", secret.len())));
    }
    Ok(())
}

impl App {
    pub async fn create_subscription<R: Message + Default>(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        key: Option<IdempotencyKey>,
        (r, send_open): (NewSubscription, bool),
        render: fn(&Subscription) -> R,
    ) -> ServiceResult<R> {
        self.reconcile(who).await?;
        let f = |x: &str| format!("subscription.{x}");
        let unit = match r.unit {
            Some(u) => u,
            None if who.role == Role::Admin && who.unit.is_empty() => {
                return Err(ServiceError::invalid(f("unit"), "is required (an admin has no unit of its own)"));
            }
            None => Id::parse(&f("unit"), &who.unit)?,
        };
        let ch = r.channel.ok_or_else(|| ServiceError::invalid(f("channel"), "is required: one of its kinds"))?;
        let policy = self.delivering.policy;
        let (address, endpoint) = match ch.kind {
            Kind::Email => {
                if !self.channels.has_email() {
                    return Err(ServiceError::precondition(
                        "NO_SMTP_RELAY",
                        "this deployment sends no e-mail (notify.smtp_relay is not set)",
                    ));
                }
                check_email(&f("channel.email.address"), &ch.address)?
            }
            k => check_url(&f(&format!("channel.{}.url", k.as_str())), k, &ch.address, policy)?,
        };
        let field = |x: &str| f(&format!("channel.{}.{x}", ch.kind.as_str()));
        let given = !(ch.secret.is_empty() && ch.secret_env.is_empty());
        let (secret, secret_env) = match (ch.secret.is_empty(), ch.secret_env.is_empty()) {
            (false, false) => {
                return Err(ServiceError::invalid(field("secret"), "give secret or secret_env, not both"));
            }
            _ if given && !ch.kind.takes_secret() => {
                return Err(ServiceError::invalid(field("secret"), "this channel takes no signing secret"));
            }
            (false, true) => {
                check_secret(&field("secret"), ch.kind, &ch.secret)?;
                (ch.secret, None)
            }
            (true, false) => {
                check_env_name(&field("secret_env"), &ch.secret_env)?;
                // A variable is the deployment's, not the caller's: anyone
                // naming another team's would have messages signed with it.
                if !who.is_admin() {
                    return Err(ServiceError::PermissionDenied(format!(
                        "{}: only an admin names a secret held by the service; give the secret itself",
                        field("secret_env")
                    )));
                }
                if std::env::var_os(&ch.secret_env).is_none_or(|v| v.is_empty()) {
                    return Err(ServiceError::invalid(
                        field("secret_env"),
                        format!("{} is not set in this deployment's environment", ch.secret_env),
                    ));
                }
                (String::new(), Some(ch.secret_env))
            }
            (true, true) if ch.kind == Kind::Webhook => {
                return Err(ServiceError::invalid(
                    field("secret"),
                    "a generic webhook is always signed: give its secret",
                ));
            }
            (true, true) => (String::new(), None),
        };
        let tz_name =
            if r.time_zone.trim().is_empty() { self.delivering.org_zone.name().to_owned() } else { r.time_zone };
        let schedule = Schedule {
            zone: zone(&f("time_zone"), &tz_name)?,
            quiet: match r.quiet_hours {
                Some((a, b)) => QuietHours::parse(&f("quiet_hours"), &a, &b)?,
                None => None,
            },
            digest_hour: r.digest_hour.map(|h| digest_hour(&f("digest_hour"), h)).transpose()?,
        };
        if let (Some(q), Some(h)) = (schedule.quiet, schedule.digest_hour)
            && q.contains(chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(chrono::NaiveTime::MIN))
        {
            return Err(ServiceError::invalid(
                f("digest_hour"),
                format!("{h}:00 falls inside the quiet hours: the digest would go out when nothing may"),
            ));
        }
        let least = r.least_severity.unwrap_or(Severity::Yellow);
        let language = Language::parse(&f("language"), &r.language)?;
        let money_unit = MoneyUnit::parse(&f("money_unit"), &r.money_unit)?;
        let remind = remind_minutes(&f("remind_minutes_before"), r.remind_minutes)?;
        // Scope: the unit must be the caller's to read.
        if !who.is_admin() {
            let path = self.up.unit_path(fwd, &unit).await?;
            if !who.can_read(&path) {
                return Err(hidden(&unit.resource_name()));
            }
        } else {
            self.up.unit_path(fwd, &unit).await?;
        }
        let s = Subscription {
            id: Id::generate(),
            owner: owner_of(who),
            unit,
            channel: ch.kind,
            endpoint,
            secret_set: !secret.is_empty() || secret_env.is_some(),
            rules: {
                let mut rules = r.rules;
                rules.sort();
                rules.dedup();
                rules
            },
            least_severity: least,
            time_zone: tz_name,
            schedule,
            language,
            money_unit,
            remind_minutes: remind,
            state: State::Active,
            state_reason: String::new(),
            create_time: Utc::now(),
            delete_time: None,
            version: 1,
        };
        let sealed = self.sealer.seal(s.id.as_str(), &ChannelSecret { url: address, secret })?;
        let stored = store::Stored { subscription: s, sealed, secret_env };
        let reminding = stored.subscription.remind_minutes > 0;
        let answer: ServiceResult<R> = async {
            idempotent!(self.db, key, |txn| {
                let cap = if who.is_admin() { MAX_PER_ADMIN } else { MAX_PER_PERSON };
                if store::count_active(&txn, &who.person).await? >= cap {
                    return Err(ServiceError::precondition(
                        "TOO_MANY_SUBSCRIPTIONS",
                        format!("{} already has {cap} active subscriptions; delete one first", who.person),
                    ));
                }
                store::insert(&txn, &stored).await?;
                if send_open {
                    // What is open now, told as if it had just opened.
                    let open = live_alerts::all(&txn).await?;
                    let none = std::collections::HashMap::new();
                    let owed: Vec<_> = open
                        .iter()
                        .flat_map(|e| self.deliveries_for(e, std::slice::from_ref(&stored), &none))
                        .collect();
                    deliveries::insert_new(&txn, &owed).await?;
                }
                render(&stored.subscription)
            })
        }
        .await;
        if reminding && answer.is_ok() {
            // Reports already close to their deadline are told of now,
            // not at the next minute's pass.
            self.remind_now.notify_one();
        }
        answer
    }

    /// A subscription its owner (or an admin) may read.
    pub async fn subscription(&self, who: &Identity, id: &Id) -> ServiceResult<Subscription> {
        self.reconcile(who).await?;
        let found = store::get(&self.db, id.as_str()).await?.map(|s| s.subscription);
        let name = format!("subscriptions/{}", id.as_str());
        reveal(who, "subscription", &name, found, |s| who.is_admin() || s.owner.person == who.person)
    }

    /// The caller's subscriptions (an admin's: everyone's), by id.
    pub async fn subscriptions(
        &self,
        who: &Identity,
        show_deleted: bool,
        after: Option<&str>,
        limit: u64,
    ) -> ServiceResult<Vec<Subscription>> {
        self.reconcile(who).await?;
        let owner = (!who.is_admin()).then_some(who.person.as_str());
        Ok(store::list(&self.db, owner, show_deleted, after, limit)
            .await?
            .into_iter()
            .map(|s| s.subscription)
            .collect())
    }

    /// Stops a subscription (kept, DELETED); what it had not sent yet is
    /// cancelled. Deleting a deleted one answers it as it is.
    pub async fn delete_subscription(&self, who: &Identity, id: &Id, etag: &str) -> ServiceResult<Subscription> {
        let s = self.subscription(who, id).await?;
        let name = s.resource_name();
        check_etag(etag, &s.version.to_string(), &name)?;
        if s.state == State::Deleted {
            return Ok(s);
        }
        let txn = attain_kit::db::begin_write(&self.db).await?;
        if !store::delete(&txn, id.as_str(), s.version, Utc::now()).await? {
            return Err(ServiceError::stale_etag(&name));
        }
        deliveries::cancel_waiting(&txn, id.as_str()).await?;
        txn.commit().await?;
        self.subscription(who, id).await
    }
}
