//! Daily roll-ups per unit and slice, maintained in the same transaction
//! as the deals they sum. Reads cost units × days, not deals.

use std::collections::{HashMap, HashSet};

use attain_kit::{
    ServiceError,
    id::{Id, decode_path, encode_path},
    money::Amount,
};
use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use crate::domain::deal::{Deal, Dimensions};

pub mod rollup {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rollups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: Date,
        #[sea_orm(primary_key, auto_increment = false)]
        pub product_line: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer_type: String,
        pub amount_minor: i64,
        pub deals_won: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod change {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "rollup_changes")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The booked paths whose figures moved, encoded and joined by ';':
        /// "/acme/region-a/rep-1/;/acme/region-a/rep-2/".
        pub units: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A change of some units' figures: the booked paths (root first) that moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: i64,
    pub paths: Vec<Vec<Id>>,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Change {
    /// The units whose figures moved, from `below` down (all with `None`).
    pub fn units(&self, below: Option<&Id>) -> Vec<Id> {
        let mut out: Vec<Id> = Vec::new();
        // A batch's change names hundreds of paths sharing their upper
        // units: a set keeps this linear (a scan of `out` made it a tenth of
        // the service's CPU during a stream).
        let mut seen: HashSet<&Id> = HashSet::new();
        for path in &self.paths {
            let from = match below {
                None => 0,
                Some(u) => match path.iter().position(|p| p == u) {
                    Some(i) => i,
                    None => continue,
                },
            };
            for id in &path[from..] {
                if seen.insert(id) {
                    out.push(id.clone());
                }
            }
        }
        out
    }
}

/// Changes after `after` touching `unit` (every change when `None`), oldest first.
pub async fn changes_after(
    db: &impl ConnectionTrait,
    unit: Option<&Id>,
    after: i64,
    limit: u64,
) -> Result<Vec<Change>, ServiceError> {
    let mut q =
        change::Entity::find().filter(change::Column::Id.gt(after)).order_by_asc(change::Column::Id).limit(limit);
    if let Some(u) = unit {
        q = q.filter(change::Column::Units.contains(format!("/{}/", u.as_str())));
    }
    q.all(db)
        .await?
        .into_iter()
        .map(|c| {
            let paths = c.units.split(';').map(decode_path).collect::<Result<_, _>>()?;
            Ok(Change { id: c.id, paths, at: c.created_at })
        })
        .collect()
}

/// Adds deals to the roll-ups of every unit on their credited paths.
/// A unit gets the sum of the shares below it and counts the deal once, so
/// a split deal adds its full amount and one deal to a common ancestor.
/// Deltas are merged in memory first, so a batch costs one upsert per
/// distinct (unit, day, slice).
pub async fn add(db: &impl ConnectionTrait, deals: &[Deal]) -> Result<(), ServiceError> {
    let mut deltas: HashMap<(&str, NaiveDate, &str, &str), (i64, i64)> = HashMap::new();
    for d in deals {
        let mut per_unit: Vec<(&str, i64)> = Vec::with_capacity(d.booked_path.len());
        for (path, amount) in d.lines() {
            for unit in path {
                match per_unit.iter_mut().find(|(u, _)| *u == unit.as_str()) {
                    Some(e) => e.1 += amount.to_minor_units(),
                    None => per_unit.push((unit.as_str(), amount.to_minor_units())),
                }
            }
        }
        for (unit, amount) in per_unit {
            let e = deltas
                .entry((unit, d.close_date, &d.dimensions.product_line, &d.dimensions.customer_type))
                .or_default();
            e.0 += amount;
            e.1 += d.count_delta();
        }
    }
    // Upserts in key order: concurrent batches touching the same rows then
    // lock them in the same order and cannot deadlock.
    let mut deltas: Vec<_> = deltas.into_iter().collect();
    deltas.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for chunk in deltas.chunks(UPSERT_CHUNK) {
        upsert(db, chunk).await?;
    }
    // The change feed row commits (or not) with the roll-ups themselves.
    let touched: Vec<String> = deals.iter().flat_map(|d| d.lines().into_iter().map(|(p, _)| encode_path(p))).collect();
    record_change(db, touched).await
}

/// Writes the feed row naming the booked paths (encoded) whose figures
/// moved, with the next id in commit order (`feeds::claim`): last in the
/// transaction, as the counter stays locked until commit.
pub async fn record_change(db: &impl ConnectionTrait, mut touched: Vec<String>) -> Result<(), ServiceError> {
    touched.sort_unstable();
    touched.dedup();
    if touched.is_empty() {
        return Ok(());
    }
    let id = super::feeds::claim(db, super::feeds::Feed::RollupChanges, 1).await?;
    change::Entity::insert(change::ActiveModel {
        id: Set(id),
        units: Set(touched.join(";")),
        created_at: Set(chrono::Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Roll-up rows per upsert statement.
const UPSERT_CHUNK: usize = 2000;

type Delta<'a> = ((&'a str, NaiveDate, &'a str, &'a str), (i64, i64));

/// Adds deltas to their rows (creating them) in one statement whose rows
/// travel as one JSON parameter: a multi-row INSERT of a batch's ~1,600
/// rows bound ten thousand parameters, and building and binding them was
/// a quarter of the service's CPU during a stream. The JSON is ours (ids,
/// ISO dates, integers); the database reads it with its own JSON functions.
async fn upsert(db: &impl ConnectionTrait, rows: &[Delta<'_>]) -> Result<(), ServiceError> {
    let json: Vec<serde_json::Value> = rows
        .iter()
        .map(|((unit, day, pl, ct), (amount, won))| serde_json::json!([unit, day.to_string(), pl, ct, amount, won]))
        .collect();
    let json = serde_json::Value::Array(json).to_string();
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO rollups (unit_id, day, product_line, customer_type, amount_minor, deals_won) \
             SELECT r->>0, (r->>1)::date, r->>2, r->>3, (r->>4)::bigint, (r->>5)::bigint \
             FROM jsonb_array_elements($1::jsonb) AS r \
             ON CONFLICT (unit_id, day, product_line, customer_type) DO UPDATE SET \
             amount_minor = rollups.amount_minor + excluded.amount_minor, \
             deals_won = rollups.deals_won + excluded.deals_won"
        }
        // `WHERE true`: SQLite's upsert after a SELECT needs it to parse.
        _ => {
            "INSERT INTO rollups (unit_id, day, product_line, customer_type, amount_minor, deals_won) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
             FROM json_each(?) WHERE true \
             ON CONFLICT (unit_id, day, product_line, customer_type) DO UPDATE SET \
             amount_minor = rollups.amount_minor + excluded.amount_minor, \
             deals_won = rollups.deals_won + excluded.deals_won"
        }
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, [json.into()])).await?;
    Ok(())
}

/// Sums per unit over an inclusive date range, for a slice (empty
/// dimension values match every slice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sum {
    pub amount: Amount,
    pub deals_won: i64,
}

