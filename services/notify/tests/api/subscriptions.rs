//! Subscribing as people do and as an attacker would: bad input names its
//! field, secrets are sealed at rest and never read back, and each person
//! sees only their own subscriptions and deliveries.

use attain_kit::{
    auth::Role,
    both_backends,
    testing::{Backend, receivers::HttpReceiver},
};
use attain_proto::attain::{
    common::v1 as common,
    notify::v1::{self as pb, channel::Kind},
};
use sea_orm::{ConnectionTrait, Database, Statement};
use tonic::Code;

use crate::helpers::{Notify, dingtalk, spawn, subscribe, with_channel};

fn robot(url: &str) -> pb::RobotChannel {
    pb::RobotChannel { url: url.into(), secret: String::new(), secret_env: String::new() }
}

async fn refused(n: &mut Notify, s: pb::Subscription) -> tonic::Status {
    n.create_subscription(pb::CreateSubscriptionRequest { subscription: Some(s), ..Default::default() })
        .await
        .expect_err("should be refused")
}

/// The field an INVALID_ARGUMENT names (its BadRequest detail).
fn field_of(s: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    s.get_details_bad_request()
        .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
        .unwrap_or_else(|| panic!("no field named: {s:?}"))
}

async fn bad_input_names_the_field(backend: Backend) {
    // Production: https to public hosts only.
    let suite = spawn(backend, 3, |s| s.notify.allow_insecure_webhooks = false).await;
    let mut wang = suite.manager();
    let cases: Vec<(pb::Subscription, &str)> = vec![
        (dingtalk("http://oapi.dingtalk.com/robot/send?access_token=x", "SEC1"), "subscription.channel.dingtalk.url"),
        (dingtalk("https://127.0.0.1/robot/send?access_token=x", "SEC1"), "subscription.channel.dingtalk.url"),
        (dingtalk("https://169.254.169.254/latest/meta-data", ""), "subscription.channel.dingtalk.url"),
        (dingtalk("https://localhost:8080/hook", ""), "subscription.channel.dingtalk.url"),
        (
            with_channel(Kind::Wecom(robot("https://qyapi.weixin.qq.com/cgi-bin/webhook/send"))),
            "subscription.channel.wecom.url",
        ),
        (with_channel(Kind::Webhook(robot("https://hooks.example.com/attain"))), "subscription.channel.webhook.secret"),
        (
            with_channel(Kind::Slack(pb::RobotChannel {
                secret: "x".into(),
                ..robot("https://hooks.slack.com/services/T/B/X")
            })),
            "subscription.channel.slack.secret",
        ),
        (
            with_channel(Kind::Dingtalk(pb::RobotChannel {
                url: "https://oapi.dingtalk.com/robot/send?access_token=x".into(),
                secret: "SEC1".into(),
                secret_env: "NOTIFY_SECRET_X".into(),
            })),
            "subscription.channel.dingtalk.secret",
        ),
        (
            with_channel(Kind::Dingtalk(pb::RobotChannel {
                url: "https://oapi.dingtalk.com/robot/send?access_token=x".into(),
                secret: String::new(),
                secret_env: "APP__AUTH__HS256_SECRET".into(),
            })),
            "subscription.channel.dingtalk.secret_env",
        ),
        (pb::Subscription { channel: None, ..dingtalk("", "") }, "subscription.channel"),
    ];
    for (s, field) in cases {
        let e = refused(&mut wang, s.clone()).await;
        assert_eq!(e.code(), Code::InvalidArgument, "{s:?}: {e:?}");
        assert_eq!(field_of(&e), field, "{e:?}");
    }
    let ok = || dingtalk("https://oapi.dingtalk.com/robot/send?access_token=x", "SEC1");
    type Tweak = Box<dyn Fn(&mut pb::Subscription)>;
    let tweaks: Vec<(Tweak, &str)> = vec![
        (
            Box::new(|s| s.quiet_hours = Some(pb::QuietHours { start: "22:00".into(), end: "25:00".into() })),
            "subscription.quiet_hours.end",
        ),
        (
            Box::new(|s| s.quiet_hours = Some(pb::QuietHours { start: "late".into(), end: "08:00".into() })),
            "subscription.quiet_hours.start",
        ),
        (
            Box::new(|s| s.quiet_hours = Some(pb::QuietHours { start: "08:00".into(), end: "08:00".into() })),
            "subscription.quiet_hours",
        ),
        (Box::new(|s| s.time_zone = "Mars/Olympus_Mons".into()), "subscription.time_zone"),
        (Box::new(|s| s.digest_hour = Some(25)), "subscription.digest_hour"),
        (Box::new(|s| s.digest_hour = Some(-1)), "subscription.digest_hour"),
        (
            Box::new(|s| {
                s.quiet_hours = Some(pb::QuietHours { start: "22:00".into(), end: "08:00".into() });
                s.digest_hour = Some(7);
            }),
            "subscription.digest_hour",
        ),
        (Box::new(|s| s.rules = vec![99]), "subscription.rules[0]"),
        (Box::new(|s| s.least_severity = common::Status::Green as i32), "subscription.least_severity"),
        (Box::new(|s| s.language = "fr".into()), "subscription.language"),
        (Box::new(|s| s.money_unit = "usd".into()), "subscription.money_unit"),
        (Box::new(|s| s.unit = "region-a".into()), "subscription.unit"),
    ];
    for (tweak, field) in tweaks {
        let mut s = ok();
        tweak(&mut s);
        let e = refused(&mut wang, s).await;
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert_eq!(field_of(&e), field, "{e:?}");
    }
    // Scope: a manager of region A cannot subscribe to the company or to
    // region B; a rep only to itself.
    for unit in ["units/acme", "units/rep-0-nonexistent"] {
        let mut s = ok();
        s.unit = unit.into();
        let e = refused(&mut wang, s).await;
        assert_eq!(e.code(), Code::PermissionDenied, "{unit}: {e:?}");
    }
    let mut rep = suite.notify("rep-0", Role::Rep, "rep-0");
    let mut s = ok();
    s.unit = "units/rep-1".into();
    assert_eq!(refused(&mut rep, s).await.code(), Code::PermissionDenied);
    let mut own = ok();
    own.unit = String::new();
    let mine = subscribe(&mut rep, own).await;
    assert_eq!(mine.unit, "units/rep-0", "a rep's subscription defaults to its own unit");
    // A secret held by the service is an admin's to name: anyone else
    // could have messages signed with another team's robot secret.
    let mut env = ok();
    env.channel = with_channel(Kind::Dingtalk(pb::RobotChannel {
        url: "https://oapi.dingtalk.com/robot/send?access_token=x".into(),
        secret: String::new(),
        secret_env: "NOTIFY_SECRET_REGION_B".into(),
    }))
    .channel;
    assert_eq!(refused(&mut wang, env.clone()).await.code(), Code::PermissionDenied);
    let mut admin = suite.notify("ops", Role::Admin, "");
    // A variable the deployment does not have would fail every send (one
    // it has signs: tests/e2e/notify.rs).
    let unset = refused(&mut admin, env).await;
    assert_eq!(field_of(&unset), "subscription.channel.dingtalk.secret_env");
    assert!(unset.message().contains("NOTIFY_SECRET_REGION_B is not set"), "{}", unset.message());
    // E-mail needs a relay this deployment does not have.
    let mail = with_channel(Kind::Email(pb::EmailChannel { address: "wang@example.com".into() }));
    assert_eq!(refused(&mut wang, mail).await.code(), Code::FailedPrecondition);
    let ok = subscribe(&mut wang, ok()).await;
    assert_eq!(ok.least_severity, common::Status::Yellow as i32, "the default least severity");
    assert_eq!(ok.time_zone, "Asia/Shanghai", "the organisation's zone by default");
    assert_eq!(ok.language, "zh");
}

