//! Messages rendered from an alert's structured fields, in the
//! subscriber's language and money unit — never from a translated string
//! of tracking's.

use std::collections::BTreeMap;

use attain_core::money::Money;
use rust_decimal::{Decimal, RoundingStrategy};

use super::{
    alert::{AlertEvent, Change, Rule, Severity, State},
    event::Event,
    reminder::{Reminder, Report},
    subscription::{Language, MoneyUnit},
};

/// A rendered message: a short title (robots' notification line, the
/// e-mail subject) and its blocks, written out in each channel's own markup
/// (DingTalk's and WeCom's Markdown, Slack's mrkdwn, a Feishu post, plain
/// text for e-mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A line in bold (the headline, a digest's unit).
    Strong(String),
    Text(String),
    Link {
        label: String,
        url: String,
    },
}

impl Message {
    /// Markdown as DingTalk and WeCom render it (and as deliveries show).
    pub fn markdown(&self) -> String {
        // A name must not turn bold off or make a link of its own
        // ("[VIP](https://elsewhere)"): `*`, backticks and `](` are escaped.
        let md = |t: &str| t.replace('*', "\\*").replace('`', "\\`").replace("](", "]\\(");
        self.join(|b| match b {
            Block::Strong(t) => format!("**{}**", md(t)),
            Block::Text(t) => md(t),
            Block::Link { label, url } => format!("[{}]({url})", md(label)),
        })
    }

    /// Slack's mrkdwn: `*bold*`, `<url|label>`, with &, < and > escaped.
    pub fn slack(&self) -> String {
        let esc = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        self.join(|b| match b {
            Block::Strong(t) => format!("*{}*", esc(t)),
            Block::Text(t) => esc(t),
            Block::Link { label, url } => format!("<{url}|{}>", esc(label)),
        })
    }

    /// Plain text: e-mail, and the generic webhook's `text`.
    pub fn plain(&self) -> String {
        self.join(|b| match b {
            Block::Strong(t) | Block::Text(t) => t.clone(),
            Block::Link { label, url } => format!("{label}: {url}"),
        })
    }

    /// A Feishu/Lark rich-text post: the title apart, one paragraph per
    /// block after it, links as links.
    pub fn feishu_post(&self) -> serde_json::Value {
        let body: Vec<serde_json::Value> = self
            .blocks
            .iter()
            .skip_while(|b| matches!(b, Block::Strong(t) if *t == self.title))
            .map(|b| match b {
                Block::Strong(t) => serde_json::json!([{"tag": "text", "text": t, "style": ["bold"]}]),
                Block::Text(t) => serde_json::json!([{"tag": "text", "text": t}]),
                Block::Link { label, url } => serde_json::json!([{"tag": "a", "text": label, "href": url}]),
            })
            .collect();
        serde_json::json!({"title": self.title, "content": body})
    }

    fn join(&self, f: impl Fn(&Block) -> String) -> String {
        self.blocks.iter().map(f).collect::<Vec<_>>().join("\n\n")
    }
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
        (Rule::ReportOverdue, Language::Zh) => "汇报逾期",
        (Rule::BehindPace, Language::En) => "Behind pace",
        (Rule::MissedMilestone, Language::En) => "Missed milestone",
        (Rule::StaleData, Language::En) => "No recent data",
        (Rule::ReportOverdue, Language::En) => "Reports overdue",
    }
}

/// A unit as people know it: "Rep 1 张伟 (rep-1)", or its id alone when
/// no name is known.
fn labelled(unit: &str, name: &str) -> String {
    if name.is_empty() || name == unit { unit.to_owned() } else { format!("{name} ({unit})") }
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
    let who = labelled(&r.unit, &r.unit_name);
    // With its zone: a subscriber in New York reads Shanghai's 18:00 as
    // "05:00 EST", not a bare 05:00.
    let due = r.due.with_timezone(&v.zone).format("%Y-%m-%d %H:%M %Z");
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
    let blocks = vec![Block::Strong(title.clone()), open_link(&r.unit, &reminder_period(r), v)];
    Message { title, blocks }
}