pub async fn sums(
    db: &impl ConnectionTrait,
    units: &[Id],
    from: NaiveDate,
    to: NaiveDate,
    dims: &Dimensions,
) -> Result<HashMap<Id, Sum>, ServiceError> {
    let mut out = HashMap::new();
    if from > to {
        return Ok(out);
    }
    for chunk in units.chunks(2000) {
        let mut q = rollup::Entity::find()
            .select_only()
            .column(rollup::Column::UnitId)
            .column_as(Expr::cust("CAST(SUM(amount_minor) AS BIGINT)"), "amount")
            .column_as(Expr::cust("CAST(SUM(deals_won) AS BIGINT)"), "won")
            .filter(rollup::Column::UnitId.is_in(chunk.iter().map(Id::as_str)))
            .filter(rollup::Column::Day.between(from, to))
            .group_by(rollup::Column::UnitId);
        if !dims.product_line.is_empty() {
            q = q.filter(rollup::Column::ProductLine.eq(dims.product_line.as_str()));
        }
        if !dims.customer_type.is_empty() {
            q = q.filter(rollup::Column::CustomerType.eq(dims.customer_type.as_str()));
        }
        let rows: Vec<(String, i64, i64)> = q.into_tuple().all(db).await?;
        for (unit, amount, won) in rows {
            let id = Id::stored("roll-up unit", &unit)?;
            out.insert(id, Sum { amount: Amount::from_minor_units(amount), deals_won: won });
        }
    }
    Ok(out)
}

