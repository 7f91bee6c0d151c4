//! A subscription: who hears of which alerts, through which channel, when,
//! and in which words.

use attain_core::{DomainError, DomainResult, id::Id};
use chrono::{DateTime, Utc};

use super::{
    alert::{AlertEvent, Change, Rule, Severity},
    channel::Kind,
    schedule::Schedule,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Zh,
    En,
}

impl Language {
    pub fn parse(field: &str, s: &str) -> DomainResult<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "zh" | "zh-cn" | "zh-hans" => Ok(Self::Zh),
            "en" | "en-us" | "en-gb" => Ok(Self::En),
            _ => Err(DomainError::invalid(field, format!("{s:?} is not a language messages are written in (zh, en)"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }
}

/// How money is written: as the page's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyUnit {
    Yuan,
    Wan,
}

impl MoneyUnit {
    pub fn parse(field: &str, s: &str) -> DomainResult<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "yuan" => Ok(Self::Yuan),
            "wan" => Ok(Self::Wan),
            _ => Err(DomainError::invalid(field, format!("{s:?} is not a money unit (yuan, wan)"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yuan => "yuan",
            Self::Wan => "wan",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    /// Stopped by the service: its owner's scope changed (another role or
    /// unit), or the owner may no longer read the unit. Kept, with why.
    Suspended,
    Deleted,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::Deleted => "DELETED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Suspended, Self::Deleted].into_iter().find(|x| x.as_str() == s)
    }
}

/// Who subscribed, as their token said when they did: the scope every
/// delivery is checked against again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub person: String,
    /// "ADMIN", "MANAGER", "REP" or "VIEWER".
    pub role: String,
    pub unit: String,
}

impl Owner {
    /// Whether `other` (the caller now) signs in with the scope this owner
    /// subscribed with: same person, role and unit.
    pub fn same_scope(&self, other: &Owner) -> bool {
        self == other
    }

    fn describe(&self) -> String {
        if self.unit.is_empty() { self.role.clone() } else { format!("{} of units/{}", self.role, self.unit) }
    }

    /// Why a subscription made under this scope stopped when its owner
    /// came back with another.
    pub fn changed_to(&self, now: &Owner) -> String {
        format!(
            "made as {}; {} now signs in as {}: subscribe again under the new scope",
            self.describe(),
            self.person,
            now.describe()
        )
    }
}

/// What a subscription was already told of one alert: the last change's
/// key and severity (None: nothing it heard — rows cancelled unsent),
/// whether any reached its channel, and how many rows it has had for the
/// alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Told {
    pub last: Option<(String, Severity)>,
    pub sent: bool,
    pub rows: u32,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: Id,
    pub owner: Owner,
    pub unit: Id,
    pub channel: Kind,
    /// The address as reads show it (no secret).
    pub endpoint: String,
    pub secret_set: bool,
    pub rules: Vec<Rule>,
    pub least_severity: Severity,
    pub time_zone: String,
    pub schedule: Schedule,
    pub language: Language,
    pub money_unit: MoneyUnit,
    /// Minutes before a report's deadline to remind (0: no reminders).
    pub remind_minutes: u32,
    pub state: State,
    /// Why it is SUSPENDED (empty otherwise).
    pub state_reason: String,
    pub create_time: DateTime<Utc>,
    pub delete_time: Option<DateTime<Utc>>,
    pub version: i64,
}

impl Subscription {
    /// What this subscription is to be told of an alert change, given
    /// what it was told of the alert before: the change and the delivery's
    /// dedupe key, or None. Scope is checked apart, against the owner.
    ///
    /// An alert it heard of reaches it again whatever the severity — its
    /// drop to YELLOW, its resolution — or a RED-only subscriber would never
    /// hear one clear. One it never heard of is told only at its least
    /// severity or above, and never only to say it resolved — nor is one
    /// whose opening never reached it (the resolution supersedes it). The same
    /// change twice (a replayed feed) is told once; a change that returns
    /// to an earlier one (YELLOW, RED, YELLOW again) is told again.
    pub fn tell(&self, e: &AlertEvent, told: Option<&Told>) -> Option<(Change, String)> {
        let mine = self.state == State::Active
            && e.unit_path.iter().any(|u| u == self.unit.as_str())
            && (self.rules.is_empty() || self.rules.contains(&e.rule));
        if !mine {
            return None;
        }
        let change = e.change()?;
        let key = e.dedupe_key();
        let change = match told.and_then(|t| t.last.as_ref()) {
            Some((last, _)) if *last == key => return None,
            Some(_) if change == Change::Resolved && !told.is_some_and(|t| t.sent) => return None,
            Some((_, severity)) if change == Change::Raised && e.severity < *severity => Change::Eased,
            Some(_) => change,
            None if change == Change::Resolved || e.severity < self.least_severity => return None,
            None => change,
        };
        let rows = told.map_or(0, |t| t.rows);
        Some((change, if rows == 0 { key } else { format!("{key}#{rows}") }))
    }

