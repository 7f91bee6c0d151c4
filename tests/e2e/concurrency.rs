//! Concurrency on PostgreSQL through the gateway: many writers updating
//! one plan with etags lose no update; many managers opening the same
//! review at once get exactly one review.

use crate::support::Suite;
use attain_kit::{
    auth::Role,
    testing::{Backend, token},
};
use attain_proto::attain::{
    common::v1::Money,
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    target::v1::{self as tpb, target_service_client::TargetServiceClient},
};
use tonic::{Code, Request, transport::Channel};

const WRITERS: usize = 8;
const INCREMENTS: usize = 5;

fn as_<T>(person: &str, role: Role, unit: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

/// Read the plan, add one to its base, write it back under the etag read;
/// on ABORTED (someone wrote first) read again. Returns the retries.
async fn increment(gw: Channel, writer: usize) -> usize {
    let mut t = TargetServiceClient::new(gw);
    let mut retries = 0;
    for k in 0..INCREMENTS {
        loop {
            let plan = t
                .get_plan(as_("ops", Role::Admin, "", tpb::GetPlanRequest { name: "plans/fy-draft".into() }))
                .await
                .unwrap()
                .into_inner();
            let base: i64 =
                plan.base_amount.as_ref().unwrap().amount.parse::<rust_decimal::Decimal>().unwrap().try_into().unwrap();
            let update = tpb::UpdatePlanRequest {
                plan: Some(tpb::Plan {
                    name: plan.name.clone(),
                    etag: plan.etag.clone(),
                    base_amount: Some(Money { currency_code: "CNY".into(), amount: (base + 1).to_string() }),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["base_amount".into()] }),
                request_id: format!("w{writer}-{k}"),
            };
            match t.update_plan(as_("ops", Role::Admin, "", update)).await {
                Ok(_) => break,
                Err(s) if s.code() == Code::Aborted => retries += 1,
                Err(s) => panic!("writer {writer}: {s:?}"),
            }
        }
    }
    retries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_lose_no_update_and_one_review_opens() {
    let s = Suite::with_demo(Backend::Postgres).await;
    let gw = Channel::from_shared(format!("http://{}", s.gateway.addr)).unwrap().connect().await.unwrap();

    // A draft plan many writers update at once.
    TargetServiceClient::new(gw.clone())
        .create_plan(as_(
            "ops",
            Role::Admin,
            "",
            tpb::CreatePlanRequest {
                plan: Some(tpb::Plan {
                    display_name: "FY2025 draft".into(),
                    top_unit: "units/acme".into(),
                    fiscal_year: 2025,
                    currency_code: "CNY".into(),
                    base_amount: Some(Money { currency_code: "CNY".into(), amount: "1000".into() }),
                    ..Default::default()
                }),
                plan_id: "fy-draft".into(),
                request_id: String::new(),
            },
        ))
        .await
        .unwrap();
    let writers: Vec<_> = (0..WRITERS).map(|w| tokio::spawn(increment(gw.clone(), w))).collect();
    let mut retries = 0;
    for w in writers {
        retries += w.await.unwrap();
    }
    let plan = TargetServiceClient::new(gw.clone())
        .get_plan(as_("ops", Role::Admin, "", tpb::GetPlanRequest { name: "plans/fy-draft".into() }))
        .await
        .unwrap()
        .into_inner();
    let base: rust_decimal::Decimal = plan.base_amount.unwrap().amount.parse().unwrap();
    let lost = (rust_decimal::Decimal::from(1000 + WRITERS * INCREMENTS) - base).normalize();
    assert_eq!(lost, rust_decimal::Decimal::ZERO, "no update lost");
    assert!(retries > 0, "the writers did collide (else this proves nothing)");

    // The February review of region A, opened by many at once: one review.
    let opens: Vec<_> = (0..WRITERS)
        .map(|i| {
            let mut r = ReviewServiceClient::new(gw.clone());
            tokio::spawn(async move {
                r.create_review(as_(
                    "wang",
                    Role::Manager,
                    "region-a",
                    rpb::CreateReviewRequest {
                        review: Some(rpb::Review {
                            unit: "units/region-a".into(),
                            period: Some(attain_proto::attain::common::v1::Period {
                                expression: "2024-W03".into(),
                                ..Default::default()
                            }),
                            cadence: rpb::Cadence::Weekly as i32,
                            ..Default::default()
                        }),
                        request_id: format!("open-{i}"),
                    },
                ))
                .await
                .map(|r| r.into_inner().name)
            })
        })
        .collect();
    let mut created = Vec::new();
    for o in opens {
        match o.await.unwrap() {
            Ok(name) => created.push(name),
            Err(s) => assert_eq!(s.code(), Code::AlreadyExists, "{s:?}"),
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    crate::support::reliability_claim(&format!(
        "| `etags_lose_no_update_and_one_review_opens` | {WRITERS} writers × {INCREMENTS} etag updates; {WRITERS} \
         concurrent review opens | {lost} lost updates; {} review |",
        created.len()
    ));
    println!(
        "concurrency: {WRITERS} writers × {INCREMENTS} etag updates, {retries} ABORTED and retried, 0 lost; {WRITERS} concurrent opens, 1 review"
    );
}
