//! When a subscriber may be told: quiet hours and the daily digest, on the
//! subscriber's wall clock.

use attain_core::{DomainError, DomainResult};
use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// "HH:MM" to "HH:MM", local; one that wraps midnight is the night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

fn hhmm(field: &str, s: &str) -> DomainResult<NaiveTime> {
    let t = s.trim();
    let ok = t.len() == 5 && t.as_bytes()[2] == b':';
    ok.then(|| NaiveTime::parse_from_str(t, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| DomainError::invalid(field, format!("{s:?} is not a time of day (\"HH:MM\", 00:00–23:59)")))
}

impl QuietHours {
    /// Both ends or neither (None); equal ends are no range at all.
    pub fn parse(field: &str, start: &str, end: &str) -> DomainResult<Option<Self>> {
        if start.trim().is_empty() && end.trim().is_empty() {
            return Ok(None);
        }
        let start = hhmm(&format!("{field}.start"), start)?;
        let end = hhmm(&format!("{field}.end"), end)?;
        if start == end {
            return Err(DomainError::invalid(field, "start and end are the same time: not a range"));
        }
        Ok(Some(Self { start, end }))
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end { self.start <= t && t < self.end } else { t >= self.start || t < self.end }
    }

    pub fn start_text(&self) -> String {
        self.start.format("%H:%M").to_string()
    }

    pub fn end_text(&self) -> String {
        self.end.format("%H:%M").to_string()
    }
}

/// An IANA zone name, or the field at fault.
pub fn zone(field: &str, name: &str) -> DomainResult<Tz> {
    name.parse::<Tz>()
        .map_err(|_| DomainError::invalid(field, format!("{name:?} is not an IANA time zone (\"Asia/Shanghai\")")))
}

/// A digest hour, 0–23.
pub fn digest_hour(field: &str, hour: i32) -> DomainResult<u32> {
    u32::try_from(hour)
        .ok()
        .filter(|h| *h < 24)
        .ok_or_else(|| DomainError::invalid(field, format!("{hour} is not an hour of the day (0–23)")))
}

/// The instant of a local wall-clock time (a DST gap reads as the instant
/// after it, a repeated hour as its first occurrence).
fn instant(zone: Tz, day: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    let local = day.and_time(t);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
        LocalResult::None => {
            let later = local + chrono::Duration::hours(1);
            zone.from_local_datetime(&later)
                .earliest()
                .map_or_else(|| Utc.from_utc_datetime(&local), |x| x.with_timezone(&Utc))
        }
    }
}

/// When a subscriber's message may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub zone: Tz,
    pub quiet: Option<QuietHours>,
    pub digest_hour: Option<u32>,
}

impl Schedule {
    /// The first moment from `now` a message may be sent: now, else the end
    /// of the quiet hours it falls in; for a digest, its next hour.
    pub fn next_send(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&self.zone);
        let today = local.date_naive();
        if let Some(h) = self.digest_hour {
            let at = NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
            let first = instant(self.zone, today, at);
            return if first > now { first } else { instant(self.zone, today + Days::new(1), at) };
        }
        match self.quiet {
            Some(q) if q.contains(local.time()) => {
                // The end today if it is still ahead, else tomorrow's.
                let end = instant(self.zone, today, q.end);
                if end > now { end } else { instant(self.zone, today + Days::new(1), q.end) }
            }
            _ => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_hold_until_morning_on_the_subscribers_clock() {
        let q = QuietHours::parse("q", "22:00", "08:00").unwrap();
        let s = Schedule { zone: chrono_tz::Asia::Shanghai, quiet: q, digest_hour: None };
        // 23:30 in Shanghai is 15:30 UTC: held to 08:00 Shanghai (00:00 UTC).
        assert_eq!(s.next_send(t("2024-01-16T15:30:00Z")), t("2024-01-17T00:00:00Z"));
        // 02:00 Shanghai: to 08:00 the same day.
        assert_eq!(s.next_send(t("2024-01-16T18:00:00Z")), t("2024-01-17T00:00:00Z"));
        // 10:00 Shanghai: now.
        assert_eq!(s.next_send(t("2024-01-16T02:00:00Z")), t("2024-01-16T02:00:00Z"));
        let day = QuietHours::parse("q", "12:00", "13:30").unwrap().unwrap();
        assert!(day.contains(NaiveTime::from_hms_opt(12, 0, 0).unwrap()));
        assert!(!day.contains(NaiveTime::from_hms_opt(13, 30, 0).unwrap()));
    }

    #[test]
    fn a_digest_goes_at_its_next_hour() {
        let s = Schedule { zone: chrono_tz::Asia::Shanghai, quiet: None, digest_hour: Some(9) };
        assert_eq!(s.next_send(t("2024-01-16T00:30:00Z")), t("2024-01-16T01:00:00Z"));
        assert_eq!(s.next_send(t("2024-01-16T01:00:00Z")), t("2024-01-17T01:00:00Z"));
    }

    #[test]
    fn bad_settings_name_their_field() {
        for (a, b) in [("25:00", "08:00"), ("22:00", "8"), ("22:00", "22:00"), ("22:00", ""), ("ten", "eleven")] {
            let e = QuietHours::parse("quiet_hours", a, b).unwrap_err();
            assert!(e.to_string().contains("quiet_hours"), "{a}–{b}: {e}");
        }
        assert!(zone("time_zone", "Mars/Olympus").is_err());
        assert!(digest_hour("digest_hour", 25).is_err());
        assert!(digest_hour("digest_hour", -1).is_err());
        assert_eq!(digest_hour("digest_hour", 23).unwrap(), 23);
    }
}
