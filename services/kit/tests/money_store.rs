//! Money is exact on both stores: a million cents sum to exactly 10000.00,
//! and the largest amount round-trips, through the kit's connector and the
//! minor-unit encoding every service uses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use attain_kit::{
    configuration::DatabaseSettings,
    db,
    money::Amount,
    testing::{Backend, fresh_database_url},
};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use secrecy::SecretString;

async fn million_cents_sum_exactly(backend: Backend) {
    let settings =
        DatabaseSettings { url: SecretString::from(fresh_database_url(backend).await), ..DatabaseSettings::default() };
    let conn = db::connect(&settings).await.unwrap();
    conn.execute_unprepared("CREATE TABLE amounts (amount_minor BIGINT NOT NULL)").await.unwrap();

    let cent = Amount::parse("0.01").unwrap().to_minor_units();
    let row = format!("({cent})");
    let chunk = vec![row.as_str(); 1000].join(",");
    let txn = conn.begin().await.unwrap();
    for _ in 0..1000 {
        txn.execute_unprepared(&format!("INSERT INTO amounts (amount_minor) VALUES {chunk}")).await.unwrap();
    }
    txn.commit().await.unwrap();

    let backend_kind = conn.get_database_backend();
    let sum_row = conn
        .query_one_raw(Statement::from_string(
            backend_kind,
            "SELECT CAST(SUM(amount_minor) AS BIGINT) AS total, COUNT(*) AS n FROM amounts",
        ))
        .await
        .unwrap()
        .unwrap();
    let total: i64 = sum_row.try_get("", "total").unwrap();
    let n: i64 = sum_row.try_get("", "n").unwrap();
    assert_eq!(n, 1_000_000);
    assert_eq!(Amount::from_minor_units(total).to_string(), "10000.00");

    let big = Amount::parse("99999999999999.99").unwrap();
    conn.execute_unprepared("CREATE TABLE big (amount_minor BIGINT NOT NULL)").await.unwrap();
    conn.execute_raw(Statement::from_sql_and_values(
        backend_kind,
        match backend {
            Backend::Sqlite => "INSERT INTO big (amount_minor) VALUES (?)",
            Backend::Postgres => "INSERT INTO big (amount_minor) VALUES ($1)",
        },
        [big.to_minor_units().into()],
    ))
    .await
    .unwrap();
    let back: i64 = conn
        .query_one_raw(Statement::from_string(backend_kind, "SELECT amount_minor FROM big"))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "amount_minor")
        .unwrap();
    assert_eq!(Amount::from_minor_units(back), big);
    assert_eq!(Amount::from_minor_units(back).to_string(), "99999999999999.99");
}

attain_kit::both_backends!(million_cents_sum_exactly);
