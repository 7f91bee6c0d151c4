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
pub mod rollups;

use attain_kit::ServiceError;

pub(crate) use attain_kit::id::{decode_path, encode_path};

pub(crate) fn corrupt(what: &str, value: &str) -> ServiceError {
    ServiceError::corrupt(what, value)
}

/// Books rows of `table` dated from `from` on (`date_col`; with
/// `undated`, rows without a date too) that sit under the path prefix
/// `old` under `new` instead (a unit moved from that day): the part of
/// `path_col` after `old` is kept. Paths are encoded ("/a/b/"); ids hold no
/// LIKE wildcards. How many rows moved.
pub(crate) async fn rebase_paths(
    db: &impl sea_orm::ConnectionTrait,
    (table, path_col, date_col): (&str, &str, &str),
    (old, new): (&str, &str),
    (from, undated): (chrono::NaiveDate, bool),
) -> Result<u64, ServiceError> {
    use sea_orm::{DbBackend, Statement};
    let backend = db.get_database_backend();
    let keep_from = i32::try_from(old.chars().count()).unwrap_or(i32::MAX).saturating_add(1);
    let undated = if undated { format!(" OR {date_col} IS NULL") } else { String::new() };
    let sql = match backend {
        DbBackend::Postgres => format!(
            "UPDATE {table} SET {path_col} = $1 || SUBSTR({path_col}, $2) WHERE {path_col} LIKE $3 AND ({date_col} >= $4{undated})"
        ),
        _ => format!(
            "UPDATE {table} SET {path_col} = ? || SUBSTR({path_col}, ?) WHERE {path_col} LIKE ? AND ({date_col} >= ?{undated})"
        ),
    };
    let values: [sea_orm::Value; 4] = [new.into(), keep_from.into(), format!("{old}%").into(), from.into()];
    Ok(db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected())
}

/// Rows whose `col` path lies under any of `paths` (a unit's places: where
/// it sits and where it sat).
pub(crate) fn under_any(col: impl sea_orm::ColumnTrait, paths: &[Vec<attain_kit::id::Id>]) -> sea_orm::Condition {
    paths.iter().fold(sea_orm::Condition::any(), |c, p| c.add(col.starts_with(encode_path(p))))
}
