//! Scope after subscribing: a subscription keeps its owner's role and unit
//! and stops when they no longer hold — the owner back with another token,
//! or the tree changed under them.

use std::time::Duration;

use attain_kit::{
    auth::Role,
    both_backends,
    testing::{Backend, receivers::HttpReceiver},
};
use attain_proto::attain::{notify::v1 as pb, target::v1 as tpb, tracking::v1::ResolveAlertRequest};
use tonic::Code;

use crate::helpers::{deliveries, dingtalk, spawn, subscribe, wait_state};

const OK: &str = r#"{"errcode":0,"errmsg":"ok"}"#;

async fn subscription(n: &mut crate::helpers::Notify, name: &str) -> pb::Subscription {
    n.get_subscription(pb::GetSubscriptionRequest { name: name.into() }).await.unwrap().into_inner()
}

async fn a_new_role_or_unit_suspends_what_the_old_one_subscribed(backend: Backend) {
    let suite = spawn(backend, 2, |_| {}).await;
    let robot = HttpReceiver::start(OK).await;
    let mut wang = suite.manager();
    let mut one = dingtalk(&robot.url("/robot/send?access_token=region-a"), "SEC");
    one.unit = "units/rep-0".into();
    let sub = subscribe(&mut wang, one).await;
    assert_eq!((sub.owner_role.as_str(), sub.owner_unit.as_str()), ("MANAGER", "units/region-a"));
    suite.evaluate().await;
    let sent = wait_state(&mut wang, &sub.name, pb::DeliveryState::Sent, 1).await;

    // Wang is a rep now (the identity provider says so): the manager's
    // subscription stops, and its deliveries — alerts of a unit a rep may
    // not read — are no longer Wang's to list or send again.
    let mut wang_rep = suite.notify("wang", Role::Rep, "rep-1");
    let listed = wang_rep.list_subscriptions(pb::ListSubscriptionsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.subscriptions.len(), 1);
    let s = &listed.subscriptions[0];
    assert_eq!(s.state, pb::SubscriptionState::Suspended as i32);
    assert!(
        s.state_reason.contains("made as MANAGER of units/region-a; wang now signs in as REP of units/rep-1"),
        "{}",
        s.state_reason
    );
    assert!(deliveries(&mut wang_rep, "subscriptions/-", &[]).await.is_empty(), "nothing of region A is listed");
    assert!(deliveries(&mut wang_rep, &sub.name, &[]).await.is_empty());
    let e = wang_rep.redrive_delivery(pb::RedriveDeliveryRequest { name: sent[0].name.clone() }).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("suspended"), "{}", e.message());
    // Nothing more is sent: the alert resolves, the robot hears nothing.
    let resolve = ResolveAlertRequest { name: sent[0].event.clone(), ..Default::default() };
    suite.tracking().resolve_alert(resolve).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(robot.wait_ok(1, Duration::from_secs(5)).await.len(), 1, "{:?}", robot.received());
    // Back as the manager: it stays suspended (subscribe again, knowingly).
    assert_eq!(subscription(&mut wang, &sub.name).await.state, pb::SubscriptionState::Suspended as i32);
    // An admin sees it too, with why.
    let mut ops = suite.notify("ops", Role::Admin, "");
    assert!(!subscription(&mut ops, &sub.name).await.state_reason.is_empty());
}

both_backends!(a_new_role_or_unit_suspends_what_the_old_one_subscribed);

async fn a_unit_moved_out_of_the_subtree_suspends_within_a_pass(backend: Backend) {
    let suite = spawn(backend, 2, |s| s.notify.pass_interval_ms = 200).await;
    let robot = HttpReceiver::start(OK).await;
    let mut wang = suite.manager();
    let mut one = dingtalk(&robot.url("/robot/send?access_token=region-a"), "SEC");
    one.unit = "units/rep-0".into();
    let sub = subscribe(&mut wang, one).await;
    let whole = subscribe(&mut wang, dingtalk(&robot.url("/robot/send?access_token=region-a"), "SEC")).await;

    // rep-0 moves out of region A, to report to the company directly; Wang
    // manages region A only.
    let mut org = suite.org();
    let rep = org.get_unit(tpb::GetUnitRequest { name: "units/rep-0".into() }).await.unwrap().into_inner();
    let mv = tpb::MoveUnitRequest {
        name: rep.name.clone(),
        new_parent: "units/acme".into(),
        etag: rep.etag,
        ..Default::default()
    };
    org.move_unit(mv).await.unwrap();

    let start = std::time::Instant::now();
    let s = loop {
        let s = subscription(&mut wang, &sub.name).await;
        if s.state == pb::SubscriptionState::Suspended as i32 {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never suspended: {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(s.state_reason.contains("units/rep-0 is no longer within"), "{}", s.state_reason);
    assert_eq!(subscription(&mut wang, &whole.name).await.state, pb::SubscriptionState::Active as i32);
    // rep-0's alerts reach nobody in region A now; rep-1's still do.
    suite.evaluate().await;
    let got = wait_state(&mut wang, &whole.name, pb::DeliveryState::Sent, 1).await;
    assert!(got.iter().all(|d| !d.text.contains("rep-0")), "{got:?}");
    assert!(deliveries(&mut wang, &sub.name, &[]).await.is_empty());
}

both_backends!(a_unit_moved_out_of_the_subtree_suspends_within_a_pass);
