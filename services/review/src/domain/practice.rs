//! What a review passes on besides its own findings: best practices of
//! those who hit target, and resources moved to help a unit that did not.

use attain_core::{
    id::Id,
    money::{Amount, CurrencyCode},
};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestPractice {
    pub id: Id,
    pub review: Id,
    pub author: String,
    pub title: String,
    pub text: String,
    pub tags: Vec<String>,
    pub create_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reallocation {
    pub id: Id,
    pub review: Id,
    /// "LEADS", "PROMOTION_BUDGET", "COACHING".
    pub kind: String,
    pub unit: Id,
    pub lead_count: i64,
    pub budget: Option<(Amount, CurrencyCode)>,
    pub description: String,
    pub approved_by: String,
    pub create_time: DateTime<Utc>,
}
