//! Messages rendered from an alert's structured fields, in the
//! subscriber's language and money unit — never from a translated string
//! of tracking's.

use std::collections::BTreeMap;

use attain_core::money::Money;
use rust_decimal::{Decimal, RoundingStrategy};

use super::{
    alert::{AlertEvent, Change, Rule, Severity},
    event::Event,
    reminder::{Reminder, Report},
    subscription::{Language, MoneyUnit},
};

/// A rendered message: a short title (robots' notification line, the
/// e-mail subject) and a Markdown body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub text: String,
}

/// How a subscriber reads: language, money unit, and where the page is.
#[derive(Debug, Clone, Copy)]
pub struct Voice<'a> {
    pub language: Language,
    pub money_unit: MoneyUnit,
    pub dashboard_url: &'a str,
    /// The subscriber's zone: deadlines are told on its clock.
    pub zone: chrono_tz::Tz,
}

/// Money as the page writes it: "¥40,000.00", or "4.00 万元" in wan;
/// other currencies by code ("USD 1,234.50").
pub fn money(m: &Money, unit: MoneyUnit, language: Language) -> String {
    let (value, suffix) = match unit {
        MoneyUnit::Yuan => (m.amount.decimal(), ""),
        MoneyUnit::Wan => (
            m.amount.decimal() / Decimal::from(10_000),
            match language {
                Language::Zh => " 万元",
                Language::En => " 10k yuan",
            },
        ),
    };
    let v = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let sign = if v.is_sign_negative() && !v.is_zero() { "-" } else { "" };
    let s = format!("{:.2}", v.abs());
    let (whole, frac) = s.split_once('.').unwrap_or((s.as_str(), "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let symbol = match (m.currency.as_str(), unit) {
        (_, MoneyUnit::Wan) => String::new(),
        ("CNY", _) => "¥".to_owned(),
        (code, _) => format!("{code} "),
    };
    format!("{sign}{symbol}{grouped}.{frac}{suffix}")
}

fn severity(s: Severity, l: Language) -> &'static str {
    match (s, l) {
        (Severity::Red, Language::Zh) => "红灯",
        (Severity::Yellow, Language::Zh) => "黄灯",
        (Severity::Red, Language::En) => "Red",
        (Severity::Yellow, Language::En) => "Yellow",
    }
}

fn rule(r: Rule, l: Language) -> &'static str {
    match (r, l) {
        (Rule::BehindPace, Language::Zh) => "落后进度",
        (Rule::MissedMilestone, Language::Zh) => "未达里程碑",
        (Rule::StaleData, Language::Zh) => "数据未更新",
        (Rule::ReportOverdue, Language::Zh) => "日报/周报逾期",
        (Rule::BehindPace, Language::En) => "Behind pace",
        (Rule::MissedMilestone, Language::En) => "Missed milestone",
        (Rule::StaleData, Language::En) => "No recent data",
        (Rule::ReportOverdue, Language::En) => "Reports overdue",
    }
}

fn unit_label(e: &AlertEvent) -> &str {
    &e.unit
}

/// The link to the page, opened on the unit and period.
pub fn link(unit: &str, period: &str, v: Voice<'_>) -> String {
    let base = v.dashboard_url.trim_end_matches('/');
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("{base}/#unit={}&period={}&lang={}", enc(&format!("units/{unit}")), enc(period), v.language.as_str())
}

fn view(v: Voice<'_>) -> &'static str {
    match v.language {
        Language::Zh => "查看看板",
        Language::En => "Open the dashboard",
    }
}

fn report(r: Report, l: Language) -> &'static str {
    match (r, l) {
        (Report::DailyLog, Language::Zh) => "日报",
        (Report::WeeklySummary, Language::Zh) => "周报",
        (Report::MonthlyReview, Language::Zh) => "月度复盘",
        (Report::DailyLog, Language::En) => "daily log",
        (Report::WeeklySummary, Language::En) => "weekly summary",
        (Report::MonthlyReview, Language::En) => "monthly review",
    }
}

/// The one-line headline of a reminder, the deadline on the subscriber's
/// clock.
fn reminder_headline(r: &Reminder, v: Voice<'_>) -> String {
    let who = if r.unit_name.is_empty() { r.unit.clone() } else { format!("{} ({})", r.unit_name, r.unit) };
    let due = r.due.with_timezone(&v.zone).format("%Y-%m-%d %H:%M");
    let what = report(r.report, v.language);
    match v.language {
        Language::Zh => format!("【汇报提醒】{who} 的{what}（{}）将于 {due} 截止", r.period),
        Language::En => format!("[Reminder] {who}: the {what} for {} is due by {due}", r.period),
    }
}

