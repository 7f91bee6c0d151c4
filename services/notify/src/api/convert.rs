//! Wire ↔ domain for subscriptions and deliveries. Secrets never go back
//! out: a channel is shown by its endpoint.

use attain_kit::{ServiceError, ServiceResult, wire::timestamp};
use attain_proto::attain::{
    common::v1 as common,
    notify::v1::{self as pb, channel::Kind as WireKind},
    tracking::v1 as tracking,
};

use crate::{
    app::subscriptions::NewChannel,
    domain::{
        alert::{Rule, Severity},
        channel::Kind,
        delivery::{Delivery, State as DeliveryState},
        subscription::{State, Subscription},
    },
};

pub fn severity_wire(s: Severity) -> common::Status {
    match s {
        Severity::Yellow => common::Status::Yellow,
        Severity::Red => common::Status::Red,
    }
}

pub fn rule_wire(r: Rule) -> tracking::AlertRule {
    match r {
        Rule::BehindPace => tracking::AlertRule::BehindPace,
        Rule::MissedMilestone => tracking::AlertRule::MissedMilestone,
        Rule::StaleData => tracking::AlertRule::StaleData,
        Rule::ReportOverdue => tracking::AlertRule::ReportOverdue,
    }
}

pub fn parse_rule(field: &str, v: i32) -> ServiceResult<Rule> {
    match tracking::AlertRule::try_from(v) {
        Ok(tracking::AlertRule::BehindPace) => Ok(Rule::BehindPace),
        Ok(tracking::AlertRule::MissedMilestone) => Ok(Rule::MissedMilestone),
        Ok(tracking::AlertRule::StaleData) => Ok(Rule::StaleData),
        Ok(tracking::AlertRule::ReportOverdue) => Ok(Rule::ReportOverdue),
        _ => Err(ServiceError::invalid(
            field,
            format!("{v} is not an alert rule (BEHIND_PACE, MISSED_MILESTONE, STALE_DATA, REPORT_OVERDUE)"),
        )),
    }
}

/// Unset: the default (YELLOW, everything).
pub fn parse_least_severity(field: &str, v: i32) -> ServiceResult<Option<Severity>> {
    match common::Status::try_from(v) {
        Ok(common::Status::Unspecified) => Ok(None),
        Ok(common::Status::Yellow) => Ok(Some(Severity::Yellow)),
        Ok(common::Status::Red) => Ok(Some(Severity::Red)),
        _ => Err(ServiceError::invalid(field, format!("{v} is not a severity alerts have (YELLOW, RED)"))),
    }
}

pub fn parse_delivery_state(field: &str, v: i32) -> ServiceResult<DeliveryState> {
    match pb::DeliveryState::try_from(v) {
        Ok(pb::DeliveryState::Pending) => Ok(DeliveryState::Pending),
        Ok(pb::DeliveryState::Sent) => Ok(DeliveryState::Sent),
        Ok(pb::DeliveryState::Failed) => Ok(DeliveryState::Failed),
        Ok(pb::DeliveryState::Dead) => Ok(DeliveryState::Dead),
        Ok(pb::DeliveryState::Cancelled) => Ok(DeliveryState::Cancelled),
        _ => Err(ServiceError::invalid(field, format!("{v} is not a delivery state"))),
    }
}

/// The channel asked for.
pub fn new_channel(c: Option<&pb::Channel>) -> ServiceResult<Option<NewChannel>> {
    let Some(kind) = c.and_then(|c| c.kind.as_ref()) else { return Ok(None) };
    let robot = |k: Kind, r: &pb::RobotChannel| NewChannel {
        kind: k,
        address: r.url.clone(),
        secret: r.secret.clone(),
        secret_env: r.secret_env.clone(),
    };
    Ok(Some(match kind {
        WireKind::Dingtalk(r) => robot(Kind::DingTalk, r),
        WireKind::Feishu(r) => robot(Kind::Feishu, r),
        WireKind::Wecom(r) => robot(Kind::WeCom, r),
        WireKind::Slack(r) => robot(Kind::Slack, r),
        WireKind::Webhook(r) => robot(Kind::Webhook, r),
        WireKind::Email(e) => NewChannel {
            kind: Kind::Email,
            address: e.address.clone(),
            secret: String::new(),
            secret_env: String::new(),
        },
    }))
}

fn channel_wire(s: &Subscription) -> pb::Channel {
    let empty = pb::RobotChannel::default;
    let kind = match s.channel {
        Kind::DingTalk => WireKind::Dingtalk(empty()),
        Kind::Feishu => WireKind::Feishu(empty()),
        Kind::WeCom => WireKind::Wecom(empty()),
        Kind::Slack => WireKind::Slack(empty()),
        Kind::Webhook => WireKind::Webhook(empty()),
        Kind::Email => WireKind::Email(pb::EmailChannel::default()),
    };
    pb::Channel { kind: Some(kind), endpoint: s.endpoint.clone(), secret_set: s.secret_set }
}

pub fn subscription_wire(s: &Subscription) -> pb::Subscription {
    pb::Subscription {
        name: s.resource_name(),
        owner: s.owner.person.clone(),
        unit: s.unit.resource_name(),
        channel: Some(channel_wire(s)),
        rules: s.rules.iter().map(|r| rule_wire(*r) as i32).collect(),
        least_severity: severity_wire(s.least_severity) as i32,
        time_zone: s.time_zone.clone(),
        quiet_hours: s.schedule.quiet.map(|q| pb::QuietHours { start: q.start_text(), end: q.end_text() }),
        digest_hour: s.schedule.digest_hour.and_then(|h| i32::try_from(h).ok()),
        language: s.language.as_str().to_owned(),
        state: match s.state {
            State::Active => pb::SubscriptionState::Active,
            State::Suspended => pb::SubscriptionState::Suspended,
            State::Deleted => pb::SubscriptionState::Deleted,
        } as i32,
        create_time: Some(timestamp(s.create_time)),
        delete_time: s.delete_time.map(timestamp),
        etag: s.version.to_string(),
        money_unit: s.money_unit.as_str().to_owned(),
        remind_minutes_before: i32::try_from(s.remind_minutes).unwrap_or(0),
        state_reason: s.state_reason.clone(),
        owner_role: s.owner.role.clone(),
        owner_unit: if s.owner.unit.is_empty() { String::new() } else { format!("units/{}", s.owner.unit) },
    }
}

pub fn delivery_wire(d: &Delivery) -> pb::Delivery {
    pb::Delivery {
        name: d.resource_name(),
        event: d.event.name(),
        dedupe_key: d.dedupe_key.clone(),
        state: match d.state {
            DeliveryState::Pending => pb::DeliveryState::Pending,
            DeliveryState::Sent => pb::DeliveryState::Sent,
            DeliveryState::Failed => pb::DeliveryState::Failed,
            DeliveryState::Dead => pb::DeliveryState::Dead,
            DeliveryState::Cancelled => pb::DeliveryState::Cancelled,
        } as i32,
        attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
        last_error: d.last_error.clone(),
        create_time: Some(timestamp(d.create_time)),
        next_attempt_time: d.state.is_waiting().then(|| timestamp(d.next_attempt)),
        sent_time: d.sent_time.map(timestamp),
        text: d.text.clone(),
        digest: d.digest,
        unit: format!("units/{}", d.event.unit()),
        severity: severity_wire(d.severity) as i32,
    }
}
