//! Tracking keeps the target service's answers per data version and
//! caller: a change in the target service is in the very next read (no
//! lag, no stale figure), and one caller's kept answers never serve
//! another.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1 as pb,
};
use tonic::Code;

use crate::helpers::{bearer, spawn_suite};

fn children(unit: &str) -> pb::ListChildAttainmentsRequest {
    pb::ListChildAttainmentsRequest { unit: format!("units/{unit}"), period: "2024-01".into(), ..Default::default() }
}

fn target_of(a: &pb::ListChildAttainmentsResponse, unit: &str) -> String {
    let row = a.children.iter().find(|c| c.unit == format!("units/{unit}")).unwrap();
    row.target.as_ref().unwrap().amount.clone()
}

async fn a_target_change_is_in_the_next_read(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.tracking("wang", Role::Manager, "region-a");
    // Read twice: the second is answered from what the first kept.
    for _ in 0..2 {
        let a = manager.list_child_attainments(children("region-a")).await.unwrap().into_inner();
        assert_eq!(a.children.len(), 3);
        assert_eq!(target_of(&a, "rep-1"), "100000.00");
    }

    // A new rep: the region's members change.
    let mut org = OrgServiceClient::with_interceptor(s.target_channel(), bearer("ops", Role::Admin, ""));
    org.create_unit(tpb::CreateUnitRequest {
        unit: Some(tpb::Unit {
            parent: "units/region-a".into(),
            kind: tpb::UnitKind::Rep as i32,
            display_name: "rep-4".into(),
            ..Default::default()
        }),
        unit_id: "rep-4".into(),
        request_id: String::new(),
    })
    .await
    .unwrap();
    let a = manager.list_child_attainments(children("region-a")).await.unwrap().into_inner();
    assert_eq!(a.children.len(), 4, "the rep created a moment ago is a member: {:?}", a.children);

    // A target cut, approved: the figure moves at once.
    let mut as_rep = TargetServiceClient::with_interceptor(s.target_channel(), bearer("rep-1", Role::Rep, "rep-1"));
    let adj = as_rep
        .create_adjustment(tpb::CreateAdjustmentRequest {
            parent: "plans/fy2024".into(),
            adjustment: Some(tpb::Adjustment {
                target: "plans/fy2024/targets/rep-1".into(),
                change: Some(tpb::adjustment::Change::ChangePercent("-10".into())),
                reason: tpb::AdjustmentReason::Policy as i32,
                justification: "渠道政策调整".into(),
                redistribution: tpb::Redistribution::ParentAbsorbs as i32,
                effective_date: "2024-01-01".into(),
                ..Default::default()
            }),
            request_id: "cut".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut as_manager =
        TargetServiceClient::with_interceptor(s.target_channel(), bearer("wang", Role::Manager, "region-a"));
    as_manager
        .approve_adjustment(tpb::ApproveAdjustmentRequest {
            name: adj.name.clone(),
            etag: adj.etag.clone(),
            note: "ok".into(),
            request_id: "approve".into(),
        })
        .await
        .unwrap();
    let a = manager.list_child_attainments(children("region-a")).await.unwrap().into_inner();
    assert_eq!(target_of(&a, "rep-1"), "90000.00");
}

async fn one_callers_answers_never_serve_another(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut a_manager = s.tracking("wang", Role::Manager, "region-a");
    let mut b_manager = s.tracking("li", Role::Manager, "region-b");
    let ask =
        || pb::GetAttainmentRequest { unit: "units/rep-1".into(), period: "2024-01".into(), ..Default::default() };
    for _ in 0..2 {
        a_manager.get_attainment(ask()).await.unwrap();
        let refused = b_manager.get_attainment(ask()).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        let a = b_manager.list_child_attainments(children("region-b")).await.unwrap().into_inner();
        assert!(a.children.iter().all(|c| c.unit == "units/rep-9"), "{:?}", a.children);
    }
}

both_backends!(a_target_change_is_in_the_next_read);
both_backends!(one_callers_answers_never_serve_another);
