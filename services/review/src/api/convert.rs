//! Conversions between attain.review.v1 messages and domain types.

use attain_kit::wire::{period, timestamp};
use attain_proto::attain::{common::v1 as common, review::v1 as pb};
use chrono::NaiveDate;

use crate::domain::review::{
    ActionItem, ActionStatus, Cadence, Cause, CauseKind, Figures, GapEffects, Reason, Review, State,
};

fn money(currency: &str, amount: &str) -> Option<common::Money> {
    (!amount.is_empty()).then(|| common::Money { currency_code: currency.to_owned(), amount: amount.to_owned() })
}

fn status(s: &str) -> i32 {
    let status = match s {
        "GREEN" => common::Status::Green,
        "YELLOW" => common::Status::Yellow,
        "RED" => common::Status::Red,
        "NO_TARGET" => common::Status::NoTarget,
        _ => common::Status::Unspecified,
    };
    status as i32
}

pub fn figures(f: &Figures) -> pb::MemberFigures {
    pb::MemberFigures {
        unit: f.unit.clone(),
        display_name: f.display_name.clone(),
        target: money(&f.currency, &f.target),
        original_target: money(&f.currency, &f.original_target),
        actual: money(&f.currency, &f.actual),
        attainment_rate: f.attainment_rate.clone(),
        gap: money(&f.currency, &f.gap),
        yoy_growth: f.yoy_growth.clone(),
        average_order_value: money(&f.currency, &f.average_order_value),
        conversion_rate: f.conversion_rate.clone(),
        status: status(&f.status),
        first_day: f.days.as_ref().map(|d| d.0.clone()).unwrap_or_default(),
        last_day: f.days.as_ref().map(|d| d.1.clone()).unwrap_or_default(),
    }
}

pub fn reason(r: &Reason) -> pb::ReasonSummary {
    pb::ReasonSummary {
        reason: r.key.clone(),
        label: r.label.clone(),
        count: r.count,
        amount: (!r.amount.is_empty())
            .then(|| common::Money { currency_code: String::new(), amount: r.amount.clone() }),
    }
}

/// `only_member`: a rep sees its own line of the brief, not its peers'.
pub fn review(r: &Review, only_member: Option<&str>) -> pb::Review {
    let members = r.brief.members.iter().filter(|m| only_member.is_none_or(|u| m.unit == u)).map(figures).collect();
    pb::Review {
        name: r.resource_name(),
        unit: r.unit.resource_name(),
        plan: r.plan.clone(),
        period: Some(period(&r.period)),
        cadence: cadence_wire(r.cadence) as i32,
        state: match r.state {
            State::Open => pb::ReviewState::Open,
            State::Closed => pb::ReviewState::Closed,
        } as i32,
        brief: Some(pb::DataBrief {
            // The unit's own line is its whole figures: a rep reading its
            // region's review sees its own line only (found by the marker
            // scan of the authorization matrix).
            unit: only_member.is_none_or(|u| r.brief.unit.unit == u).then(|| figures(&r.brief.unit)),
            members,
            generate_time: r.brief.generated.map(timestamp),
            // The unit's whole picture, like the top reasons: not a rep's.
            gap_attribution: if only_member.is_some() {
                Vec::new()
            } else {
                r.brief.gaps.iter().map(gap_effects).collect()
            },
            compliance: r.brief.compliance.as_ref().filter(|_| only_member.is_none()).map(attain_kit::wire::compliance),
        }),
        top_reasons: if only_member.is_some() { Vec::new() } else { r.top_reasons.iter().map(reason).collect() },
        etag: r.version.to_string(),
        create_time: Some(timestamp(r.create_time)),
        close_time: r.close_time.map(timestamp),
    }
}

fn gap_effects(g: &GapEffects) -> pb::GapEffects {
    let m = |a: &str| money(&g.currency, a);
    pb::GapEffects {
        basis: g.basis.clone(),
        difference: m(&g.difference),
        volume_effect: m(&g.volume),
        conversion_effect: m(&g.conversion),
        average_order_value_effect: m(&g.aov),
    }
}

