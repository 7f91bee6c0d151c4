//! The report as Markdown: every figure of the brief, the reasons, causes,
//! practices, actions and the next-period suggestion, in one language.

use super::{
    Lang, Report,
    words::{self, Names, amount, percent},
};
use crate::domain::review::{Figures, Review};

/// What a user typed, as Markdown shows it literally: one line, markup
/// characters escaped (a name with "|" must not add a table column, a text
/// with "\n# " must not start a heading).
fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\r' => {}
            '\n' => out.push(' '),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn row(cells: &[&str]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// The report as Markdown.
pub fn markdown(l: Lang, r: &Report) -> String {
    let mut md = String::new();
    let review = &r.review;
    let u = &review.brief.unit;
    let unit_name =
        if u.display_name.is_empty() { r.names.unit(&review.unit.resource_name()) } else { u.display_name.clone() };
    md.push_str(&format!(
        "# {} — {} {}\n\n",
        l.t("Review report", "复盘报告"),
        inline(&unit_name),
        review.period.expression
    ));
    if !r.plan.currency.is_empty() {
        md.push_str(&format!("{}: {}\n\n", l.t("Amounts in", "金额币种"), r.plan.currency));
    }
    targets_section(&mut md, l, review);
    indicators_section(&mut md, l, review);
    gaps_section(&mut md, l, review);
    // Sections with nothing in them are left out.
    if !review.top_reasons.is_empty() {
        md.push_str(&format!("\n## {}\n\n", l.t("Top reasons for misses", "未达成主要原因")));
    }
    for (i, reason) in review.top_reasons.iter().enumerate() {
        let times = match l {
            Lang::En => format!(" ({})", reason.count),
            Lang::Zh => format!("({} 次)", reason.count),
        };
        let lost = if reason.amount.is_empty() {
            String::new()
        } else {
            format!("{}{}", l.t(", lost ", ",丢单金额 "), amount(&reason.amount))
        };
        md.push_str(&format!("{}. {}{times}{lost}\n", i + 1, words::reason(l, reason)));
    }
    if !r.causes.is_empty() {
        md.push_str(&format!("\n## {}\n\n", l.t("Root causes", "原因分析")));
    }
    for c in &r.causes {
        let who = inline(&r.names.unit(&c.unit.resource_name()));
        md.push_str(&format!("- {who} — {}: {}\n", words::cause(l, c.kind, c.subjective), inline(&c.text)));
    }
    if !r.practices.is_empty() {
        md.push_str(&format!("\n## {}\n\n", l.t("Practices to replicate", "可复制的做法")));
    }
    for (title, text) in &r.practices {
        md.push_str(&format!("- **{}**: {}\n", inline(title), inline(text)));
    }
    actions_section(&mut md, l, r, &r.names);
    if !r.reallocations.is_empty() {
        md.push_str(&format!("\n## {}\n\n", l.t("Resource reallocations", "资源调配")));
        md.push_str(&row(&[
            l.t("Unit", "单位"),
            l.t("Kind", "类别"),
            l.t("Detail", "说明"),
            l.t("Approved by", "批准人"),
        ]));
        md.push_str("|---|---|---|---|\n");
        for x in &r.reallocations {
            let (kind, detail) = words::reallocation(l, x);
            md.push_str(&row(&[
                &inline(&r.names.unit(&x.unit.resource_name())),
                kind,
                &inline(&detail),
                &inline(&r.names.person(l, &x.approved_by)),
            ]));
        }
    }
    let s = &r.suggestion;
    md.push_str(&format!("\n## {}\n\n", l.t("Next-period target suggestion", "下期目标建议")));
    md.push_str(&format!("- {}: {}\n", l.t("Period", "期间"), s.next.expression));
    md.push_str(&format!("- {}: {}\n", l.t("Suggested target", "建议目标"), amount(&s.amount.to_string())));
    md.push_str(&format!("- {}: {}\n", l.t("Formula", "计算公式"), words::formula(l, s)));
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
        l.t("Expected to date", "应完成进度"),
        l.t("Status", "状态"),
    ]));
    md.push_str("|---|---:|---:|---:|---:|---:|---|\n");
    // An adjusted target shows the original beside it: a lowered target
    // never hides a miss.
    let target = |f: &Figures| {
        if f.original_target.is_empty() || f.original_target == f.target {
            amount(&f.target)
        } else {
            format!("{} ({} {})", amount(&f.target), l.t("originally", "原"), amount(&f.original_target))
        }
    };
    let line = |f: &Figures| {
        row(&[
            &inline(if f.display_name.is_empty() { &f.unit } else { &f.display_name }),
            &target(f),
            &amount(&f.actual),
            &percent(&f.attainment_rate),
            &amount(&f.gap),
            &amount(&f.expected_to_date),
            words::status(l, &f.status),
        ])
    };
    md.push_str(&line(&review.brief.unit));
    for m in &review.brief.members {
        md.push_str(&line(m));
    }
    // The unit is its members plus its own: both shown, so the table adds up.
    if let Some((members, own)) = super::members_and_own(&review.brief) {
        let sum = |label: &str, v: [rust_decimal::Decimal; 4], rate: String| {
            let [t, a, g, e] = v.map(|d| amount(&d.to_string()));
            row(&[label, &t, &a, &rate, &g, &e, ""])
        };
        let rate =
            if members[0].is_zero() { "—".to_owned() } else { percent(&(members[1] / members[0]).to_string()) };
        md.push_str(&sum(l.t("**Members total**", "**下级合计**"), members, rate));
        md.push_str(&sum(l.t("Unit's own (not in members)", "本级自留(未分到下级)"), own, String::new()));
    }
}