both_backends!(bad_input_names_the_field);

async fn secrets_are_sealed_and_never_read_back(backend: Backend) {
    let suite = spawn(backend, 3, |_| {}).await;
    let mut wang = suite.manager();
    let url = "https://oapi.dingtalk.com/robot/send?access_token=TOKENMARKER0001";
    let mut s = dingtalk(url, "SECMARKER0002");
    s.quiet_hours = Some(pb::QuietHours { start: "22:00".into(), end: "08:00".into() });
    let created = subscribe(&mut wang, s).await;
    let fetched = wang.get_subscription(pb::GetSubscriptionRequest { name: created.name.clone() }).await.unwrap();
    let listed = wang.list_subscriptions(pb::ListSubscriptionsRequest::default()).await.unwrap().into_inner();
    for shown in [format!("{created:?}"), format!("{:?}", fetched.get_ref()), format!("{listed:?}")] {
        assert!(!shown.contains("TOKENMARKER") && !shown.contains("SECMARKER"), "a secret was read back: {shown}");
    }
    let ch = created.channel.unwrap();
    assert_eq!(ch.endpoint, "https://oapi.dingtalk.com/…", "the host only: a path may be a key");
    assert!(ch.secret_set);
    // At rest: no column of any row holds either secret in the clear.
    let db = Database::connect(&suite.notify_db).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT * FROM subscriptions"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let dump = format!("{rows:?}");
    assert!(!dump.contains("TOKENMARKER") && !dump.contains("SECMARKER"), "stored in the clear: {dump}");
}

both_backends!(secrets_are_sealed_and_never_read_back);