pub fn cadence(v: i32) -> Option<Cadence> {
    match pb::Cadence::try_from(v) {
        Ok(pb::Cadence::Weekly) => Some(Cadence::Weekly),
        Ok(pb::Cadence::Monthly) => Some(Cadence::Monthly),
        Ok(pb::Cadence::Quarterly) => Some(Cadence::Quarterly),
        Ok(pb::Cadence::Annual) => Some(Cadence::Annual),
        _ => None,
    }
}

fn cadence_wire(c: Cadence) -> pb::Cadence {
    match c {
        Cadence::Weekly => pb::Cadence::Weekly,
        Cadence::Monthly => pb::Cadence::Monthly,
        Cadence::Quarterly => pb::Cadence::Quarterly,
        Cadence::Annual => pb::Cadence::Annual,
    }
}

pub fn cause_kind(v: i32) -> Option<CauseKind> {
    use pb::CauseKind as K;
    match K::try_from(v) {
        Ok(K::InsufficientFollowUp) => Some(CauseKind::InsufficientFollowUp),
        Ok(K::SkillGap) => Some(CauseKind::SkillGap),
        Ok(K::Effort) => Some(CauseKind::Effort),
        Ok(K::Market) => Some(CauseKind::Market),
        Ok(K::CustomerChurn) => Some(CauseKind::CustomerChurn),
        Ok(K::CompetitorPricing) => Some(CauseKind::CompetitorPricing),
        Ok(K::Policy) => Some(CauseKind::Policy),
        Ok(K::Other) => Some(CauseKind::Other),
        _ => None,
    }
}

pub fn cause(c: &Cause) -> pb::Cause {
    let kind =
        pb::CauseKind::from_str_name(&format!("CAUSE_KIND_{}", c.kind.as_str())).unwrap_or(pb::CauseKind::Unspecified);
    pb::Cause {
        name: format!("reviews/{}/causes/{}", c.review.as_str(), c.id.as_str()),
        unit: c.unit.resource_name(),
        category: if c.subjective { pb::CauseCategory::Subjective } else { pb::CauseCategory::Objective } as i32,
        kind: kind as i32,
        text: c.text.clone(),
        author: c.author.clone(),
        create_time: Some(timestamp(c.create_time)),
    }
}

pub fn action_status(v: i32) -> Option<ActionStatus> {
    match pb::ActionStatus::try_from(v) {
        Ok(pb::ActionStatus::Open) => Some(ActionStatus::Open),
        Ok(pb::ActionStatus::InProgress) => Some(ActionStatus::InProgress),
        Ok(pb::ActionStatus::Done) => Some(ActionStatus::Done),
        Ok(pb::ActionStatus::Cancelled) => Some(ActionStatus::Cancelled),
        Ok(pb::ActionStatus::CarriedOver) => Some(ActionStatus::CarriedOver),
        _ => None,
    }
}

pub fn action_item(a: &ActionItem, today: NaiveDate) -> pb::ActionItem {
    pb::ActionItem {
        name: format!("reviews/{}/actionItems/{}", a.review.as_str(), a.id.as_str()),
        owner: a.owner.clone(),
        text: a.text.clone(),
        due_date: a.due_date.format("%Y-%m-%d").to_string(),
        status: match a.status {
            ActionStatus::Open => pb::ActionStatus::Open,
            ActionStatus::InProgress => pb::ActionStatus::InProgress,
            ActionStatus::Done => pb::ActionStatus::Done,
            ActionStatus::Cancelled => pb::ActionStatus::Cancelled,
            ActionStatus::CarriedOver => pb::ActionStatus::CarriedOver,
        } as i32,
        overdue: a.overdue(today),
        cause: a
            .cause
            .as_ref()
            .map(|c| format!("reviews/{}/causes/{}", a.review.as_str(), c.as_str()))
            .unwrap_or_default(),
        carried_from: a
            .carried_from
            .as_ref()
            .map(|(review, item)| format!("reviews/{}/actionItems/{}", review.as_str(), item.as_str()))
            .unwrap_or_default(),
        etag: a.version.to_string(),
        create_time: Some(timestamp(a.create_time)),
        update_time: Some(timestamp(a.update_time)),
    }
}
