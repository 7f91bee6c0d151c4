//! A due reminder: a report (a rep's daily log, a team's weekly summary, a
//! region's monthly review) not yet in, its deadline close.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Report {
    DailyLog,
    WeeklySummary,
    MonthlyReview,
}

impl Report {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DailyLog => "DAILY_LOG",
            Self::WeeklySummary => "WEEKLY_SUMMARY",
            Self::MonthlyReview => "MONTHLY_REVIEW",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub report: Report,
    /// The unit's id and display name.
    pub unit: String,
    pub unit_name: String,
    /// What it reports on: "2024-01-16", "2024-W03", "2024-01".
    pub period: String,
    pub due: DateTime<Utc>,
}

impl Reminder {
    /// "obligations/{kind}/{unit}/{period}": what a delivery tells of.
    pub fn name(&self) -> String {
        format!("obligations/{}/{}/{}", self.report.as_str(), self.unit, self.period)
    }

    /// One reminder per report, however often the pass sees it due.
    pub fn dedupe_key(&self) -> String {
        format!("{}:REMIND", self.name())
    }
}
