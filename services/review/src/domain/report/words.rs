//! Every word a report shows that is not the user's own text, in one
//! language at a time: statuses, cause kinds, loss reasons, action states,
//! rates as percentages, amounts with separators, people by name.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::{Lang, Suggestion};
use crate::domain::review::{ActionItem, ActionStatus, CauseKind, Reason};

/// The traffic light of a unit's figures ("GREEN", "YELLOW", "RED").
pub fn status(l: Lang, s: &str) -> &'static str {
    match s {
        "GREEN" => l.t("Green", "绿灯"),
        "YELLOW" => l.t("Yellow", "黄灯"),
        "RED" => l.t("Red", "红灯"),
        _ => "—",
    }
}

fn cause_kind(l: Lang, k: CauseKind) -> &'static str {
    match k {
        CauseKind::InsufficientFollowUp => l.t("Insufficient follow-up", "跟进不足"),
        CauseKind::SkillGap => l.t("Skill gap", "技能不足"),
        CauseKind::Effort => l.t("Effort", "投入不足"),
        CauseKind::Market => l.t("Market", "市场变化"),
        CauseKind::CustomerChurn => l.t("Customer churn", "客户流失"),
        CauseKind::CompetitorPricing => l.t("Competitor pricing", "竞品价格"),
        CauseKind::Policy => l.t("Policy", "政策影响"),
        CauseKind::Other => l.t("Other", "其他"),
    }
}

fn side(l: Lang, subjective: bool) -> &'static str {
    if subjective { l.t("subjective", "主观") } else { l.t("objective", "客观") }
}

/// A cause's kind and side: "Skill gap (subjective)", "技能不足(主观)".
pub fn cause(l: Lang, kind: CauseKind, subjective: bool) -> String {
    format!("{}{}{}{}", cause_kind(l, kind), l.t(" (", "("), side(l, subjective), l.t(")", ")"))
}

/// A loss reason as tracking names it ("PRICE", "NO_BUDGET", …).
fn loss(l: Lang, name: &str) -> &'static str {
    match name {
        "PRICE" => l.t("price", "价格"),
        "COMPETITOR" => l.t("competitor", "竞争对手"),
        "NO_BUDGET" => l.t("no budget", "客户无预算"),
        "NO_DECISION" => l.t("no decision", "客户未决策"),
        "PRODUCT_FIT" => l.t("product fit", "产品不匹配"),
        "TIMING" => l.t("timing", "时机不对"),
        "RELATIONSHIP" => l.t("relationship", "客户关系"),
        _ => l.t("other", "其他"),
    }
}

/// A top reason from its key ("SUBJECTIVE/SKILL_GAP", "LOSS/PRICE"), not
/// from the label stored with it (which is in no particular language).
pub fn reason(l: Lang, r: &Reason) -> String {
    let (group, name) = r.key.split_once('/').unwrap_or(("", r.key.as_str()));
    match group {
        "LOSS" => format!("{}{}", l.t("Lost: ", "丢单:"), loss(l, name)),
        "SUBJECTIVE" | "OBJECTIVE" => match CauseKind::from_db(name) {
            Some(k) => cause(l, k, group == "SUBJECTIVE"),
            None => r.label.clone(),
        },
        _ => r.label.clone(),
    }
}

pub fn action_status(l: Lang, s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::Open => l.t("Open", "未开始"),
        ActionStatus::InProgress => l.t("In progress", "进行中"),
        ActionStatus::Done => l.t("Done", "已完成"),
        ActionStatus::Cancelled => l.t("Cancelled", "已取消"),
        ActionStatus::CarriedOver => l.t("Carried over", "已转入下期"),
    }
}

/// An action's state as of `today`, overdue said in words.
pub fn action_state(l: Lang, a: &ActionItem, today: chrono::NaiveDate) -> String {
    let state = action_status(l, a.status);
    if a.overdue(today) { format!("{state}{}", l.t(" (overdue)", "(已逾期)")) } else { state.to_owned() }
}

