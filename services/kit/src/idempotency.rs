//! Idempotent writes (AIP-155): a request id remembers the first response.
//! A retry with the same payload gets that response back; the same id with
//! another payload is ALREADY_EXISTS. Every service's migrator includes
//! [`Migration`], so each service keeps its keys in its own database.

use prost::Message;
use sea_orm::{
    ConnectionTrait, DbErr, DeriveIden, SqlErr,
    sea_query::{ColumnDef, Expr, ExprTrait, Index, Query, Table},
};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    RequestId,
    PayloadHash,
    Response,
    CreatedAt,
}

/// Creates the `idempotency_keys` table.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000000_create_idempotency_keys"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(IdempotencyKeys::RequestId).string().not_null().primary_key())
                    .col(ColumnDef::new(IdempotencyKeys::PayloadHash).string().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::Response).blob().not_null())
                    .col(ColumnDef::new(IdempotencyKeys::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_idempotency_keys_created_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }
}

/// A write's request id and the fingerprint of what it asked for.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    request_id: String,
    /// The key as stored: the caller's own namespace and the request id,
    /// so one caller's ids neither block nor reveal another's.
    stored: String,
    payload_hash: String,
}

impl IdempotencyKey {
    /// `payload` is the request with its request_id cleared; `method`
    /// makes reuse of an id for another call a conflict too. None when the
    /// client sent no request id.
    pub fn new(
        caller: &str,
        method: &str,
        request_id: &str,
        payload: &impl Message,
    ) -> Result<Option<Self>, ServiceError> {
        if request_id.is_empty() {
            return Ok(None);
        }
        if request_id.len() > 128 || !request_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ServiceError::invalid("request_id", "must be 1–128 printable ASCII characters"));
        }
        let mut hasher = Sha256::new();
        hasher.update(method.as_bytes());
        hasher.update([0]);
        hasher.update(payload.encode_to_vec());
        let namespace = hex::encode(&Sha256::digest(caller.as_bytes())[..8]);
        Ok(Some(Self {
            request_id: request_id.to_owned(),
            stored: format!("{namespace}/{request_id}"),
            payload_hash: hex::encode(hasher.finalize()),
        }))
    }

    /// Like [`IdempotencyKey::new`] for writes that must carry a request
    /// id: a missing one is INVALID_ARGUMENT on `field`.
    pub fn required(
        caller: &str,
        method: &str,
        field: &str,
        request_id: &str,
        payload: &impl Message,
    ) -> Result<Self, ServiceError> {
        Self::new(caller, method, request_id, payload)
            .map_err(|_| ServiceError::invalid(field, "must be 1–128 printable ASCII characters"))?
            .ok_or_else(|| ServiceError::invalid(field, "is required: every write carries a client request id"))
    }

    /// The stored response of an earlier call with this id, if any.
    pub async fn replay<R: Message + Default>(&self, db: &impl ConnectionTrait) -> Result<Option<R>, ServiceError> {
        let query = Query::select()
            .columns([IdempotencyKeys::PayloadHash, IdempotencyKeys::Response])
            .from(IdempotencyKeys::Table)
            .and_where(Expr::col(IdempotencyKeys::RequestId).eq(self.stored.as_str()))
            .to_owned();
        let Some(row) = db.query_one(&query).await? else {
            return Ok(None);
        };
        let hash: String = row.try_get("", "payload_hash")?;
        if hash != self.payload_hash {
            return Err(self.reused());
        }
        let bytes: Vec<u8> = row.try_get("", "response")?;
        R::decode(bytes.as_slice()).map(Some).map_err(|e| {
            ServiceError::Internal(anyhow::anyhow!("stored response of {} does not decode: {e}", self.request_id))
        })
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The stored payload hash (and, when `responses`, the response) of
    /// each of `keys` that has one, by stored id; 500 ids a query.
    async fn stored_many(
        db: &impl ConnectionTrait,
        keys: &[&IdempotencyKey],
        responses: bool,
    ) -> Result<std::collections::HashMap<String, (String, Vec<u8>)>, ServiceError> {
        let mut stored = std::collections::HashMap::new();
        let mut columns = vec![IdempotencyKeys::RequestId, IdempotencyKeys::PayloadHash];
        if responses {
            columns.push(IdempotencyKeys::Response);
        }
        for chunk in keys.chunks(500) {
            let query = Query::select()
                .columns(columns.clone())
                .from(IdempotencyKeys::Table)
                .and_where(Expr::col(IdempotencyKeys::RequestId).is_in(chunk.iter().map(|k| k.stored.as_str())))
                .to_owned();
            for row in db.query_all(&query).await? {
                let id: String = row.try_get("", "request_id")?;
                let hash: String = row.try_get("", "payload_hash")?;
                let bytes: Vec<u8> = if responses { row.try_get("", "response")? } else { Vec::new() };
                stored.insert(id, (hash, bytes));
            }
        }
        Ok(stored)
    }

    /// A key whose id is stored with another payload.
    fn reused(&self) -> ServiceError {
        ServiceError::AlreadyExists(format!(
            "request_id {:?} was already used for a different request",
            self.request_id
        ))
    }

    /// [`IdempotencyKey::replay`] for many keys in one query: for each key,
    /// its stored response (None if new); a key reused with another payload
    /// is ALREADY_EXISTS naming it.
    pub async fn replay_many<R: Message + Default>(
        db: &impl ConnectionTrait,
        keys: &[&IdempotencyKey],
    ) -> Result<Vec<Option<R>>, ServiceError> {
        let stored = Self::stored_many(db, keys, true).await?;
        keys.iter()
            .map(|k| match stored.get(&k.stored) {
                None => Ok(None),
                Some((hash, _)) if *hash != k.payload_hash => Err(k.reused()),
                Some((_, bytes)) => R::decode(bytes.as_slice()).map(Some).map_err(|e| {
                    ServiceError::Internal(anyhow::anyhow!("stored response of {} does not decode: {e}", k.request_id))
                }),
            })
            .collect()
    }

    /// For each key: whether a call with it was already stored (`Ok(true)`),
    /// or not (`Ok(false)`), or its id was used for another request
    /// (ALREADY_EXISTS) — one answer per key, so a caller can name each.
    pub async fn seen_many(
        db: &impl ConnectionTrait,
        keys: &[&IdempotencyKey],
    ) -> Result<Vec<Result<bool, ServiceError>>, ServiceError> {
        let stored = Self::stored_many(db, keys, false).await?;
        Ok(keys
            .iter()
            .map(|k| match stored.get(&k.stored) {
                None => Ok(false),
                Some((hash, _)) if *hash != k.payload_hash => Err(k.reused()),
                Some(_) => Ok(true),
            })
            .collect())
    }

    /// [`IdempotencyKey::record`] for many keys in multi-row inserts.
    pub async fn record_many(
        db: &impl ConnectionTrait,
        entries: &[(&IdempotencyKey, Vec<u8>)],
    ) -> Result<(), ServiceError> {
        let now = chrono::Utc::now();
        for chunk in entries.chunks(500) {
            let mut insert = Query::insert()
                .into_table(IdempotencyKeys::Table)
                .columns([
                    IdempotencyKeys::RequestId,
                    IdempotencyKeys::PayloadHash,
                    IdempotencyKeys::Response,
                    IdempotencyKeys::CreatedAt,
                ])
                .to_owned();
            for (k, bytes) in chunk {
                insert.values_panic([
                    k.stored.as_str().into(),
                    k.payload_hash.as_str().into(),
                    bytes.clone().into(),
                    now.into(),
                ]);
            }
            match db.execute(&insert).await {
                Ok(_) => {}
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    return Err(ServiceError::Aborted(
                        "another call with one of these request ids ran at the same time; retry to get its result"
                            .to_owned(),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Remembers the response, in the same transaction as the write. A
    /// concurrent call with the same id loses with ABORTED; its retry replays.
    pub async fn record(&self, db: &impl ConnectionTrait, response: &impl Message) -> Result<(), ServiceError> {
        let insert = Query::insert()
            .into_table(IdempotencyKeys::Table)
            .columns([
                IdempotencyKeys::RequestId,
                IdempotencyKeys::PayloadHash,
                IdempotencyKeys::Response,
                IdempotencyKeys::CreatedAt,
            ])
            .values_panic([
                self.stored.as_str().into(),
                self.payload_hash.as_str().into(),
                response.encode_to_vec().into(),
                chrono::Utc::now().into(),
            ])
            .to_owned();
        match db.execute(&insert).await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(ServiceError::Aborted(format!(
                    "another call with request_id {:?} ran at the same time; retry to get its result",
                    self.request_id
                )))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Forgets up to `batch` request ids recorded before `before` (the oldest
/// first); how many went. A retry of a forgotten id is a new request.
pub async fn prune(
    db: &impl ConnectionTrait,
    before: chrono::DateTime<chrono::Utc>,
    batch: u64,
) -> Result<u64, ServiceError> {
    let old = Query::select()
        .column(IdempotencyKeys::RequestId)
        .from(IdempotencyKeys::Table)
        .and_where(Expr::col(IdempotencyKeys::CreatedAt).lt(before))
        .order_by(IdempotencyKeys::CreatedAt, sea_orm::Order::Asc)
        .limit(batch)
        .to_owned();
    let delete = Query::delete()
        .from_table(IdempotencyKeys::Table)
        .and_where(Expr::col(IdempotencyKeys::RequestId).in_subquery(old))
        .to_owned();
    Ok(db.execute(&delete).await?.rows_affected())
}
