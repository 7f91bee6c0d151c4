//! Splits a yearly target among 10,000 reps and phases every rep over the
//! 365 days of the year (plus its quarters and months), exactly, and prints
//! the time next to a float baseline doing the same arithmetic without
//! exactness, measured in the same run. `cargo bench -p attain-target`.

// A benchmark binary: failing loudly on bad setup is what we want.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

use attain_kit::{money::Amount, period::Period};
use attain_target::domain::{
    allocation::{ChildInput, Modifiers, RoundingUnit, Split, SplitStrategy},
    phasing::{Curve, DayCurve, WorkingCalendar},
};
use chrono::Duration as Days;
use rust_decimal::Decimal;

const REPS: usize = 10_000;
const RUNS: usize = 5;

/// Deterministic pseudo-random weights (xorshift).
fn weights() -> Vec<u64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..REPS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            500_000 + x % 2_000_000
        })
        .collect()
}

fn exact(ws: &[u64]) -> Decimal {
    let unit = RoundingUnit::parse("u", "0.01").unwrap();
    let split = Split {
        parent: Amount::parse("12345678901.23").unwrap(),
        unit,
        strategy: SplitStrategy::Weights,
        children: ws.iter().map(|w| ChildInput { weight: Some(Decimal::from(*w)), ..Default::default() }).collect(),
        modifiers: Modifiers::default(),
        allocate_percent: Decimal::ONE_HUNDRED,
    };
    let (amounts, _) = split.compute().unwrap();
    let year = Period::parse("p", "2024", 1).unwrap();
    let mut calendar = WorkingCalendar::default();
    calendar.holidays.extend((0..7).map(|d| year.start + Days::days(40 + d)));
    let curve = DayCurve::build(&year, &calendar, &Curve::WorkingDays).unwrap();
    let periods: Vec<Period> = [
        "2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06",
        "2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12",
    ]
    .iter()
    .map(|p| Period::parse("p", p, 1).unwrap())
    .collect();
    let mut checksum = Decimal::ZERO;
    for a in &amounts {
        let mut previous = Amount::ZERO;
        for day in year.start.iter_days().take(365) {
            let through = curve.amount_through(*a, unit, day).unwrap();
            checksum += through.decimal() - previous.decimal();
            previous = through;
        }
        for p in &periods {
            checksum += curve.period_amount(*a, unit, p, "p").unwrap().decimal();
        }
    }
    checksum
}

/// The same work in f64: proportional split, per-day shares, no rounding.
fn float_baseline(ws: &[u64]) -> f64 {
    let total: f64 = ws.iter().map(|w| *w as f64).sum();
    let parent = 12_345_678_901.23_f64;
    let shares: Vec<f64> = (0..365).map(|d| if d % 7 < 5 { 1.0 } else { 0.0 }).collect();
    let share_total: f64 = shares.iter().sum();
    let mut checksum = 0.0;
    for w in ws {
        let a = parent * (*w as f64) / total;
        let mut cumulative = 0.0;
        for s in &shares {
            cumulative += s;
            checksum += a * cumulative / share_total;
        }
        for q in 0..16 {
            checksum += a * f64::from(q) / 16.0;
        }
    }
    checksum
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(f: impl Fn() -> T) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let ws = weights();
    let exact_time = time(|| exact(&ws));
    let baseline_time = time(|| float_baseline(&ws));
    println!("split + phase of {REPS} reps over 365 days (+16 periods each), median of {RUNS} runs");
    println!("{:<44} {:>12}", "case", "time");
    println!("{:<44} {:>10.1} ms", "exact (Decimal, largest remainder, rounding)", exact_time.as_secs_f64() * 1e3);
    println!("{:<44} {:>10.1} ms", "baseline (f64, no rounding, same loops)", baseline_time.as_secs_f64() * 1e3);
    println!(
        "ratio exact / baseline: {:.1}x; goal: exact under 1000 ms",
        exact_time.as_secs_f64() / baseline_time.as_secs_f64().max(1e-9)
    );
}
