//! What a review report says: the next-period suggestion (trend × growth,
//! formula shown) and the Markdown rendering, in English or Chinese.

use attain_core::{
    money::Amount,
    period::{Granularity, Period, add_months},
};
use chrono::Duration;
use rust_decimal::Decimal;

use super::review::{ActionItem, Cause, Figures, Reason, Review};

/// Titles in the report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn t(self, en: &'static str, zh: &'static str) -> &'static str {
        match self {
            Self::En => en,
            Self::Zh => zh,
        }
    }
}

/// The period after `p`, of the same kind.
pub fn next_period(p: &Period) -> Option<Period> {
    let start = p.end + Duration::days(1);
    let months = match p.granularity {
        Granularity::Month => Some(1),
        Granularity::Quarter => Some(3),
        Granularity::Year => Some(12),
        _ => None,
    };
    let end = match months {
        Some(m) => add_months(start, m)? - Duration::days(1),
        None => start + Duration::days(p.days() - 1),
    };
    let expression = match p.granularity {
        Granularity::Month => start.format("%Y-%m").to_string(),
        _ => format!("{}..{}", start.format("%Y-%m-%d"), end.format("%Y-%m-%d")),
    };
    Period::parse("period", &expression, 1).ok()
}

/// How many such periods make a year (to annualise a suggestion).
pub fn per_year(p: &Period) -> Decimal {
    match p.granularity {
        Granularity::Month => Decimal::from(12),
        Granularity::Quarter => Decimal::from(4),
        Granularity::Year => Decimal::ONE,
        Granularity::Week => Decimal::from(52),
        _ => (Decimal::from(365) / Decimal::from(p.days().max(1))).round_dp(4),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub next: Period,
    pub trend: Amount,
    pub growth: Decimal,
    pub amount: Amount,
    pub formula: String,
    pub members: Vec<(String, Amount)>,
}

fn grown(a: Amount, g: Decimal) -> Amount {
    Amount::from_decimal((a.decimal() * (Decimal::ONE + g)).round_dp(2)).unwrap_or(a)
}

/// Trend = the reviewed period's actual; the suggestion grows it by `g`.
pub fn suggest(review: &Review, growth: Decimal) -> Option<Suggestion> {
    let next = next_period(&review.period)?;
    let trend = Amount::parse(&review.brief.unit.actual).unwrap_or(Amount::ZERO);
    let amount = grown(trend, growth);
    let members = review
        .brief
        .members
        .iter()
        .map(|m| (m.unit.clone(), grown(Amount::parse(&m.actual).unwrap_or(Amount::ZERO), growth)))
        .collect();
    Some(Suggestion {
        formula: format!("trend {trend} × (1 + {growth}) = {amount}"),
        next,
        trend,
        growth,
        amount,
        members,
    })
}

fn row(cells: &[&str]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// The report as Markdown.
pub fn markdown(
    l: Lang,
    review: &Review,
    reasons: &[Reason],
    causes: &[Cause],
    practices: &[(String, String)],
    actions: &[ActionItem],
    suggestion: Option<&Suggestion>,
) -> String {
    let mut md = String::new();
    let u = &review.brief.unit;
    let unit_name = if u.display_name.is_empty() { review.unit.resource_name() } else { u.display_name.clone() };
    md.push_str(&format!("# {} — {} {}\n\n", l.t("Review report", "复盘报告"), unit_name, review.period.expression));
    targets_section(&mut md, l, review);
    indicators_section(&mut md, l, u);
    gaps_section(&mut md, l, review);
    md.push_str(&format!("\n## {}\n\n", l.t("Top reasons for misses", "未达成主要原因")));
    for (i, r) in reasons.iter().enumerate() {
        let amount = if r.amount.is_empty() { String::new() } else { format!(", {}", r.amount) };
        md.push_str(&format!("{}. {} ({}){amount}\n", i + 1, r.label, r.count));
    }
    md.push_str(&format!("\n## {}\n\n", l.t("Root causes", "原因分析")));
    for c in causes {
        md.push_str(&format!("- {} — {}: {}\n", c.unit.resource_name(), c.kind.as_str(), c.text));
    }
    md.push_str(&format!("\n## {}\n\n", l.t("Practices to replicate", "可复制的做法")));
    for (title, text) in practices {
        md.push_str(&format!("- **{title}**: {text}\n"));
    }
    actions_section(&mut md, l, actions);
    if let Some(s) = suggestion {
        md.push_str(&format!("\n## {}\n\n", l.t("Next-period target suggestion", "下期目标建议")));
        md.push_str(&format!("- {}: {}\n", l.t("Period", "期间"), s.next.expression));
        md.push_str(&format!("- {}: {}\n", l.t("Suggested target", "建议目标"), s.amount));
        md.push_str(&format!("- {}: {}\n", l.t("Formula", "计算公式"), s.formula));
    }
    md
}

/// Targets against actuals: the unit, then its members.
fn targets_section(md: &mut String, l: Lang, review: &Review) {
    md.push_str(&format!("## {}\n\n", l.t("Targets vs actuals", "目标与实际")));
    md.push_str(&row(&[
        l.t("Unit", "单位"),
        l.t("Target", "目标"),
        l.t("Actual", "实际"),
        l.t("Attainment", "达成率"),
        l.t("Gap", "差距"),
        l.t("Status", "状态"),
    ]));
    md.push_str("|---|---:|---:|---:|---:|---|\n");
    // An adjusted target shows the original beside it: a lowered target
    // never hides a miss.
    let target = |f: &Figures| {
        if f.original_target.is_empty() || f.original_target == f.target {
            f.target.clone()
        } else {
            format!("{} ({} {})", f.target, l.t("originally", "原"), f.original_target)
        }
    };
    let line = |f: &Figures| {
        row(&[
            if f.display_name.is_empty() { &f.unit } else { &f.display_name },
            &target(f),
            &f.actual,
            &f.attainment_rate,
            &f.gap,
            &f.status,
        ])
    };
    md.push_str(&line(&review.brief.unit));
    for m in &review.brief.members {
        md.push_str(&line(m));
    }
}

/// Year-on-year growth, order value and conversion of the unit.
fn indicators_section(md: &mut String, l: Lang, u: &Figures) {
    let or_dash = |s: &str| if s.is_empty() { "—".to_owned() } else { s.to_owned() };
    md.push_str(&format!("\n## {}\n\n", l.t("Key indicators", "关键指标")));
    md.push_str(&format!("- {}: {}\n", l.t("YoY growth", "同比增长"), or_dash(&u.yoy_growth)));
    md.push_str(&format!("- {}: {}\n", l.t("Average order value", "客单价"), or_dash(&u.average_order_value)));
    md.push_str(&format!("- {}: {}\n", l.t("Conversion rate", "转化率"), or_dash(&u.conversion_rate)));
}

/// The gap split by sales driver, against last year and against target.
fn gaps_section(md: &mut String, l: Lang, review: &Review) {
    if review.brief.gaps.is_empty() {
        return;
    }
    md.push_str(&format!("\n## {}\n\n", l.t("Gap by sales driver", "差距归因")));
    md.push_str(&row(&[
        l.t("Against", "对比"),
        l.t("Difference", "差额"),
        l.t("Volume", "商机量"),
        l.t("Conversion", "转化率"),
        l.t("Order value", "客单价"),
    ]));
    md.push_str("|---|---:|---:|---:|---:|\n");
    for g in &review.brief.gaps {
        let basis = match g.basis.as_str() {
            "LAST_YEAR" => l.t("Last year", "去年同期"),
            _ => l.t("Target to date", "目标进度"),
        };
        md.push_str(&row(&[basis, &g.difference, &g.volume, &g.conversion, &g.aov]));
    }
}

fn actions_section(md: &mut String, l: Lang, actions: &[ActionItem]) {
    md.push_str(&format!("\n## {}\n\n", l.t("Action items", "行动计划")));
    md.push_str(&row(&[l.t("Owner", "负责人"), l.t("Action", "行动"), l.t("Due", "截止日期"), l.t("Status", "状态")]));
    md.push_str("|---|---|---|---|\n");
    for a in actions {
        md.push_str(&row(&[&a.owner, &a.text, &a.due_date.format("%Y-%m-%d").to_string(), a.status.as_str()]));
    }
}
