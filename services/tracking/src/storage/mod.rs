//! Storage of the tracking service, a module per table family (named after
//! its tables): entities and queries; rows become domain types here. Money
//! is i64 minor units. Writes that derive one table from another in the
//! same transaction are called in turn by the use case, not hidden here.

pub mod alerts;
pub mod closes;
pub mod customer_firsts;
pub mod daily_logs;
pub mod deals;
pub mod feeds;
pub mod gap_analyses;
pub mod leases;
pub mod loss_rollups;
pub mod opportunities;
pub mod review_closes;
pub mod rollups;

use attain_kit::ServiceError;

pub(crate) use attain_kit::id::{decode_path, encode_path};

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}

/// Each key's latest `day` up to `up_to` in `table` (keys without are
/// absent): one index probe per key, backwards from `up_to` on the
/// table's (key, day) index. A `MAX(day) … GROUP BY key` over the keys
/// reads every row of theirs instead — 90 ms for 1,500 reps' daily logs
/// where this takes 2 ms — and the alert pass asks it of every rep whose
/// figures moved. Only rows meeting `only` count (SQL on the row `t`;
/// "true" for all). Table, column names and `only` are ours, never input.
pub(crate) async fn latest_days(
    db: &impl sea_orm::ConnectionTrait,
    (table, key, day, only): (&'static str, &'static str, &'static str, &'static str),
    keys: &[&str],
    up_to: chrono::NaiveDate,
) -> Result<Vec<(String, chrono::NaiveDate)>, ServiceError> {
    use sea_orm::{DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT k.id AS id, (SELECT t.{day}::text FROM {table} t WHERE t.{key} = k.id AND t.{day} <= $2 AND {only} \
             ORDER BY t.{day} DESC LIMIT 1) AS last FROM jsonb_array_elements_text($1::jsonb) AS k(id)"
        ),
        _ => format!(
            "SELECT k.value AS id, (SELECT t.{day} FROM {table} t WHERE t.{key} = k.value AND t.{day} <= ? AND {only} \
             ORDER BY t.{day} DESC LIMIT 1) AS last FROM json_each(?) AS k"
        ),
    };
    let json = serde_json::Value::from(keys.to_vec()).to_string();
    let values: Vec<sea_orm::Value> = match backend {
        DbBackend::Postgres => vec![json.into(), up_to.into()],
        // SQLite binds in the order the placeholders appear.
        _ => vec![up_to.into(), json.into()],
    };
    let mut out = Vec::new();
    for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
        let (id, last): (String, Option<String>) = (row.try_get("", "id")?, row.try_get("", "last")?);
        if let Some(last) = last {
            let d = chrono::NaiveDate::parse_from_str(&last, "%Y-%m-%d").map_err(|_| corrupt(table, &last))?;
            out.push((id, d));
        }
    }
    Ok(out)
}

/// Where a table keeps the place its rows count: the path column, the
/// date that decides it, and whether undated rows go with the unit.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub table: &'static str,
    pub path: &'static str,
    pub date: &'static str,
    pub undated: bool,
}

/// Books the rows of `placed` dated from `from` on (and undated ones, when
/// it says so; only those without `from`) that sit under the path `old`
/// under `new` instead (a unit moved from that day): the part of the path
/// after `old` is kept. Ids hold no LIKE wildcards. How many rows moved.
pub async fn rebase(
    db: &impl sea_orm::ConnectionTrait,
    placed: Placed,
    (old, new): (&[attain_kit::id::Id], &[attain_kit::id::Id]),
    from: Option<chrono::NaiveDate>,
) -> Result<u64, ServiceError> {
    use sea_orm::{DbBackend, Statement};
    let Placed { table, path, date, undated } = placed;
    let (old, new) = (encode_path(old), encode_path(new));
    let backend = db.get_database_backend();
    let keep_from = i32::try_from(old.chars().count()).unwrap_or(i32::MAX).saturating_add(1);
    let (p, at) = match backend {
        DbBackend::Postgres => (["$1", "$2", "$3"], "$4"),
        _ => (["?", "?", "?"], "?"),
    };
    let which = match (from, undated) {
        (Some(_), true) => format!("({date} >= {at} OR {date} IS NULL)"),
        (Some(_), false) => format!("{date} >= {at}"),
        (None, _) => format!("{date} IS NULL"),
    };
    let sql = format!(
        "UPDATE {table} SET {path} = {} || SUBSTR({path}, {}) WHERE {path} LIKE {} AND {which}",
        p[0], p[1], p[2]
    );
    let mut values: Vec<sea_orm::Value> = vec![new.into(), keep_from.into(), format!("{old}%").into()];
    values.extend(from.map(sea_orm::Value::from));
    Ok(db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected())
}

/// Rows whose `col` path lies under any of `paths` (a unit's places: where
/// it sits and where it sat).
pub(crate) fn under_any(col: impl sea_orm::ColumnTrait, paths: &[Vec<attain_kit::id::Id>]) -> sea_orm::Condition {
    paths.iter().fold(sea_orm::Condition::any(), |c, p| c.add(col.starts_with(encode_path(p))))
}