fn open_link(unit: &str, period: &str, v: Voice<'_>) -> Block {
    Block::Link { label: view(v).to_owned(), url: link(unit, period, v) }
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
    let (sev, r, u, p) = (severity(e.severity, l), rule(e.rule, l), labelled(&e.unit, &e.unit_name), &e.period);
    match (change, l) {
        (Change::Raised, Language::Zh) => format!("【{sev}预警】{u} {r}（{p}）"),
        (Change::Escalated, Language::Zh) => {
            format!("【{sev}预警·已上报第{}级】{u} {r}（{p}）", e.escalation_level)
        }
        (Change::Eased, Language::Zh) => format!("【预警降为{sev}】{u} {r}（{p}）"),
        (Change::Resolved, Language::Zh) => format!("【预警解除】{u} {r}（{p}）"),
        (Change::Raised, Language::En) => format!("[{sev} alert] {u}: {r} ({p})"),
        (Change::Escalated, Language::En) => {
            format!("[{sev} alert, escalated {} level(s)] {u}: {r} ({p})", e.escalation_level)
        }
        (Change::Eased, Language::En) => format!("[Alert eased to {sev}] {u}: {r} ({p})"),
        (Change::Resolved, Language::En) => format!("[Alert resolved] {u}: {r} ({p})"),
    }
}

/// The message of one alert change.
pub fn render(e: &AlertEvent, change: Change, v: Voice<'_>) -> Message {
    let title = headline(e, change, v.language);
    let mut blocks = vec![Block::Strong(title.clone())];
    if let Some(f) = figures(e, v) {
        blocks.push(Block::Text(f));
    } else if change != Change::Resolved {
        blocks.extend(detail(e, v.language).map(Block::Text));
    }
    if change == Change::Escalated {
        blocks.push(Block::Text(match v.language {
            Language::Zh => "无人确认，已按规则逐级上报。".to_owned(),
            Language::En => "Nobody acknowledged it, so it went up a level.".to_owned(),
        }));
    }
    blocks.push(open_link(&e.unit, &e.period, v));
    Message { title, blocks }
}

/// What an alert without figures is about, in the subscriber's language:
/// the reports missed (from the obligations tracking and review list), or
/// tracking's own sentence where the subscriber reads English (the
/// language tracking writes in).
fn detail(e: &AlertEvent, l: Language) -> Option<String> {
    if !e.missed.is_empty() {
        const SHOWN: usize = 5;
        let each: Vec<String> =
            e.missed.iter().take(SHOWN).map(|r| format!("{} {}", report(r.report, l), r.period)).collect();
        let more = e.missed.len().saturating_sub(SHOWN);
        return Some(match l {
            Language::Zh => {
                let tail = if more > 0 { format!(" 等，另 {more} 份") } else { String::new() };
                format!("漏交 {} 份：{}{tail}", e.missed.len(), each.join("、"))
            }
            Language::En => {
                let tail = if more > 0 { format!(", and {more} more") } else { String::new() };
                let s = if e.missed.len() == 1 { "" } else { "s" };
                format!("{} report{s} missed: {}{tail}", e.missed.len(), each.join(", "))
            }
        });
    }
    match l {
        Language::En if !e.message.is_empty() => Some(e.message.clone()),
        _ => None,
    }
}