/// The period a reminder's link opens: the month its report falls in.
fn reminder_period(r: &Reminder) -> String {
    match r.report {
        Report::DailyLog => r.period.get(..7).unwrap_or(&r.period).to_owned(),
        Report::WeeklySummary | Report::MonthlyReview => r.period.clone(),
    }
}

/// The message of a report coming due.
pub fn remind(r: &Reminder, v: Voice<'_>) -> Message {
    let title = reminder_headline(r, v);
    let text = format!("**{title}**\n\n[{}]({})", view(v), link(&r.unit, &reminder_period(r), v));
    Message { title, text }
}

/// The message of one event as it arrives (a digest renders its day's
/// events together instead).
pub fn render_event(e: &Event, v: Voice<'_>) -> Option<Message> {
    match e {
        Event::Alert(a) => a.change().map(|c| render(a, c, v)),
        Event::Reminder(r) => Some(remind(r, v)),
    }
}

/// One line of figures: "实际 ¥40,000.00，应完成 ¥50,000.00".
fn figures(e: &AlertEvent, v: Voice<'_>) -> Option<String> {
    let (a, x) = (e.actual.as_ref()?, e.expected.as_ref()?);
    let (a, x) = (money(a, v.money_unit, v.language), money(x, v.money_unit, v.language));
    Some(match v.language {
        Language::Zh => format!("实际 {a}，应完成 {x}"),
        Language::En => format!("actual {a} of {x} expected"),
    })
}

/// The one-line headline of an alert change.
fn headline(e: &AlertEvent, change: Change, l: Language) -> String {
    let (sev, r, u, p) = (severity(e.severity, l), rule(e.rule, l), unit_label(e), &e.period);
    match (change, l) {
        (Change::Raised, Language::Zh) => format!("【{sev}预警】{u} {r}（{p}）"),
        (Change::Escalated, Language::Zh) => {
            format!("【{sev}预警·已上报第{}级】{u} {r}（{p}）", e.escalation_level)
        }
        (Change::Resolved, Language::Zh) => format!("【预警解除】{u} {r}（{p}）"),
        (Change::Raised, Language::En) => format!("[{sev} alert] {u}: {r} ({p})"),
        (Change::Escalated, Language::En) => {
            format!("[{sev} alert, escalated {} level(s)] {u}: {r} ({p})", e.escalation_level)
        }
        (Change::Resolved, Language::En) => format!("[Alert resolved] {u}: {r} ({p})"),
    }
}

/// The message of one alert change.
pub fn render(e: &AlertEvent, change: Change, v: Voice<'_>) -> Message {
    let title = headline(e, change, v.language);
    let mut lines = vec![format!("**{title}**")];
    if let Some(f) = figures(e, v) {
        lines.push(f);
    } else if !e.message.is_empty() && change != Change::Resolved {
        // Report and staleness alerts carry no figures: their detail is
        // tracking's list of what is missing.
        lines.push(e.message.clone());
    }
    if change == Change::Escalated {
        lines.push(match v.language {
            Language::Zh => "无人确认，已按规则逐级上报。".to_owned(),
            Language::En => "Nobody acknowledged it, so it went up a level.".to_owned(),
        });
    }
    lines.push(format!("[{}]({})", view(v), link(&e.unit, &e.period, v)));
    Message { title, text: lines.join("\n\n") }
}

/// A day's events in one message, grouped by unit.
pub fn digest(events: &[Event], v: Voice<'_>) -> Message {
    let title = match v.language {
        Language::Zh => format!("每日预警摘要（{} 条）", events.len()),
        Language::En => format!("Daily alert digest ({} changes)", events.len()),
    };
    let mut by_unit: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for ev in events {
        by_unit.entry(ev.unit()).or_default().push(ev);
    }
    let mut lines = vec![format!("**{title}**")];
    for (unit, evs) in by_unit {
        lines.push(format!("**{unit}**"));
        let mut period = None;
        for e in evs {
            let line = match e {
                Event::Alert(a) => {
                    period.get_or_insert_with(|| a.period.clone());
                    let Some(change) = a.change() else { continue };
                    let mut line = format!("- {}", headline(a, change, v.language));
                    if let Some(f) = figures(a, v) {
                        line.push_str(match v.language {
                            Language::Zh => "：",
                            Language::En => ": ",
                        });
                        line.push_str(&f);
                    }
                    line
                }
                Event::Reminder(r) => {
                    period.get_or_insert_with(|| reminder_period(r));
                    format!("- {}", reminder_headline(r, v))
                }
            };
            lines.push(line);
        }
        if let Some(p) = period {
            lines.push(format!("[{}]({})", view(v), link(unit, &p, v)));
        }
    }
    Message { title, text: lines.join("\n\n") }
}

