//! A subtree's monthly reviews owed: each region closes last month's
//! review by the due day, on the organisation's clock and each plan's
//! calendar; and a subtree's reporting as the brief shows it (these with
//! tracking's daily logs and weekly summaries).

use std::collections::HashMap;

use attain_kit::{
    ServiceResult,
    auth::Identity,
    cadence::{self, Compliance, Life, Obligation},
    id::Id,
    upstream::Forwarded,
};
use attain_target_client::{calendar_for, period_for};
use chrono::{DateTime, NaiveDate, Utc};

use super::App;
use crate::storage::reviews as store;

/// A subtree's monthly reviews in order (deadline, unit), with each unit's
/// display name.
#[derive(Debug, Clone)]
pub struct Obligations {
    pub rows: Vec<Obligation>,
    pub names: HashMap<Id, String>,
}

impl App {
    /// The monthly reviews owed in `root`'s subtree (as the caller sees it)
    /// for the months starting in `period_expr`, as of now.
    pub async fn obligations(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        root: &Id,
        period_expr: &str,
    ) -> ServiceResult<Obligations> {
        self.obligations_where(fwd, root, period_expr, |path| who.can_read(path)).await
    }

    /// The same, of the months each region sat under `root` on a path
    /// `keep` accepts (the target service has already scoped the subtree to
    /// the caller's token; a region that moved owes each month where it
    /// was then).
    async fn obligations_where(
        &self,
        fwd: &Forwarded,
        root: &Id,
        period_expr: &str,
        keep: impl Fn(&[Id]) -> bool,
    ) -> ServiceResult<Obligations> {
        let (path, regions, plans) = self.up.regions_and_plans(fwd, root).await?;
        let period = period_for(&plans, &path, "period", period_expr)?;
        let days = (period.start, period.end);
        let firsts: Vec<NaiveDate> = cadence::months(days).collect();
        let labels: Vec<String> = firsts.iter().map(|d| d.format("%Y-%m").to_string()).collect();
        let ids: Vec<Id> = regions.iter().map(|u| u.id.clone()).collect();
        let closed = store::closed_monthly(&self.db, &ids, &labels).await?;
        let now = self.now();
        let mut rows = Vec::new();
        for u in &regions {
            let met: HashMap<NaiveDate, DateTime<Utc>> = firsts
                .iter()
                .zip(&labels)
                .filter_map(|(d, l)| closed.get(&(u.id.clone(), l.clone())).map(|t| (*d, *t)))
                .collect();
            let life = Life { start: u.start_date, end: u.end_date };
            let cal = calendar_for(&plans, &u.path, period.start);
            let owed = cadence::monthly_reviews(&self.cadence, &cal, &u.id, life, days, &met, now);
            rows.extend(owed.into_iter().filter(|o| {
                let p = u.path_on(o.day);
                p.contains(root) && keep(p)
            }));
        }
        rows.sort_by_cached_key(Obligation::key);
        let names = regions.into_iter().map(|u| (u.id, u.display_name)).collect();
        Ok(Obligations { rows, names })
    }

    /// The subtree's reporting in a period: tracking's daily logs and
    /// weekly summaries with the monthly reviews owed here.
    pub(crate) async fn reporting(&self, fwd: &Forwarded, unit: &Id, period_expr: &str) -> ServiceResult<Compliance> {
        // Drawn for a caller who may read the unit: all of its subtree.
        let (theirs, ours) = tokio::try_join!(
            self.up.reporting(fwd, unit, period_expr),
            self.obligations_where(fwd, unit, period_expr, |_| true)
        )?;
        Ok(theirs.plus(Compliance::of(&ours.rows)))
    }
}
