//! A sheet's data row read as what it records: a won deal (as the request
//! CreateDeal takes, so its request id's fingerprint is CreateDeal's), a
//! lost one, or a follow-up line; its request id; and a refused row's
//! faults named by the column they came from.

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id, idempotency::IdempotencyKey};
use attain_proto::attain::{common::v1 as common, tracking::v1 as pb};
use chrono::Utc;

use super::super::convert;
use crate::{
    app::import::{Directory, LostRow},
    domain::{
        activity::{Opportunity, Outcome},
        deal::Dimensions,
    },
    import::{Columns, Field, RowKind, SheetRow},
};

/// A data row read through the columns.
pub(super) enum Parsed {
    Won(pb::CreateDealRequest),
    Lost(LostRow),
    FollowUp,
}

/// What a pass knows of its rows' request ids.
#[derive(Default)]
pub(super) struct RowIds {
    /// How many rows of each content came before (a row's request id is
    /// its content and its occurrence: two equal sales stay two).
    occurrences: HashMap<[u8; 12], u32>,
    /// Request ids written in the file's own column, by their first row.
    given: HashMap<String, u64>,
}

/// A data row as a deal request, a lost opportunity or a follow-up.
pub(super) fn read(directory: &Directory, r: &SheetRow, ids: &mut RowIds) -> Result<Parsed, (Field, String)> {
    let kind = r.kind()?;
    if kind == RowKind::FollowUp {
        return Ok(Parsed::FollowUp);
    }
    let day = r.close_date()?;
    if r.rep.is_empty() {
        return Err((Field::Rep, "is empty: whose deal is it?".to_owned()));
    }
    let rep = directory.resolve(&r.rep).map_err(|e| (Field::Rep, e))?;
    let dimensions = Dimensions { product_line: r.product_line.clone(), customer_type: r.customer_type.clone() };
    match kind {
        RowKind::Won(amount) => {
            let credits = r
                .credit_shares()
                .into_iter()
                .map(|(who, percent)| {
                    let rep = directory.resolve(&who).map_err(|e| (Field::Credits, e))?;
                    Ok(pb::CreditShare { rep: rep.resource_name(), percent, ..Default::default() })
                })
                .collect::<Result<Vec<_>, (Field, String)>>()?;
            let shares: Vec<String> = credits.iter().map(|c| format!("{} {}", c.rep, c.percent)).collect();
            let content = [
                "won",
                rep.as_str(),
                &day.to_string(),
                &amount.normalize().to_string(),
                &r.currency(),
                &r.customer,
                &r.product_line,
                &r.customer_type,
                &shares.join(";"),
            ];
            let request_id = request_id(r, &content, ids)?;
            Ok(Parsed::Won(pb::CreateDealRequest {
                deal: Some(pb::Deal {
                    rep: rep.resource_name(),
                    amount: Some(common::Money { currency_code: r.currency(), amount: amount.to_string() }),
                    close_date: day.format("%Y-%m-%d").to_string(),
                    customer: r.customer.clone(),
                    dimensions: Some(convert::dimensions_wire(&dimensions)),
                    credits,
                    ..Default::default()
                }),
                request_id,
            }))
        }
        RowKind::Lost(reason, detail) => {
            let now = Utc::now();
            let opportunity = Opportunity {
                id: Id::generate(),
                rep,
                booked_path: Vec::new(),
                customer: r.customer.clone(),
                dimensions,
                stage: if r.stage.is_empty() { "lost".to_owned() } else { r.stage.clone() },
                outcome: Outcome::Lost(reason),
                expected_amount: attain_kit::money::Amount::ZERO,
                currency: attain_kit::money::CurrencyCode::XXX,
                close_date: Some(day),
                loss_detail: detail,
                version: 1,
                create_time: now,
                update_time: now,
            };
            // The key's payload is the row as read, so a changed row
            // sent again under the same id is refused, not ignored.
            let payload = pb::Opportunity {
                rep: opportunity.rep.resource_name(),
                customer: opportunity.customer.clone(),
                stage: opportunity.stage.clone(),
                close_date: day.format("%Y-%m-%d").to_string(),
                loss_detail: opportunity.loss_detail.clone(),
                dimensions: Some(convert::dimensions_wire(&opportunity.dimensions)),
                ..Default::default()
            };
            let content = [
                "lost",
                opportunity.rep.as_str(),
                &day.to_string(),
                &opportunity.customer,
                &opportunity.stage,
                &opportunity.loss_detail,
                &r.product_line,
                &r.customer_type,
            ];
            let request_id = request_id(r, &content, ids)?;
            let scope = import_scope(&payload.rep);
            let key = IdempotencyKey::required(&scope, "ImportDeals.lost", "request_id", &request_id, &payload)
                .map_err(|e| (Field::RequestId, e.to_string()))?;
            Ok(Parsed::Lost(LostRow { key, opportunity, row: 0 }))
        }
        RowKind::FollowUp => Ok(Parsed::FollowUp),
    }
}

/// A row's request id: its own column's, else its content and
/// occurrence — so a sheet imported again, or with rows added or moved,
/// stores each deal once, while two equal sales in one file stay two.
fn request_id(r: &SheetRow, content: &[&str], ids: &mut RowIds) -> Result<String, (Field, String)> {
    if !r.request_id.is_empty() {
        if let Some(first) = ids.given.get(&r.request_id) {
            return Err((Field::RequestId, format!("{} is also the request id of row {first}", r.request_id)));
        }
        ids.given.insert(r.request_id.clone(), r.number);
        return Ok(r.request_id.clone());
    }
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in content {
        hash.update(part.as_bytes());
        hash.update([0x1f]);
    }
    let digest = hash.finalize();
    let mut short = [0u8; 12];
    short.copy_from_slice(&digest[..12]);
    let seen = ids.occurrences.entry(short).or_insert(0);
    *seen += 1;
    let hex: String = short.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sheet-{hex}-{seen}"))
}

/// Whose request ids an imported row's are: its rep's, whoever imports
/// it — a sheet imported by the manager and again by the rep stores each
/// row once.
pub(super) fn import_scope(rep: &str) -> String {
    format!("import:{rep}")
}

/// A refused row's faults, by column title.
pub(super) fn faults(row: usize, e: ServiceError, columns: &Columns) -> Vec<(String, String)> {
    match e {
        ServiceError::InvalidArgument(v) => {
            v.into_iter().map(|f| (columns.title(field_of(&f.field)), f.description)).collect()
        }
        other => vec![(columns.title(Field::Rep), crate::app::ingest::without_row(row, other.to_string()))],
    }
}

/// The column a violated request field came from.
fn field_of(field: &str) -> Field {
    if field.contains(".credits") {
        Field::Credits
    } else if field.ends_with("currency_code") {
        Field::Currency
    } else if field.ends_with("amount.amount") || field.ends_with(".amount") {
        Field::Amount
    } else if field.ends_with("close_date") {
        Field::Date
    } else if field.ends_with("request_id") {
        Field::RequestId
    } else if field.ends_with("product_line") {
        Field::ProductLine
    } else if field.ends_with("customer_type") {
        Field::CustomerType
    } else if field.ends_with("customer") {
        Field::Customer
    } else if field.ends_with("loss_detail") {
        Field::LossReason
    } else if field.ends_with("stage") {
        Field::Stage
    } else {
        Field::Rep
    }
}