/// A reallocation of resources in words: its kind and what it gives.
pub fn reallocation(l: Lang, r: &crate::domain::practice::Reallocation) -> (&'static str, String) {
    match r.kind.as_str() {
        "LEADS" => (l.t("Leads", "商机线索"), format!("{}{}", r.lead_count, l.t(" leads", " 条"))),
        "PROMOTION_BUDGET" => (
            l.t("Promotion budget", "促销预算"),
            r.budget.as_ref().map(|(a, c)| format!("{} {}", amount(&a.to_string()), c.as_str())).unwrap_or_default(),
        ),
        _ => (l.t("Coaching", "辅导"), r.description.clone()),
    }
}

/// Which figure a gap is measured against ("LAST_YEAR", "TARGET").
pub fn basis(l: Lang, b: &str) -> &'static str {
    match b {
        "LAST_YEAR" => l.t("Last year", "去年同期"),
        _ => l.t("Target to date", "目标进度"),
    }
}

/// A decimal fraction as a percentage ("0.3935" → "39.35%"); empty (no
/// base to divide by) → "—".
pub fn percent(rate: &str) -> String {
    match rate.trim().parse::<Decimal>() {
        Ok(r) => format!("{}%", (r * Decimal::ONE_HUNDRED).round_dp(2).normalize()),
        Err(_) => "—".to_owned(),
    }
}

/// An amount with thousands separators and a leading minus
/// ("-18404.58" → "-18,404.58"); empty → "—".
pub fn amount(a: &str) -> String {
    let a = a.trim();
    if a.is_empty() {
        return "—".to_owned();
    }
    let (sign, digits) = a.strip_prefix('-').map_or(("", a), |d| ("-", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// The suggestion's formula in the report's language.
pub fn formula(l: Lang, s: &Suggestion) -> String {
    let basis = match s.basis {
        super::TrendBasis::Actual => l.t("actual", "实际"),
        super::TrendBasis::Forecast => l.t("forecast to period end", "期末预测"),
    };
    format!(
        "{basis} {} × (1 + {}) = {}",
        amount(&s.trend.to_string()),
        percent(&s.growth.to_string()),
        amount(&s.amount.to_string())
    )
}

/// Names of units and people as the report shows them.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Display names by unit resource name.
    pub units: HashMap<String, String>,
    /// By person id: the unit they manage and whether it is a rep unit.
    pub managers: HashMap<String, (String, bool)>,
}

impl Names {
    /// A unit by display name, else by its id.
    pub fn unit(&self, name: &str) -> String {
        match self.units.get(name) {
            Some(d) if !d.is_empty() => d.clone(),
            _ => name.trim_start_matches("units/").to_owned(),
        }
    }

    /// A person: a rep by their unit's name, a manager as the manager of
    /// their unit, anyone else by their id.
    pub fn person(&self, l: Lang, id: &str) -> String {
        match self.managers.get(id) {
            Some((unit, true)) => self.unit(unit),
            Some((unit, false)) => format!("{}{}", self.unit(unit), l.t(" manager", "负责人")),
            None => id.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_rates_read_as_people_write_them() {
        assert_eq!(amount("-18404.58"), "-18,404.58");
        assert_eq!(amount("8000000.00"), "8,000,000.00");
        assert_eq!(amount("100"), "100");
        assert_eq!(amount("999.5"), "999.5");
        assert_eq!(amount(""), "—");
        assert_eq!(percent("0.3935"), "39.35%");
        assert_eq!(percent("1"), "100%");
        assert_eq!(percent("-0.125"), "-12.5%");
        assert_eq!(percent(""), "—");
    }

    #[test]
    fn reasons_come_from_their_key_in_either_language() {
        let r = |key: &str| Reason { key: key.into(), label: "lost: price".into(), count: 1, amount: String::new() };
        assert_eq!(reason(Lang::Zh, &r("LOSS/PRICE")), "丢单:价格");
        assert_eq!(reason(Lang::En, &r("LOSS/NO_BUDGET")), "Lost: no budget");
        assert_eq!(reason(Lang::Zh, &r("SUBJECTIVE/SKILL_GAP")), "技能不足(主观)");
        assert_eq!(reason(Lang::En, &r("OBJECTIVE/MARKET")), "Market (objective)");
    }
}