/// One unit's sums per day over an inclusive date range (days without
/// deals are absent).
pub async fn daily(
    db: &impl ConnectionTrait,
    unit: &Id,
    from: NaiveDate,
    to: NaiveDate,
    dims: &Dimensions,
) -> Result<Vec<(NaiveDate, Sum)>, ServiceError> {
    if from > to {
        return Ok(Vec::new());
    }
    let mut q = rollup::Entity::find()
        .select_only()
        .column(rollup::Column::Day)
        .column_as(Expr::cust("CAST(SUM(amount_minor) AS BIGINT)"), "amount")
        .column_as(Expr::cust("CAST(SUM(deals_won) AS BIGINT)"), "won")
        .filter(rollup::Column::UnitId.eq(unit.as_str()))
        .filter(rollup::Column::Day.between(from, to))
        .group_by(rollup::Column::Day)
        .order_by_asc(rollup::Column::Day);
    if !dims.product_line.is_empty() {
        q = q.filter(rollup::Column::ProductLine.eq(dims.product_line.as_str()));
    }
    if !dims.customer_type.is_empty() {
        q = q.filter(rollup::Column::CustomerType.eq(dims.customer_type.as_str()));
    }
    let rows: Vec<(NaiveDate, i64, i64)> = q.into_tuple().all(db).await?;
    Ok(rows.into_iter().map(|(d, a, won)| (d, Sum { amount: Amount::from_minor_units(a), deals_won: won })).collect())
}

/// Recomputes a unit's sums from the raw deal records and their shares
/// (for consistency checks): what the roll-ups must always equal. Reads
/// every record in the range — never on a request path.
pub async fn recompute(
    db: &impl ConnectionTrait,
    unit_path: &[Id],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Sum, ServiceError> {
    use super::deals;
    let mut sum = Sum::default();
    let mut after: Option<String> = None;
    loop {
        let window = deals::Window { dates: Some((from, to)), ..deals::Window::default() };
        let page = deals::list(db, &[unit_path.to_vec()], window, after.as_deref(), 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.as_str().to_owned());
        for d in &page {
            let mine: i64 =
                d.lines().into_iter().filter(|(p, _)| p.starts_with(unit_path)).map(|(_, a)| a.to_minor_units()).sum();
            sum.amount = sum.amount.checked_add(Amount::from_minor_units(mine))?;
            sum.deals_won += d.count_delta();
        }
    }
    Ok(sum)
}

/// Each unit's latest day with a deal up to `up_to` that stands (a day
/// whose deals were all reversed had none: as tried from outside, a
/// reversed sale ended a rep's staleness); units without are absent.
pub async fn last_deal_days(
    db: &impl ConnectionTrait,
    units: &[Id],
    up_to: NaiveDate,
) -> Result<HashMap<Id, NaiveDate>, ServiceError> {
    let mut out = HashMap::new();
    let ids: Vec<&str> = units.iter().map(Id::as_str).collect();
    for (unit, day) in super::latest_days(db, ("rollups", "unit_id", "day", "t.deals_won > 0"), &ids, up_to).await? {
        out.insert(Id::stored("roll-up unit", &unit)?, day);
    }
    Ok(out)
}
