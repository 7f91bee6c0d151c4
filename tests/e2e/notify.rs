//! Alerts reaching people, end to end: the guide's story (rep 1's RED
//! alert on January 16 — ¥40,000 booked, below the ¥50,000 milestone —
//! reaches the region A manager's DingTalk robot in Chinese, through the
//! gateway), and notify killed with SIGKILL while it
//! delivers — nothing lost, a repeat only of the message in flight and with
//! the same delivery key.

use std::{collections::BTreeMap, time::Duration};

use crate::support::{
    Suite,
    process::{channel, free_port, serve, url, wait_healthy},
};
use attain_kit::{
    auth::Role,
    both_backends,
    http_client::request,
    testing::{Backend, fresh_database_url, notify_key_file, receivers::HttpReceiver, seed_flat_region, token},
};
use attain_proto::attain::{
    notify::v1::{self as npb, notify_service_client::NotifyServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use tonic::{Request, transport::Channel};

fn as_<T>(person: &str, role: Role, unit: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

const OPS_SECRET: &str = "ops-secret-held-by-the-deployment";

fn robot(url: String, secret: &str) -> npb::Channel {
    npb::Channel {
        kind: Some(npb::channel::Kind::Dingtalk(npb::RobotChannel {
            url,
            secret: secret.into(),
            secret_env: String::new(),
        })),
        ..Default::default()
    }
}

async fn the_guides_red_alert_reaches_region_a_on_dingtalk(backend: Backend) {
    let suite = Suite::with_demo(backend).await;
    let gw = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let ding = HttpReceiver::start(r#"{"errcode":0,"errmsg":"ok"}"#).await;
    let mut n = NotifyServiceClient::new(gw);
    // The region A manager sets up the team's robot, asking to hear of
    // what is already open.
    let sub = npb::Subscription {
        unit: "units/region-a".into(),
        channel: Some(robot(ding.url("/robot/send?access_token=region-a"), "SECregiona")),
        ..Default::default()
    };
    let req = npb::CreateSubscriptionRequest {
        subscription: Some(sub),
        request_id: "wang-robot".into(),
        send_open_alerts: true,
    };
    // The demo's alerts are read from tracking's feed as they open; give
    // notify a moment to have them.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sub = n.create_subscription(as_("wang", Role::Manager, "region-a", req)).await.unwrap().into_inner();
    let start = std::time::Instant::now();
    let red = loop {
        let got = ding.received();
        if let Some(r) =
            got.iter().find(|r| r.json()["markdown"]["text"].as_str().unwrap_or("").contains("(rep-1) 未达里程碑"))
        {
            break r.clone();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "rep 1's alert never arrived: {got:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let text = red.json()["markdown"]["text"].as_str().unwrap().to_owned();
    // Below the 50% milestone of the 15th (¥50,000 of January's ¥100,000).
    assert!(text.starts_with("**【红灯预警】Rep 1 张伟 (rep-1) 未达里程碑（2024-01）**"), "{text}");
    assert!(text.contains("实际 ¥40,000.00，应完成 ¥50,000.00"), "{text}");
    assert!(text.contains("#unit=units%2Frep%2D1&period=2024%2D01&lang=zh"), "{text}");
    assert!(red.query("sign").is_some() && red.query("timestamp").is_some(), "signed: {}", red.path);

    // The manager reads the deliveries over REST, as a page would.
    let id = sub.name.strip_prefix("subscriptions/").unwrap();
    let headers = [("authorization", format!("Bearer {}", token("wang", Role::Manager, "region-a")))];
    let reply =
        request(suite.gateway.addr, "GET", &format!("/v1/subscriptions/{id}/deliveries"), &headers, b"").await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let listed = reply.json();
    assert!(listed["deliveries"].as_array().unwrap().iter().any(|d| d["unit"] == "units/rep-1"), "{listed}");
    // A rep cannot see them.
    let rep = [("authorization", format!("Bearer {}", token("rep-1", Role::Rep, "rep-1")))];
    let denied =
        request(suite.gateway.addr, "GET", &format!("/v1/subscriptions/{id}/deliveries"), &rep, b"").await.unwrap();
    assert_eq!(denied.status, 403);
}

both_backends!(the_guides_red_alert_reaches_region_a_on_dingtalk);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_notify_mid_delivery_loses_nothing() {
    let dir = std::env::temp_dir().join(format!("attain-notify-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pt, pk, pn) = (free_port(), free_port(), free_port());
    let today = ("APP__CLOCK__TODAY", "2024-01-16".to_owned());
    let _target = serve("target", pt, &dir, &[("APP__DATABASE__URL", fresh_database_url(Backend::Postgres).await)]);
    wait_healthy(pt).await;
    seed_flat_region(channel(pt).await, 12, "1200000").await;
    let _tracking = serve(
        "tracking",
        pk,
        &dir,
        &[
            ("APP__DATABASE__URL", fresh_database_url(Backend::Postgres).await),
            ("APP__UPSTREAM__TARGET_URL", url(pt)),
            today.clone(),
        ],
    );
    wait_healthy(pk).await;
    let notify_env = vec![
        ("APP__DATABASE__URL", fresh_database_url(Backend::Postgres).await),
        ("APP__UPSTREAM__TARGET_URL", url(pt)),
        ("APP__UPSTREAM__TRACKING_URL", url(pk)),
        ("APP__JOBS__SERVICE_TOKEN", token("svc-notify", Role::Admin, "")),
        ("APP__NOTIFY__SECRETS_KEY_FILE", notify_key_file()),
        ("APP__NOTIFY__ALLOW_INSECURE_WEBHOOKS", "true".to_owned()),
        ("APP__NOTIFY__RETRY_BASE_MS", "100".to_owned()),
        // A robot secret held by the deployment, named by an admin.
        ("NOTIFY_SECRET_OPS_HOOK", OPS_SECRET.to_owned()),
        today,
    ];
    let mut notify = serve("notify", pn, &dir, &notify_env);
    wait_healthy(pn).await;

    // A slow receiver: each message takes 250 ms to be taken.
    let hook = HttpReceiver::start("").await;
    hook.delay(Duration::from_millis(250));
    let ops_hook = HttpReceiver::start("").await;
    let mut n = NotifyServiceClient::new(channel(pn).await);
    let sub = npb::Subscription {
        unit: "units/region-a".into(),
        channel: Some(npb::Channel {
            kind: Some(npb::channel::Kind::Webhook(npb::RobotChannel {
                url: hook.url("/attain"),
                secret: "hook-secret-0123456789".into(),
                secret_env: String::new(),
            })),
            ..Default::default()
        }),
        rules: vec![kpb::AlertRule::BehindPace as i32],
        ..Default::default()
    };
    let ops_sub = npb::Subscription {
        unit: "units/acme".into(),
        channel: Some(npb::Channel {
            kind: Some(npb::channel::Kind::Webhook(npb::RobotChannel {
                url: ops_hook.url("/ops"),
                secret: String::new(),
                secret_env: "NOTIFY_SECRET_OPS_HOOK".into(),
            })),
            ..Default::default()
        }),
        ..sub.clone()
    };
    let req = npb::CreateSubscriptionRequest { subscription: Some(sub), ..Default::default() };
    let sub = n.create_subscription(as_("wang", Role::Manager, "region-a", req)).await.unwrap().into_inner();
    let req = npb::CreateSubscriptionRequest { subscription: Some(ops_sub), ..Default::default() };
    n.create_subscription(as_("ops", Role::Admin, "", req)).await.unwrap();
    let mut k = TrackingServiceClient::new(channel(pk).await);
    let evaluate = kpb::EvaluateAlertsRequest { unit: "units/acme".into(), ..Default::default() };
    let changed = k.evaluate_alerts(as_("ops", Role::Admin, "", evaluate)).await.unwrap().into_inner().changed;
    let behind: Vec<&kpb::Alert> = changed
        .iter()
        .filter(|a| a.rule == kpb::AlertRule::BehindPace as i32 && a.unit_path.iter().any(|u| u == "units/region-a"))
        .collect();
    assert!(behind.len() >= 10, "{} alerts", behind.len());

    // SIGKILL once a few are through, mid-stream.
    hook.wait_ok(3, Duration::from_secs(20)).await;
    notify.kill();
    // While it is down, an alert resolves: a change it must still read.
    let resolve = kpb::ResolveAlertRequest { name: behind[0].name.clone(), ..Default::default() };
    k.resolve_alert(as_("ops", Role::Admin, "", resolve)).await.unwrap();
    let mut notify = serve("notify", pn, &dir, &notify_env);
    wait_healthy(pn).await;

    // Every alert, and the resolution, arrive; a key seen twice is only
    // the message in flight at the kill, repeated with the same key.
    let expected = behind.len() + 1;
    let start = std::time::Instant::now();
    let by_key = loop {
        let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
        for r in hook.received().iter().filter(|r| r.status == 200) {
            *by_key.entry(r.header("x-attain-delivery").unwrap().to_owned()).or_default() += 1;
        }
        if by_key.len() >= expected {
            break by_key;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{} of {expected} arrived", by_key.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(by_key.len(), expected, "nothing lost, nothing extra: {by_key:?}");
    let repeated: Vec<_> = by_key.iter().filter(|(_, c)| **c > 1).collect();
    assert!(repeated.len() <= 1 && repeated.iter().all(|(_, c)| **c == 2), "only the one in flight: {repeated:?}");
    let mut n = NotifyServiceClient::new(channel(pn).await);
    let list = npb::ListDeliveriesRequest { parent: sub.name.clone(), page_size: 100, ..Default::default() };
    let rows = n.list_deliveries(as_("wang", Role::Manager, "region-a", list)).await.unwrap().into_inner().deliveries;
    assert_eq!(rows.len(), expected);
    assert!(rows.iter().all(|d| d.state == npb::DeliveryState::Sent as i32), "{rows:?}");
    // The admin's hook is signed with the secret from the environment.
    let got = ops_hook.wait_ok(1, Duration::from_secs(20)).await;
    let sig = got[0].header("x-attain-signature").unwrap();
    let (t, v1) = sig.split_once(",v1=").unwrap();
    let mut signed = format!("{}.", t.trim_start_matches("t=")).into_bytes();
    signed.extend_from_slice(&got[0].body);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, OPS_SECRET.as_bytes());
    assert_eq!(v1, hex::encode(ring::hmac::sign(&key, &signed).as_ref()), "signed with NOTIFY_SECRET_OPS_HOOK");
    notify.kill();
    crate::support::reliability_claim(&format!(
        "| `killing_notify_mid_delivery_loses_nothing` | {expected} alert changes to a slow webhook | 1 SIGKILL mid-delivery, 1 change while down | all {expected} delivered; at most the one in flight repeated, with its key |"
    ));
}
