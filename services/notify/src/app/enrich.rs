//! What an alert change is told with beyond tracking's fields: its unit's
//! display name (from target) and, for REPORT_OVERDUE, the reports missed
//! (from the obligations tracking and review keep). Read as the service
//! account when the change arrives; a lookup that fails leaves the field
//! empty (the message falls back to the id, the headline) rather than
//! holding the feed.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use attain_kit::{id::Id, upstream::Forwarded};

use super::App;
use crate::{
    clients::ObligationStatus,
    domain::alert::{AlertEvent, Rule, State},
};

/// How long a display name is trusted before target is asked again.
const NAME_TTL: Duration = Duration::from_secs(300);

/// Display names by unit id, as recently read.
#[derive(Debug, Clone, Default)]
pub struct Names(Arc<Mutex<HashMap<String, (String, Instant)>>>);

impl Names {
    fn get(&self, unit: &str) -> Option<String> {
        let map = self.0.lock().ok()?;
        map.get(unit).filter(|(_, at)| at.elapsed() < NAME_TTL).map(|(n, _)| n.clone())
    }

    fn put(&self, unit: &str, name: &str) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(unit.to_owned(), (name.to_owned(), Instant::now()));
        }
    }
}

impl App {
    pub(crate) async fn enrich(&self, fwd: &Forwarded, e: &mut AlertEvent) {
        let Ok(unit) = Id::parse("unit", &e.unit) else { return };
        e.unit_name = match self.names.get(&e.unit) {
            Some(n) => n,
            None => match self.up.unit_info(fwd, &unit).await {
                Ok(u) => {
                    self.names.put(&e.unit, &u.display_name);
                    u.display_name
                }
                Err(err) => {
                    tracing::warn!(unit = %e.unit, error = %err, "the unit's name could not be read");
                    String::new()
                }
            },
        };
        if e.rule == Rule::ReportOverdue && e.state != State::Resolved {
            match self.up.reports(fwd, &unit, &e.period, ObligationStatus::Missed).await {
                Ok(mut missed) => {
                    missed.retain(|r| r.unit == e.unit);
                    missed.sort_by(|a, b| (a.due, &a.period).cmp(&(b.due, &b.period)));
                    e.missed = missed;
                }
                Err(err) => tracing::warn!(unit = %e.unit, error = %err, "the missed reports could not be read"),
            }
        }
    }
}