/// A note on a message going out after its alert moved on (a retry, a
/// redrive): when it was written, and that the alert has since resolved or
/// changed — `now` is the alert as it is (None: resolved). None when the
/// message still tells the alert as it is.
pub fn late_note(
    e: &AlertEvent,
    now: Option<&AlertEvent>,
    written: chrono::DateTime<chrono::Utc>,
    v: Voice<'_>,
) -> Option<Block> {
    if e.state == State::Resolved || now.is_some_and(|n| n.dedupe_key() == e.dedupe_key()) {
        return None;
    }
    let at = written.with_timezone(&v.zone).format("%Y-%m-%d %H:%M");
    Some(Block::Text(match (now, v.language) {
        (None, Language::Zh) => format!("注：此消息写于 {at}，该预警此后已解除。"),
        (Some(_), Language::Zh) => format!("注：此消息写于 {at}，该预警此后已有变化，以看板为准。"),
        (None, Language::En) => format!("Note: written at {at}; the alert has since resolved."),
        (Some(_), Language::En) => {
            format!("Note: written at {at}; the alert has changed since — the dashboard has it as it is now.")
        }
    }))
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
    let mut blocks = vec![Block::Strong(title.clone())];
    for (unit, evs) in by_unit {
        let name = evs.iter().map(|e| e.unit_name()).find(|n| !n.is_empty()).unwrap_or("");
        blocks.push(Block::Strong(labelled(unit, name)));
        let mut period = None;
        for e in evs {
            let line = match e {
                Event::Alert(a) => {
                    period.get_or_insert_with(|| a.period.clone());
                    let Some(change) = a.change() else { continue };
                    let mut line = format!("- {}", headline(a, change, v.language));
                    if let Some(f) = figures(a, v).or_else(|| detail(a, v.language)) {
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
            blocks.push(Block::Text(line));
        }
        if let Some(p) = period {
            blocks.push(open_link(unit, &p, v));
        }
    }
    Message { title, blocks }
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
            actual: Some(cny("40000")),
            expected: Some(cny("50000")),
            message: "actual below 80% of expected".into(),
            ..crate::domain::alert::example()
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
        assert!(m.markdown().contains("实际 ¥40,000.00，应完成 ¥50,000.00"), "{}", m.markdown());
        assert!(
            m.markdown().contains("https://attain.example.com/#unit=units%2Frep%2D1&period=2024%2D01&lang=zh"),
            "{}",
            m.markdown()
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
            m.markdown()
                .contains("[Reminder] Rep 2 (rep-2): the daily log for 2024-01-16 is due by 2024-01-16 18:00 CST"),
            "{}",
            m.markdown()
        );
        let zh = remind(&reminder, Voice { language: Language::Zh, ..v });
        assert_eq!(zh.title, "【汇报提醒】Rep 2 (rep-2) 的日报（2024-01-16）将于 2024-01-16 18:00 CST 截止");
        assert_eq!(m.title, "Daily alert digest (4 changes)");
        let text = m.markdown();
        let (one, two) = (text.find("**rep-1**").unwrap(), text.find("**Rep 2 (rep-2)**").unwrap());
        assert!(one < two);
        assert_eq!(text.matches("rep-1:").count(), 2, "{text}");
    }

    fn zh() -> Voice<'static> {
        Voice {
            language: Language::Zh,
            money_unit: MoneyUnit::Yuan,
            dashboard_url: "https://attain.example.com",
            zone: chrono_tz::Asia::Shanghai,
        }
    }

    #[test]
    fn an_eased_alert_and_missed_reports_read_in_the_subscribers_language() {
        let mut e = event();
        e.severity = Severity::Yellow;
        e.unit_name = "Rep 1 张伟".into();
        assert_eq!(render(&e, Change::Eased, zh()).title, "【预警降为黄灯】Rep 1 张伟 (rep-1) 落后进度（2024-01）");
        let due = chrono::DateTime::parse_from_rfc3339("2024-01-15T10:00:00Z").unwrap().with_timezone(&Utc);
        let log = |d: &str| Reminder {
            report: Report::DailyLog,
            unit: "rep-1".into(),
            unit_name: String::new(),
            period: d.into(),
            due,
        };
        let mut overdue = event();
        overdue.rule = Rule::ReportOverdue;
        (overdue.actual, overdue.expected) = (None, None);
        overdue.message = "7 reports missed: daily log 2024-01-01, …".into();
        overdue.missed = (1..=7).map(|d| log(&format!("2024-01-0{d}"))).collect();
        let text = render(&overdue, Change::Raised, zh()).plain();
        assert!(text.contains("漏交 7 份：日报 2024-01-01、日报 2024-01-02、"), "{text}");
        assert!(text.contains("等，另 2 份") && !text.contains("reports missed"), "no English inside Chinese: {text}");
        let en = render(&overdue, Change::Raised, Voice { language: Language::En, ..zh() }).plain();
        assert!(
            en.contains("7 reports missed: daily log 2024-01-01, daily log 2024-01-02,")
                && en.ends_with(
                    "Open the dashboard: https://attain.example.com/#unit=units%2Frep%2D1&period=2024%2D01&lang=en"
                ),
            "{en}"
        );
    }

    #[test]
    fn each_channel_gets_its_own_markup() {
        let mut e = event();
        e.unit_name = "A*B <x> [VIP](https://elsewhere)".into();
        let m = render(&e, Change::Raised, zh());
        let md = m.markdown();
        assert!(
            md.starts_with("**【红灯预警】A\\*B <x> [VIP]\\(https://elsewhere) (rep-1) 落后进度（2024-01）**"),
            "{md}"
        );
        assert!(md.ends_with("[查看看板](https://attain.example.com/#unit=units%2Frep%2D1&period=2024%2D01&lang=zh)"));
        let slack = m.slack();
        assert!(slack.starts_with("*【红灯预警】A*B &lt;x&gt; [VIP](https://elsewhere) (rep-1)"), "{slack}");
        assert!(
            slack.ends_with("<https://attain.example.com/#unit=units%2Frep%2D1&period=2024%2D01&lang=zh|查看看板>")
        );
        assert!(!slack.contains("**") && !slack.contains("[查看看板]("), "{slack}");
        let post = m.feishu_post();
        assert_eq!(post["title"], m.title.as_str());
        let paragraphs = post["content"].as_array().unwrap();
        assert_eq!(paragraphs.len(), 2, "the title is not repeated: {post}");
        assert_eq!(paragraphs[0][0]["text"], "实际 ¥40,000.00，应完成 ¥50,000.00");
        assert_eq!(paragraphs[1][0]["tag"], "a");
        assert!(!m.plain().contains("**"));
    }
}
