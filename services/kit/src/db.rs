//! One connector for `sqlite://` and `postgres://` URLs that also runs the
//! service's own migrations.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;
use secrecy::ExposeSecret;

use crate::configuration::DatabaseSettings;

/// Connects and brings the schema up to date.
pub async fn connect_and_migrate<M: MigratorTrait>(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    // SQLite answers "database is locked" at once, busy timeout or not,
    // when processes open a new file together (one switches it to WAL
    // while another reads its header): such a start is retried for a few
    // seconds. Any other failure is final.
    let mut attempt = 0;
    loop {
        let outcome = async {
            let db = connect(settings).await?;
            migrate::<M>(&db).await?;
            anyhow::Ok(db)
        }
        .await;
        match outcome {
            Err(e) if attempt < 50 && settings.url.expose_secret().starts_with("sqlite:") && is_locked(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

fn is_locked(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("database is locked") || text.contains("SQLITE_BUSY")
}

/// Key of the PostgreSQL advisory lock migrations take ("attain-m").
const MIGRATION_LOCK: i64 = 0x6174_7461_696e_2d6d;

/// Applies the pending migrations in one transaction holding the
/// database's migration lock — PostgreSQL's advisory lock, SQLite's write
/// lock (BEGIN IMMEDIATE) — so replicas starting together apply each
/// migration once: the others wait, then find nothing left to do.
pub async fn migrate<M: MigratorTrait>(db: &DatabaseConnection) -> anyhow::Result<()> {
    let failed = |e: DbErr| anyhow::anyhow!("database migration failed: {e}");
    let txn = begin_write(db).await.map_err(failed)?;
    if !is_sqlite(db) {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")).await.map_err(failed)?;
    }
    M::up(&txn, None).await.map_err(failed)?;
    txn.commit().await.map_err(failed)
}

/// Opens a pool. SQLite files are created if missing and run in WAL mode
/// with foreign keys on and a busy timeout (sea-orm sets none of these).
pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.url.expose_secret();
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(settings.max_connections)
        .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .acquire_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .sqlx_logging(false)
        // Statements are child spans (sea-orm's `tracing-spans`) named by
        // kind; [`instrument`] adds the table. The SQL text is left out:
        // it costs a copy per statement, and a raw statement may hold values.
        .record_stmt_in_spans(false);
    if url.starts_with("sqlite:") {
        prepare_sqlite_file(url)?;
        opts.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    } else if !url.starts_with("postgres:") && !url.starts_with("postgresql:") {
        anyhow::bail!(
            "database.url must start with sqlite:// or postgres:// (got scheme {:?})",
            url.split(':').next().unwrap_or("")
        );
    }
    Database::connect(opts).await.map_err(|e| anyhow::anyhow!("cannot connect to the database: {}", redact(&e)))
}

/// Creates a SQLite file's directory (0700) and the file itself (0600) if
/// missing: it holds the organisation's figures (and notify's sealed
/// channel secrets), readable by the service's user only. SQLite gives its
/// -wal and -shm files the database file's mode.
fn prepare_sqlite_file(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", dir.display()))?;
    }
    if !path.exists() {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        match o.open(path) {
            Ok(_) => {}
            // Another replica made it first.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => anyhow::bail!("cannot create database file {}: {e}", path.display()),
        }
    }
    Ok(())
}

/// sqlx errors may quote the URL; keep passwords out of messages.
fn redact(e: &DbErr) -> String {
    let s = e.to_string();
    match (s.find("://"), s.find('@')) {
        (Some(a), Some(b)) if a < b => format!("{}://[REDACTED]{}", &s[..a], &s[b..]),
        _ => s,
    }
}

/// Measures the pool and every statement into `metrics`: connections open
/// and idle (read at each scrape), statement latency by kind, failed
/// statements; and names each statement's span after its kind and table
/// (`SELECT deals`, its `db.query.summary`), never its values.
pub fn instrument(db: &mut DatabaseConnection, metrics: &crate::metrics::Metrics) {
    let latency = metrics.histogram(
        "attain_db_statement_duration_seconds",
        "Database statement latency, by kind (select, insert, update, delete, other)",
    );
    let failed = metrics
        .counter("attain_db_statement_failures", "Database statements that failed, by kind")
        .starting_at_zero(&KINDS.map(|k| [("kind", k)]).each_ref().map(|l| &l[..]));
    db.set_metric_callback(move |info| {
        let (kind, table) = statement_summary(&info.statement.sql);
        latency.observe(&[("kind", kind)], info.elapsed.as_secs_f64());
        if info.failed {
            failed.inc(&[("kind", kind)]);
        }
        // The callback runs inside sea-orm's span for the statement.
        if let Some(table) = table
            && crate::telemetry::exporting()
        {
            use opentelemetry::trace::TraceContextExt;
            use tracing_opentelemetry::OpenTelemetrySpanExt;
            let span = tracing::Span::current();
            let summary = format!("{} {table}", kind.to_uppercase());
            span.set_attribute("db.collection.name", table.to_owned());
            span.set_attribute("db.query.summary", summary.clone());
            // OpenTelemetry's database conventions name the span by its
            // summary: a trace shows "SELECT rollups", not "sea_orm.query_all".
            span.context().span().update_name(summary);
        }
    });
    let (open, idle) = (
        metrics.gauge("attain_db_pool_connections", "Database connections open in the pool"),
        metrics.gauge("attain_db_pool_idle_connections", "Database connections open and idle in the pool"),
    );
    let max = metrics.gauge("attain_db_pool_max_connections", "The pool's limit (database.max_connections)");
    let pool = db.clone();
    let limit = i64::from(pool_limit(&pool));
    metrics.on_scrape(move || {
        let (size, free) = pool_usage(&pool);
        open.set(&[], i64::from(size));
        idle.set(&[], i64::try_from(free).unwrap_or(i64::MAX));
        max.set(&[], limit);
    });
}

fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    if is_sqlite(db) {
        let p = db.get_sqlite_connection_pool();
        (p.size(), p.num_idle())
    } else {
        let p = db.get_postgres_connection_pool();
        (p.size(), p.num_idle())
    }
}

fn pool_limit(db: &DatabaseConnection) -> u32 {
    if is_sqlite(db) {
        db.get_sqlite_connection_pool().options().get_max_connections()
    } else {
        db.get_postgres_connection_pool().options().get_max_connections()
    }
}

/// The values of a statement's kind label.
const KINDS: [&str; 5] = ["select", "insert", "update", "delete", "other"];

/// A statement's kind (a bounded label) and the first table it names.
fn statement_summary(sql: &str) -> (&'static str, Option<&str>) {
    let mut words = sql.split_ascii_whitespace();
    let first = words.next().unwrap_or("");
    let kind = KINDS[..4]
        .iter()
        .copied()
        .find(|k| first.eq_ignore_ascii_case(k))
        .unwrap_or(if first.eq_ignore_ascii_case("with") { "select" } else { "other" });
    let after = match kind {
        "insert" => "into",
        "update" => "update",
        _ => "from",
    };
    let mut words = sql.split_ascii_whitespace();
    let table = if kind == "update" {
        words.nth(1)
    } else {
        words.by_ref().find(|w| w.eq_ignore_ascii_case(after)).and_then(|_| words.next())
    };
    let table = table.map(|t| t.trim_matches(|c: char| c == '"' || c == '`' || c == '(' || c == ')' || c == ','));
    // A subquery ("FROM (SELECT …") names no table of its own here.
    let keyword = |t: &str| ["select", "lateral", "only", "with"].iter().any(|k| t.eq_ignore_ascii_case(k));
    (kind, table.filter(|t| !t.is_empty() && !keyword(t) && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')))
}

/// Whether the database answers a trivial query (health checks).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// True for SQLite (some SQL differs by backend).
pub fn is_sqlite(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Sqlite
}

/// Begins a transaction that will write. On SQLite it takes the write lock
/// up front (BEGIN IMMEDIATE): a deferred transaction that read first
/// would fail with SQLITE_BUSY instead of waiting when another writer
/// committed meanwhile. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// An index PostgreSQL can use for prefix searches (`path LIKE '/acme/r1/%'`,
/// every subtree read): a plain btree serves them only under the "C"
/// collation, so a database created with any other (en_US.UTF-8, C.UTF-8)
/// scanned the whole table per read. `text_pattern_ops` on the path column,
/// after the `leading` equality columns. SQLite: nothing (its LIKE folds
/// case and uses no index; the embedded store is one organisation's).
pub async fn create_prefix_index(
    m: &sea_orm_migration::SchemaManager<'_>,
    name: &str,
    (table, leading, path): (&str, &[&str], &str),
) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut cols: Vec<String> = leading.iter().map(|c| format!("\"{c}\"")).collect();
    cols.push(format!("\"{path}\" text_pattern_ops"));
    let sql = format!("CREATE INDEX IF NOT EXISTS \"{name}\" ON \"{table}\" ({})", cols.join(", "));
    m.get_connection().execute_unprepared(&sql).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::{prepare_sqlite_file, statement_summary};

    #[cfg(unix)]
    #[test]
    fn a_new_sqlite_file_is_the_service_users_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("attain-db-mode-{}", std::process::id()));
        let file = dir.join("data").join("notify.db");
        prepare_sqlite_file(&format!("sqlite://{}?mode=rwc", file.display())).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&dir.join("data")), 0o700);
        prepare_sqlite_file(&format!("sqlite://{}", file.display())).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_statement_is_summarised_by_kind_and_table_without_values() {
        assert_eq!(statement_summary(r#"SELECT "deals"."id" FROM "deals" WHERE "id" = $1"#), ("select", Some("deals")));
        assert_eq!(statement_summary(r#"INSERT INTO "rollups" ("a") VALUES (?)"#), ("insert", Some("rollups")));
        assert_eq!(statement_summary(r#"UPDATE "alerts" SET "x" = $1"#), ("update", Some("alerts")));
        assert_eq!(statement_summary("DELETE FROM idempotency WHERE at < $1"), ("delete", Some("idempotency")));
        assert_eq!(statement_summary("WITH c AS (UPDATE feed_positions SET x = 1) SELECT 1"), ("select", None));
        assert_eq!(statement_summary("SELECT pg_advisory_xact_lock(7)"), ("select", None));
        assert_eq!(statement_summary("BEGIN"), ("other", None));
        assert_eq!(statement_summary("SELECT COUNT(*) FROM (SELECT a FROM units) AS sub"), ("select", None));
    }
}
