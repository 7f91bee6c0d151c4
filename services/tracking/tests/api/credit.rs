//! Split credit over gRPC: each rep's actual counts its share, the units
//! above them count the deal once, bad shares get clear errors.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::Money,
    target::v1::{self as tpb, org_service_client::OrgServiceClient},
    tracking::v1::{self as pb},
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{Tracking, cny, spawn_suite};

fn split(owner: &str, amount: &str, shares: &[(&str, &str)], request_id: &str) -> pb::CreateDealRequest {
    pb::CreateDealRequest {
        deal: Some(pb::Deal {
            rep: format!("units/{owner}"),
            amount: cny(amount),
            close_date: "2024-01-10".into(),
            customer: "joint customer".into(),
            credits: shares
                .iter()
                .map(|(rep, pct)| pb::CreditShare {
                    rep: format!("units/{rep}"),
                    percent: (*pct).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

async fn figures(t: &mut Tracking, unit: &str) -> (String, i64) {
    let a = t
        .get_attainment(pb::GetAttainmentRequest {
            unit: format!("units/{unit}"),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (a.actual.map(|m| m.amount).unwrap_or_default(), a.deals_won)
}

fn violation(status: &tonic::Status) -> (Code, Vec<String>) {
    let fields = status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    (status.code(), fields)
}

fn money(m: &Option<Money>) -> &str {
    m.as_ref().map_or("", |m| m.amount.as_str())
}

async fn split_deals_credit_each_share_and_count_once(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut lead = s.tracking("lead-a", Role::Manager, "region-a");
    let d = lead
        .create_deal(split("rep-1", "10000.01", &[("rep-1", "70"), ("rep-2", "30")], "s-1"))
        .await
        .unwrap()
        .into_inner();
    let shares: Vec<(&str, &str, &str)> =
        d.credits.iter().map(|c| (c.rep.as_str(), c.percent.as_str(), money(&c.amount))).collect();
    assert_eq!(shares, [("units/rep-1", "70", "7000.01"), ("units/rep-2", "30", "3000.00")]);
    assert_eq!(figures(&mut lead, "rep-1").await, ("7000.01".into(), 1));
    assert_eq!(figures(&mut lead, "rep-2").await, ("3000.00".into(), 1));
    // The region and the company count the deal once, in full.
    assert_eq!(figures(&mut lead, "region-a").await, ("10000.01".into(), 1));
    assert_eq!(figures(&mut s.admin(), "acme").await, ("10000.01".into(), 1));

    // The credited colleague sees the deal; a rep without a share does not.
    let mut rep2 = s.tracking("rep-2", Role::Rep, "rep-2");
    let listed = rep2
        .list_deals(pb::ListDealsRequest { unit: "units/rep-2".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .deals;
    assert_eq!(listed.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), [d.name.as_str()]);
    rep2.get_deal(pb::GetDealRequest { name: d.name.clone() }).await.unwrap();
    let mut rep3 = s.tracking("rep-3", Role::Rep, "rep-3");
    let hidden = rep3.get_deal(pb::GetDealRequest { name: d.name.clone() }).await.unwrap_err();
    assert_eq!(hidden.code(), Code::PermissionDenied);

    // The owner alone may not reverse what also credits a colleague.
    let mut rep1 = s.tracking("rep-1", Role::Rep, "rep-1");
    let denied = rep1
        .reverse_deal(pb::ReverseDealRequest { name: d.name.clone(), request_id: "r-1".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    // The lead's reversal takes back every share.
    let r = lead
        .reverse_deal(pb::ReverseDealRequest { name: d.name.clone(), request_id: "r-1".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .reversal
        .unwrap();
    let negated: Vec<&str> = r.credits.iter().map(|c| money(&c.amount)).collect();
    assert_eq!(negated, ["-7000.01", "-3000.00"]);
    for unit in ["rep-1", "rep-2", "region-a"] {
        assert_eq!(figures(&mut lead, unit).await, ("0.00".into(), 0), "{unit}");
    }
    // Retrying the split deal replays it (idempotent), figures unchanged.
    let again = lead
        .create_deal(split("rep-1", "10000.01", &[("rep-1", "70"), ("rep-2", "30")], "s-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.name, d.name);
    assert_eq!(figures(&mut lead, "region-a").await, ("0.00".into(), 0));
}

async fn bad_shares_get_clear_errors(backend: Backend) {
    let s = spawn_suite(backend).await;
    // A company without a plan: its rep is outside any FY2024 deal's scope.
    let mut org =
        OrgServiceClient::with_interceptor(s.target_channel(), crate::helpers::bearer("ops", Role::Admin, ""));
    for (id, parent, kind) in
        [("other-co", "", tpb::UnitKind::Company), ("rep-x", "units/other-co", tpb::UnitKind::Rep)]
    {
        let unit =
            tpb::Unit { parent: parent.into(), kind: kind as i32, display_name: id.into(), ..Default::default() };
        org.create_unit(tpb::CreateUnitRequest { unit: Some(unit), unit_id: id.into(), request_id: String::new() })
            .await
            .unwrap();
    }
    let mut admin = s.admin();
    let mut lead = s.tracking("lead-a", Role::Manager, "region-a");
    let cases: Vec<(pb::CreateDealRequest, Code, &str)> = vec![
        (split("rep-1", "100", &[("rep-1", "70"), ("rep-2", "20")], "b-1"), Code::InvalidArgument, "deal.credits"),
        (split("rep-1", "100", &[("rep-1", "70"), ("rep-2", "40")], "b-2"), Code::InvalidArgument, "deal.credits"),
        (split("rep-1", "100", &[("rep-2", "50"), ("rep-3", "50")], "b-3"), Code::InvalidArgument, "deal.credits"),
        (
            split("rep-1", "100", &[("rep-1", "100"), ("rep-2", "0")], "b-4"),
            Code::InvalidArgument,
            "deal.credits[1].percent",
        ),
        (
            split("rep-1", "100", &[("rep-1", "seventy"), ("rep-2", "30")], "b-5"),
            Code::InvalidArgument,
            "deal.credits[0].percent",
        ),
        (
            split("rep-1", "100", &[("rep-1", "50"), ("rep-1", "50")], "b-6"),
            Code::InvalidArgument,
            "deal.credits[1].rep",
        ),
        (
            split("rep-1", "100", &[("rep-1", "50"), ("region-a", "50")], "b-7"),
            Code::InvalidArgument,
            "deal.credits[1].rep",
        ),
        (
            split("rep-1", "100", &[("rep-1", "50"), ("rep-x", "50")], "b-8"),
            Code::InvalidArgument,
            "deal.credits[1].rep",
        ),
    ];
    for (request, code, field) in cases {
        let e = admin.create_deal(request.clone()).await.unwrap_err();
        assert_eq!(violation(&e), (code, vec![field.to_owned()]), "{request:?}: {e:?}");
    }
    // A region-a lead may not credit a rep of region B.
    let e = lead.create_deal(split("rep-1", "100", &[("rep-1", "50"), ("rep-9", "50")], "b-9")).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains("deal.credits[1].rep"), "{}", e.message());
    // Nothing of it was stored.
    assert_eq!(figures(&mut admin, "acme").await, ("0.00".into(), 0));
}

both_backends!(split_deals_credit_each_share_and_count_once, bad_shares_get_clear_errors);