async fn each_person_sees_only_their_own(backend: Backend) {
    let suite = spawn(backend, 3, |_| {}).await;
    let robot = HttpReceiver::start(r#"{"errcode":0,"errmsg":"ok"}"#).await;
    let url = &robot.url("/robot/send?access_token=x");
    let mut wang = suite.manager();
    let mut li = suite.notify("li", Role::Manager, "region-a");
    let mut rep = suite.notify("rep-0", Role::Rep, "rep-0");
    let mut admin = suite.notify("ops", Role::Admin, "");
    let w = subscribe(&mut wang, dingtalk(url, "")).await;
    let l = subscribe(&mut li, dingtalk(url, "")).await;
    let mut own = dingtalk(url, "");
    own.unit = "units/rep-0".into();
    let r = subscribe(&mut rep, own).await;
    let names = |n: pb::ListSubscriptionsResponse| n.subscriptions.into_iter().map(|s| s.name).collect::<Vec<_>>();
    let list = pb::ListSubscriptionsRequest::default;
    assert_eq!(names(wang.list_subscriptions(list()).await.unwrap().into_inner()), vec![w.name.clone()]);
    assert_eq!(names(rep.list_subscriptions(list()).await.unwrap().into_inner()), vec![r.name.clone()]);
    assert_eq!(names(admin.list_subscriptions(list()).await.unwrap().into_inner()).len(), 3);
    // A second manager of the same unit reads, deletes or lists the
    // deliveries of the first's subscription: hidden alike.
    let get = li.get_subscription(pb::GetSubscriptionRequest { name: w.name.clone() }).await.unwrap_err();
    assert_eq!(get.code(), Code::PermissionDenied);
    let del = li.delete_subscription(pb::DeleteSubscriptionRequest { name: w.name.clone(), etag: String::new() });
    assert_eq!(del.await.unwrap_err().code(), Code::PermissionDenied);
    let req = pb::ListDeliveriesRequest { parent: w.name.clone(), ..Default::default() };
    assert_eq!(li.list_deliveries(req).await.unwrap_err().code(), Code::PermissionDenied);
    let missing = format!("{}x", w.name);
    let e = li.get_subscription(pb::GetSubscriptionRequest { name: missing }).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "missing and forbidden look alike");

    // Alerts open: each delivery is its owner's, and "subscriptions/-"
    // lists only one's own.
    suite.evaluate().await;
    crate::helpers::wait_state(&mut wang, &w.name, pb::DeliveryState::Sent, 1).await;
    crate::helpers::wait_state(&mut rep, &r.name, pb::DeliveryState::Sent, 1).await;
    let all = |n: &mut Notify| {
        let mut n = n.clone();
        async move {
            let r =
                pb::ListDeliveriesRequest { parent: "subscriptions/-".into(), page_size: 1000, ..Default::default() };
            n.list_deliveries(r).await.unwrap().into_inner().deliveries
        }
    };
    let mine = all(&mut rep).await;
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|d| d.name.starts_with(&r.name) && d.unit == "units/rep-0"), "{mine:?}");
    assert!(all(&mut li).await.iter().all(|d| d.name.starts_with(&l.name)));
    assert!(all(&mut wang).await.iter().all(|d| d.name.starts_with(&w.name)));

    // Deleting: kept, DELETED, its waiting deliveries cancelled; a stale
    // etag is refused.
    let stale = wang.delete_subscription(pb::DeleteSubscriptionRequest { name: w.name.clone(), etag: "0".into() });
    assert_eq!(stale.await.unwrap_err().code(), Code::Aborted);
    let d = wang
        .delete_subscription(pb::DeleteSubscriptionRequest { name: w.name.clone(), etag: w.etag.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.state, pb::SubscriptionState::Deleted as i32);
    assert!(names(wang.list_subscriptions(list()).await.unwrap().into_inner()).is_empty());
    let shown = wang
        .list_subscriptions(pb::ListSubscriptionsRequest { show_deleted: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(shown), vec![w.name.clone()]);
    let left = crate::helpers::deliveries(&mut wang, &w.name, &[]).await;
    assert!(!left.is_empty());
    assert!(
        left.iter()
            .all(|d| d.state == pb::DeliveryState::Cancelled as i32 || d.state == pb::DeliveryState::Sent as i32),
        "{left:?}"
    );
}

both_backends!(each_person_sees_only_their_own);

async fn a_retried_create_is_one_subscription(backend: Backend) {
    let suite = spawn(backend, 1, |_| {}).await;
    let mut wang = suite.manager();
    let s = dingtalk("https://oapi.dingtalk.com/robot/send?access_token=x", "SEC1");
    let req = |s: pb::Subscription| pb::CreateSubscriptionRequest {
        subscription: Some(s),
        request_id: "r-1".into(),
        ..Default::default()
    };
    let a = wang.create_subscription(req(s.clone())).await.unwrap().into_inner();
    let b = wang.create_subscription(req(s.clone())).await.unwrap().into_inner();
    assert_eq!(a, b);
    let mut other = s;
    other.language = "en".into();
    let e = wang.create_subscription(req(other)).await.unwrap_err();
    assert!(matches!(e.code(), Code::InvalidArgument | Code::FailedPrecondition | Code::AlreadyExists), "{e:?}");
    let n = wang.list_subscriptions(pb::ListSubscriptionsRequest::default()).await.unwrap().into_inner();
    assert_eq!(n.subscriptions.len(), 1);
}

both_backends!(a_retried_create_is_one_subscription);