    /// Whether this subscription wants a reminder, as of `now`, of a report
    /// of its subtree due at `due`.
    pub fn reminds(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.state == State::Active
            && self.remind_minutes > 0
            && now < due
            && due <= now + chrono::Duration::minutes(i64::from(self.remind_minutes))
    }

    pub fn resource_name(&self) -> String {
        format!("subscriptions/{}", self.id.as_str())
    }
}

/// Wang's (MANAGER of region A) DingTalk subscription to region A: what
/// unit tests vary.
#[cfg(test)]
pub(crate) fn example() -> Subscription {
    Subscription {
        id: Id::generate(),
        owner: Owner { person: "wang".into(), role: "MANAGER".into(), unit: "region-a".into() },
        unit: Id::parse("u", "region-a").unwrap_or_else(|_| unreachable!()),
        channel: Kind::DingTalk,
        endpoint: String::new(),
        secret_set: false,
        rules: Vec::new(),
        least_severity: Severity::Yellow,
        time_zone: "Asia/Shanghai".into(),
        schedule: Schedule { zone: chrono_tz::Asia::Shanghai, quiet: None, digest_hour: None },
        language: Language::Zh,
        money_unit: MoneyUnit::Yuan,
        remind_minutes: 0,
        state: State::Active,
        state_reason: String::new(),
        create_time: Utc::now(),
        delete_time: None,
        version: 1,
    }
}

/// Minutes before a deadline, 0–1440 (0: no reminders).
pub fn remind_minutes(field: &str, m: i32) -> DomainResult<u32> {
    u32::try_from(m)
        .ok()
        .filter(|m| *m <= 1440)
        .ok_or_else(|| DomainError::invalid(field, format!("{m} is not a number of minutes from 0 to 1440 (a day)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::State as AlertState;

    fn sub(least: Severity) -> Subscription {
        Subscription { least_severity: least, ..example() }
    }

    fn alert(state: AlertState, severity: Severity) -> AlertEvent {
        AlertEvent { state, severity, ..crate::domain::alert::example() }
    }

    /// Plays changes of one alert to a subscription, remembering what it
    /// was told as the outbox would: what each change told.
    fn play(s: &Subscription, changes: &[(AlertState, Severity)]) -> Vec<Option<(Change, String)>> {
        let mut told: Option<Told> = None;
        changes
            .iter()
            .map(|(state, severity)| {
                let e = alert(*state, *severity);
                let out = s.tell(&e, told.as_ref());
                if let Some((_, key)) = &out {
                    let t = told.get_or_insert_with(Told::default);
                    t.rows += 1;
                    t.sent = true;
                    t.last = Some((key.split('#').next().unwrap_or(key).to_owned(), *severity));
                }
                out
            })
            .collect()
    }

    #[test]
    fn a_red_only_subscriber_hears_its_alert_ease_and_clear() {
        use AlertState::{Open, Resolved};
        use Severity::{Red, Yellow};
        let told = play(&sub(Red), &[(Open, Yellow), (Open, Red), (Open, Yellow), (Open, Red), (Resolved, Yellow)]);
        let changes: Vec<_> = told.iter().map(|t| t.as_ref().map(|(c, _)| *c)).collect();
        assert_eq!(
            changes,
            [None, Some(Change::Raised), Some(Change::Eased), Some(Change::Raised), Some(Change::Resolved)],
            "YELLOW first is below its least severity; once told, every change reaches it"
        );
        let keys: Vec<&str> = told.iter().flatten().map(|(_, k)| k.as_str()).collect();
        let mut unique = keys.clone();
        unique.dedup();
        assert_eq!(unique.len(), 4, "a return to RED is a new delivery, not a duplicate: {keys:?}");
    }

    #[test]
    fn the_same_change_twice_is_told_once_and_strangers_hear_no_resolution() {
        use AlertState::{Open, Resolved};
        let told = play(&sub(Severity::Yellow), &[(Open, Severity::Red), (Open, Severity::Red)]);
        assert!(told[0].is_some() && told[1].is_none(), "a replayed change: {told:?}");
        let never = play(&sub(Severity::Yellow), &[(Resolved, Severity::Red)]);
        assert_eq!(never, [None], "a resolution of an alert it never heard of");
        // Its opening still waiting (a retry): the resolution is not told.
        let waiting = Told { last: Some(("alerts/a1:OPEN:RED:0".into(), Severity::Red)), sent: false, rows: 1 };
        let resolved = alert(Resolved, Severity::Red);
        assert_eq!(sub(Severity::Yellow).tell(&resolved, Some(&waiting)), None);
        let heard = Told { sent: true, ..waiting };
        assert!(sub(Severity::Yellow).tell(&resolved, Some(&heard)).is_some());
        let mut other = sub(Severity::Yellow);
        other.unit = Id::parse("u", "region-b").unwrap();
        assert_eq!(play(&other, &[(Open, Severity::Red)]), [None], "another subtree");
    }
}
