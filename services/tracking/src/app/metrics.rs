//! What tracking measures of itself, beside the kit's RPC and database
//! series: deals stored and replayed, import rows and imports running,
//! and how far the alert evaluator trails the roll-up feed — in rows, and
//! in seconds from a change's commit to its units evaluated (the alert
//! lag an operator pages on).

use attain_kit::metrics::{Counters, Gauges, Histograms, Metrics};

#[derive(Debug, Clone)]
pub struct TrackingMetrics {
    deals: Counters,
    import_rows: Counters,
    imports_running: Gauges,
    feed_lag: Gauges,
    alert_lag: Histograms,
    alert_pass: Histograms,
}

impl TrackingMetrics {
    pub fn new(m: &Metrics) -> Self {
        Self {
            deals: m
                .counter(
                    "attain_tracking_deals_ingested",
                    "Deal rows committed, by outcome (stored: new; replayed: a request id seen before)",
                )
                .starting_at_zero(&[&[("outcome", "stored")], &[("outcome", "replayed")]]),
            import_rows: m
                .counter(
                    "attain_tracking_import_rows",
                    "Rows of finished imports, by outcome: stored; refused; duplicate (stored before); \
                     unstored (good, in an import that stored nothing: validating, or refused whole)",
                )
                .starting_at_zero(&[
                    &[("outcome", "stored")],
                    &[("outcome", "refused")],
                    &[("outcome", "duplicate")],
                    &[("outcome", "unstored")],
                ]),
            imports_running: m.gauge("attain_tracking_imports_running", "Imports under way").starting_at_zero(&[&[]]),
            feed_lag: m.gauge(
                "attain_tracking_feed_lag_rows",
                "Rows of a change feed its reader has not processed yet, by feed and reader",
            ),
            alert_lag: m.histogram(
                "attain_tracking_alert_lag_seconds",
                "From a roll-up change's commit to the alert evaluation of its units",
            ),
            alert_pass: m.histogram(
                "attain_tracking_alert_pass_seconds",
                "How long one alert evaluation of the units the roll-up feed named took",
            ),
        }
    }

    pub fn deals_committed(&self, stored: usize, replayed: usize) {
        self.deals.inc_by(&[("outcome", "stored")], stored as u64);
        if replayed > 0 {
            self.deals.inc_by(&[("outcome", "replayed")], replayed as u64);
        }
    }

    /// An import's rows, counted once when it ends (each row is read by
    /// two passes).
    pub fn import_finished(&self, good: u64, refused: u64, duplicate: u64, stored: bool) {
        self.import_rows.inc_by(&[("outcome", if stored { "stored" } else { "unstored" })], good);
        self.import_rows.inc_by(&[("outcome", "refused")], refused);
        self.import_rows.inc_by(&[("outcome", "duplicate")], duplicate);
    }

    /// Counts an import as running until the guard drops.
    pub fn import_started(&self) -> ImportRunning {
        self.imports_running.add(&[], 1);
        ImportRunning(self.imports_running.clone())
    }

    pub fn feed_lag(&self, feed: &'static str, reader: &'static str, rows: i64) {
        self.feed_lag.set(&[("feed", feed), ("reader", reader)], rows.max(0));
    }

    pub fn evaluated(&self, committed_at: chrono::DateTime<chrono::Utc>) {
        let lag = (chrono::Utc::now() - committed_at).to_std().unwrap_or_default();
        self.alert_lag.observe(&[], lag.as_secs_f64());
    }

    /// One pass over a batch of the roll-up feed, evaluated and its position stored.
    pub fn alert_pass(&self, took: std::time::Duration) {
        self.alert_pass.observe(&[], took.as_secs_f64());
    }
}

impl Default for TrackingMetrics {
    /// Series kept but exposed nowhere (an App built without a server).
    fn default() -> Self {
        Self::new(&Metrics::new())
    }
}

/// One import under way.
#[derive(Debug)]
pub struct ImportRunning(Gauges);

impl Drop for ImportRunning {
    fn drop(&mut self) {
        self.0.add(&[], -1);
    }
}