#[cfg(test)]
mod tests {
    use attain_core::money::{Amount, CurrencyCode};
    use chrono::Utc;

    use super::*;
    use crate::domain::alert::State;

    fn cny(s: &str) -> Money {
        Money { currency: CurrencyCode::parse("CNY").unwrap(), amount: Amount::parse(s).unwrap() }
    }

    fn event() -> AlertEvent {
        AlertEvent {
            alert: "alerts/a1".into(),
            unit: "rep-1".into(),
            unit_path: vec!["acme".into(), "region-a".into(), "rep-1".into()],
            period: "2024-01".into(),
            rule: Rule::BehindPace,
            state: State::Open,
            severity: Severity::Red,
            actual: Some(cny("40000")),
            expected: Some(cny("50000")),
            escalation_level: 0,
            message: "actual below 80% of expected".into(),
            time: Utc::now(),
        }
    }

    #[test]
    fn money_is_written_as_the_page_writes_it() {
        let zh = Language::Zh;
        assert_eq!(money(&cny("40000"), MoneyUnit::Yuan, zh), "¥40,000.00");
        assert_eq!(money(&cny("1234567.005"), MoneyUnit::Yuan, zh), "¥1,234,567.01");
        assert_eq!(money(&cny("-999.994"), MoneyUnit::Yuan, zh), "-¥999.99");
        assert_eq!(money(&cny("45000"), MoneyUnit::Wan, zh), "4.50 万元");
        assert_eq!(money(&cny("45000"), MoneyUnit::Wan, Language::En), "4.50 10k yuan");
        let usd = Money { currency: CurrencyCode::parse("USD").unwrap(), amount: Amount::parse("100").unwrap() };
        assert_eq!(money(&usd, MoneyUnit::Yuan, zh), "USD 100.00");
    }

    #[test]
    fn the_guides_red_alert_reads_in_chinese() {
        let v = Voice {
            language: Language::Zh,
            money_unit: MoneyUnit::Yuan,
            dashboard_url: "https://attain.example.com/",
            zone: chrono_tz::Asia::Shanghai,
        };
        let m = render(&event(), Change::Raised, v);
        assert_eq!(m.title, "【红灯预警】rep-1 落后进度（2024-01）");
        assert!(m.text.contains("实际 ¥40,000.00，应完成 ¥50,000.00"), "{}", m.text);
        assert!(
            m.text.contains("https://attain.example.com/#unit=units%2Frep%2D1&period=2024%2D01&lang=zh"),
            "{}",
            m.text
        );
        let en = render(&event(), Change::Resolved, Voice { language: Language::En, ..v });
        assert!(en.title.starts_with("[Alert resolved] rep-1"), "{}", en.title);
    }

    #[test]
    fn a_digest_groups_by_unit() {
        let v = Voice {
            language: Language::En,
            money_unit: MoneyUnit::Yuan,
            dashboard_url: "http://x",
            zone: chrono_tz::Asia::Shanghai,
        };
        let mut other = event();
        other.unit = "rep-2".into();
        let mut resolved = event();
        resolved.state = State::Resolved;
        let due = chrono::DateTime::parse_from_rfc3339("2024-01-16T10:00:00Z").unwrap().with_timezone(&Utc);
        let reminder = Reminder {
            report: Report::DailyLog,
            unit: "rep-2".into(),
            unit_name: "Rep 2".into(),
            period: "2024-01-16".into(),
            due,
        };
        let m = digest(
            &[Event::Alert(event()), Event::Alert(other), Event::Alert(resolved), Event::Reminder(reminder.clone())],
            v,
        );
        assert!(
            m.text.contains("[Reminder] Rep 2 (rep-2): the daily log for 2024-01-16 is due by 2024-01-16 18:00"),
            "{}",
            m.text
        );
        let zh = remind(&reminder, Voice { language: Language::Zh, ..v });
        assert_eq!(zh.title, "【汇报提醒】Rep 2 (rep-2) 的日报（2024-01-16）将于 2024-01-16 18:00 截止");
        assert_eq!(m.title, "Daily alert digest (4 changes)");
        let (one, two) = (m.text.find("**rep-1**").unwrap(), m.text.find("**rep-2**").unwrap());
        assert!(one < two);
        assert_eq!(m.text.matches("rep-1:").count(), 2, "{}", m.text);
    }
}