/// Year-on-year growth, order value and conversion of the unit and each
/// member.
fn indicators_section(md: &mut String, l: Lang, review: &Review) {
    md.push_str(&format!("\n## {}\n\n", l.t("Key indicators", "关键指标")));
    md.push_str(&row(&[
        l.t("Unit", "单位"),
        l.t("YoY growth", "同比增长"),
        l.t("Average order value", "客单价"),
        l.t("Conversion rate", "转化率"),
    ]));
    md.push_str("|---|---:|---:|---:|\n");
    for f in std::iter::once(&review.brief.unit).chain(&review.brief.members) {
        let yoy = if f.yoy_growth.is_empty() {
            l.t("no history", "无去年数据").to_owned()
        } else {
            percent(&f.yoy_growth)
        };
        md.push_str(&row(&[
            &inline(if f.display_name.is_empty() { &f.unit } else { &f.display_name }),
            &yoy,
            &amount(&f.average_order_value),
            &percent(&f.conversion_rate),
        ]));
    }
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
    // Without last year's figures there is nothing to compare with: the
    // whole actual is not a gain.
    let no_history = review.brief.unit.yoy_growth.is_empty();
    for g in &review.brief.gaps {
        if no_history && g.basis == "LAST_YEAR" {
            md.push_str(&row(&[words::basis(l, &g.basis), l.t("no history", "无去年数据"), "", "", ""]));
            continue;
        }
        md.push_str(&row(&[
            words::basis(l, &g.basis),
            &amount(&g.difference),
            &amount(&g.volume),
            &amount(&g.conversion),
            &amount(&g.aov),
        ]));
    }
}

fn actions_section(md: &mut String, l: Lang, r: &Report, names: &Names) {
    if r.actions.is_empty() {
        return;
    }
    md.push_str(&format!("\n## {}\n\n", l.t("Action items", "行动计划")));
    md.push_str(&row(&[l.t("Owner", "负责人"), l.t("Action", "行动"), l.t("Due", "截止日期"), l.t("Status", "状态")]));
    md.push_str("|---|---|---|---|\n");
    for a in &r.actions {
        md.push_str(&row(&[
            &inline(&names.person(l, &a.owner)),
            &inline(&a.text),
            &a.due_date.format("%Y-%m-%d").to_string(),
            &words::action_state(l, a, r.today),
        ]));
    }
}

#[cfg(test)]
mod tests {
    use super::inline;

    #[test]
    fn typed_text_cannot_make_markup() {
        assert_eq!(inline("a | b\n# Injected\n| x |"), "a \\| b \\# Injected \\| x \\|");
        assert_eq!(inline("<i>x</i> *bold*"), "\\<i\\>x\\</i\\> \\*bold\\*");
        assert_eq!(inline("Region A 华东"), "Region A 华东");
    }
}
