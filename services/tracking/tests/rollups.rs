//! Roll-ups equal the raw records after any mix of sales and reversals,
//! on SQLite and PostgreSQL (property test over the storage layer).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use attain_kit::{
    configuration::DatabaseSettings,
    db,
    id::Id,
    money::{Amount, CurrencyCode},
    testing::{Backend, fresh_database_url},
};
use attain_tracking::{
    domain::{
        credit::{Credit, split_amount},
        deal::{Deal, DealKind, Dimensions},
    },
    migration::Migrator,
    storage::{deals, rollups},
};
use chrono::{NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use secrecy::SecretString;

#[derive(Debug, Clone)]
enum Op {
    /// `split`: another rep and the owner's percent (split credit).
    Sale {
        rep: usize,
        cents: i64,
        day: u32,
        product: usize,
        split: Option<(usize, u32)>,
    },
    Reverse {
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..4, 1i64..10_000_000, 1u32..=31, 0usize..3, prop::option::of((0usize..4, 1u32..100)))
            .prop_map(|(rep, cents, day, product, split)| Op::Sale { rep, cents, day, product, split }),
        1 => (0usize..1000).prop_map(|pick| Op::Reverse { pick }),
    ]
}

fn id(s: &str) -> Id {
    Id::parse("id", s).unwrap()
}

/// Reps 0–1 sit in region a, 2–3 in region b, all under acme.
fn path(rep: usize) -> Vec<Id> {
    let region = if rep < 2 { "region-a" } else { "region-b" };
    vec![id("acme"), id(region), id(&format!("rep-{rep}"))]
}

async fn run(backend: Backend, ops: Vec<Op>) {
    let settings =
        DatabaseSettings { url: SecretString::from(fresh_database_url(backend).await), ..DatabaseSettings::default() };
    let conn = db::connect_and_migrate::<Migrator>(&settings).await.unwrap();
    let mut sales: Vec<Deal> = Vec::new();
    let mut live_deals = 0i64;
    for (i, op) in ops.into_iter().enumerate() {
        let batch = match op {
            Op::Sale { rep, cents, day, product, split } => {
                // Cents that do not divide evenly, so the shares need rounding.
                let amount = Amount::from_minor_units(cents * 100 + 1);
                let credits = match split {
                    Some((other, pct)) if other != rep => {
                        let percents = [Decimal::from(pct), Decimal::from(100 - pct)];
                        let amounts = split_amount(amount, &percents).unwrap();
                        [rep, other]
                            .into_iter()
                            .zip(percents.into_iter().zip(amounts))
                            .map(|(r, (percent, amount))| Credit {
                                rep: id(&format!("rep-{r}")),
                                percent,
                                amount,
                                booked_path: path(r),
                            })
                            .collect()
                    }
                    _ => Vec::new(),
                };
                live_deals += 1;
                let d = Deal {
                    id: Id::generate(),
                    rep: id(&format!("rep-{rep}")),
                    amount,
                    currency: CurrencyCode::parse("CNY").unwrap(),
                    close_date: NaiveDate::from_ymd_opt(2024, 1, day).unwrap(),
                    customer: String::new(),
                    dimensions: Dimensions {
                        product_line: ["a", "b", "c"][product].into(),
                        customer_type: String::new(),
                    },
                    opportunity: String::new(),
                    kind: DealKind::Sale,
                    reverses: None,
                    reversed_by: None,
                    booked_path: path(rep),
                    credits,
                    request_id: format!("r{i}"),
                    created_by: "t".into(),
                    create_time: Utc::now(),
                };
                sales.push(d.clone());
                vec![d]
            }
            Op::Reverse { pick } if !sales.is_empty() => {
                let original = sales.swap_remove(pick % sales.len());
                live_deals -= 1;
                let r = original.reversal("t", &format!("r{i}"), Utc::now()).unwrap();
                assert!(deals::mark_reversed(&conn, &original.id, &r.id).await.unwrap());
                vec![r]
            }
            Op::Reverse { .. } => continue,
        };
        deals::insert_many(&conn, &batch).await.unwrap();
        rollups::add(&conn, &batch).await.unwrap();
    }
    let (from, to) = (NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
    let units: Vec<Vec<Id>> = vec![
        vec![id("acme")],
        vec![id("acme"), id("region-a")],
        vec![id("acme"), id("region-b")],
        path(0),
        path(1),
        path(2),
        path(3),
    ];
    let ids: Vec<Id> = units.iter().map(|p| p.last().unwrap().clone()).collect();
    let rolled = rollups::sums(&conn, &ids, from, to, &Dimensions::default()).await.unwrap();
    for p in &units {
        let raw = rollups::recompute(&conn, p, from, to).await.unwrap();
        let got = rolled.get(p.last().unwrap()).copied().unwrap_or_default();
        assert_eq!(got, raw, "roll-up of {:?} differs from the raw records", p.last());
    }
    // Region sums are the sums of their reps, the company of its regions.
    let sum = |ids: &[&str]| {
        ids.iter().map(|i| rolled.get(&id(i)).copied().unwrap_or_default().amount.to_minor_units()).sum::<i64>()
    };
    assert_eq!(sum(&["region-a", "region-b"]), sum(&["acme"]));
    assert_eq!(sum(&["rep-0", "rep-1"]), sum(&["region-a"]));
    // Split deals count once above their reps: the company counts deals.
    assert_eq!(rolled.get(&id("acme")).copied().unwrap_or_default().deals_won, live_deals);
    let live_amount: i64 = sales.iter().map(|d| d.amount.to_minor_units()).sum();
    assert_eq!(sum(&["acme"]), live_amount);
    // Each unit's last day up to the 15th with a sale that stands (what
    // staleness reads: a reversed one is no activity), as the deals say —
    // split shares count on their paths; a unit without any is absent.
    let mut days: std::collections::HashMap<Id, Vec<NaiveDate>> = std::collections::HashMap::new();
    for d in &sales {
        for (p, _) in d.lines() {
            p.iter().for_each(|u| days.entry(u.clone()).or_default().push(d.close_date));
        }
    }
    let mid = NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
    let mut asked = ids.clone();
    asked.push(id("rep-9"));
    let last = rollups::last_deal_days(&conn, &asked, mid).await.unwrap();
    for u in &asked {
        let want = days.get(u).and_then(|d| d.iter().filter(|d| **d <= mid).max().copied());
        assert_eq!(last.get(u).copied(), want, "last deal day of {u:?} up to {mid}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn rollups_equal_raw_sums_sqlite(ops in prop::collection::vec(op(), 1..60)) {
        runtime().block_on(run(Backend::Sqlite, ops));
    }

    #[test]
    fn rollups_equal_raw_sums_postgres(ops in prop::collection::vec(op(), 1..60)) {
        runtime().block_on(run(Backend::Postgres, ops));
    }
}
