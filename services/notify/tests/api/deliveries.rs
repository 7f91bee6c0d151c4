//! Alerts reaching people: every channel signed as its platform documents
//! (checked by the receiving side), e-mail over STARTTLS, retries with
//! backoff then DEAD and a redrive, quiet hours and digests on the
//! subscriber's clock, a robot's rate limit.

use std::time::Duration;

use attain_kit::{
    auth::Role,
    both_backends,
    testing::{
        Backend,
        receivers::{HttpReceiver, Received, SmtpReceiver},
    },
};
use attain_proto::attain::{
    common::v1 as common,
    notify::v1::{self as pb, channel::Kind},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use tonic::Code;

use crate::helpers::{behind_in_region, deliveries, dingtalk, spawn, subscribe, wait_state, with_channel};

const OK: &str = r#"{"errcode":0,"errmsg":"ok"}"#;
const WAIT: Duration = Duration::from_secs(20);

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), msg).as_ref().to_vec()
}

fn robot(url: String, secret: &str) -> pb::RobotChannel {
    pb::RobotChannel { url, secret: secret.into(), secret_env: String::new() }
}

/// DingTalk: `timestamp` (ms) and `sign` = base64(HMAC-SHA256(secret,
/// "{timestamp}\n{secret}")) in the query, fresh.
fn check_dingtalk(r: &Received, secret: &str) {
    let ts = r.query("timestamp").expect("timestamp");
    let sign = r.query("sign").expect("sign");
    assert_eq!(sign, STANDARD.encode(hmac(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes())));
    let age = chrono::Utc::now().timestamp_millis() - ts.parse::<i64>().unwrap();
    assert!((0..60_000).contains(&age), "DingTalk refuses a timestamp an hour off; this one is {age} ms old");
    assert_eq!(r.query("access_token").as_deref(), Some("robot-token"));
}

async fn every_channel_signs_as_its_platform_documents(backend: Backend) {
    let smtp = SmtpReceiver::start().await;
    let ca = std::env::temp_dir().join(format!("attain-smtp-ca-{}.pem", uuid::Uuid::new_v4().simple()));
    std::fs::write(&ca, &smtp.ca_pem).unwrap();
    let suite = spawn(backend, 2, |s| {
        s.notify.smtp_relay = Some(smtp.addr.to_string());
        s.notify.smtp_ca_file = Some(ca.display().to_string());
        s.notify.smtp_from = "attain@example.com".into();
    })
    .await;
    let (ding, feishu, wecom, slack, hook) = (
        HttpReceiver::start(OK).await,
        HttpReceiver::start(r#"{"code":0,"msg":"success"}"#).await,
        HttpReceiver::start(OK).await,
        HttpReceiver::start("ok").await,
        HttpReceiver::start("").await,
    );
    let mut wang = suite.manager();
    let d = subscribe(&mut wang, dingtalk(&ding.url("/robot/send?access_token=robot-token"), "SECding")).await;
    let f = subscribe(
        &mut wang,
        with_channel(Kind::Feishu(robot(feishu.url("/open-apis/bot/v2/hook/abc"), "feishu-secret"))),
    )
    .await;
    let w =
        subscribe(&mut wang, with_channel(Kind::Wecom(robot(wecom.url("/cgi-bin/webhook/send?key=wecom-key"), ""))))
            .await;
    let mut en = with_channel(Kind::Slack(robot(slack.url("/services/T0/B0/xyz"), "")));
    en.language = "en".into();
    en.money_unit = "wan".into();
    let s = subscribe(&mut wang, en).await;
    let h =
        subscribe(&mut wang, with_channel(Kind::Webhook(robot(hook.url("/attain"), "hook-secret-0123456789")))).await;
    let m =
        subscribe(&mut wang, with_channel(Kind::Email(pb::EmailChannel { address: "wang@example.com".into() }))).await;

    let changed = suite.evaluate().await;
    let n = behind_in_region(&changed).len();
    assert!(n >= 2, "two reps (and their region) fall behind: {changed:?}");

    for r in ding.wait_ok(n, WAIT).await {
        check_dingtalk(&r, "SECding");
        let body = r.json();
        assert_eq!(body["msgtype"], "markdown");
        let text = body["markdown"]["text"].as_str().unwrap();
        assert!(text.contains("落后进度") && text.contains("实际 ¥0.00，应完成 ¥"), "{text}");
        assert!(text.contains("https://attain.example.com/#unit=units%2F"), "{text}");
    }
    for r in feishu.wait_ok(n, WAIT).await {
        let body = r.json();
        let ts = body["timestamp"].as_str().unwrap();
        let expect = STANDARD.encode(hmac(format!("{ts}\nfeishu-secret").as_bytes(), b""));
        assert_eq!(body["sign"], expect.as_str(), "Feishu: HMAC keyed by timestamp\\nsecret of nothing");
        assert_eq!(body["msg_type"], "post", "rich text: Feishu shows Markdown sent as text as it is");
        let post = &body["content"]["post"]["zh_cn"];
        assert!(post["title"].as_str().unwrap().contains("落后进度"), "{post}");
        assert_eq!(post["content"].as_array().unwrap().last().unwrap()[0]["tag"], "a", "the link is a link: {post}");
    }
    for r in wecom.wait_ok(n, WAIT).await {
        assert!(r.path.ends_with("?key=wecom-key"), "{}", r.path);
        assert_eq!(r.json()["msgtype"], "markdown");
    }
    for r in slack.wait_ok(n, WAIT).await {
        let text = r.json()["text"].as_str().unwrap().to_owned();
        assert!(text.contains("Behind pace") && text.contains("10k yuan") && text.contains("lang=en"), "{text}");
        assert!(
            text.starts_with("*[") && text.contains("|Open the dashboard>") && !text.contains("**"),
            "mrkdwn: {text}"
        );
    }
    let mut keys = Vec::new();
    for r in hook.wait_ok(n, WAIT).await {
        let sig = r.header("x-attain-signature").unwrap();
        let (t, v1) = sig.split_once(",v1=").unwrap();
        let t = t.strip_prefix("t=").unwrap();
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(&r.body);
        assert_eq!(
            v1,
            hex::encode(hmac(b"hook-secret-0123456789", &signed)),
            "the signature covers timestamp and body"
        );
        let body = r.json();
        assert_eq!(body["events"][0]["kind"], "alert");
        assert_eq!(body["events"][0]["rule"], "BehindPace");
        assert_eq!(body["events"][0]["actual"]["amount"], "0.00", "money is exact text");
        keys.push(r.header("x-attain-delivery").unwrap().to_owned());
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "each delivery has its own dedupe key");

    let mails = smtp.wait_mails(n, WAIT).await;
    assert_eq!(*smtp.refused_in_clear.lock().unwrap(), 0, "nothing was sent before STARTTLS");
    for mail in &mails {
        assert_eq!(mail.to, vec!["wang@example.com".to_owned()]);
        assert_eq!(mail.from, "attain@example.com");
        let text = decode_mail(&mail.data);
        assert!(text.contains("落后进度"), "{text}");
    }

    // Each subscription's deliveries are SENT once; another evaluation
    // with nothing new sends nothing more.
    for sub in [&d, &f, &w, &s, &h, &m] {
        wait_state(&mut wang, &sub.name, pb::DeliveryState::Sent, n).await;
    }
    suite.evaluate().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ding.received().len(), n, "no second message for the same change");
    let _ = std::fs::remove_file(ca);
}

both_backends!(every_channel_signs_as_its_platform_documents);

/// A mail's body, its transfer encoding undone.
fn decode_mail(data: &str) -> String {
    let (head, body) = data.split_once("\r\n\r\n").unwrap();
    let head = head.to_ascii_lowercase();
    if head.contains("content-transfer-encoding: base64") {
        String::from_utf8(STANDARD.decode(body.split_whitespace().collect::<String>()).unwrap()).unwrap()
    } else if head.contains("content-transfer-encoding: quoted-printable") {
        let joined = body.replace("=\r\n", "");
        let mut out = Vec::new();
        let b = joined.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' && i + 2 < b.len() {
                out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    } else {
        body.to_owned()
    }
}

async fn retries_back_off_then_dead_then_redrive(backend: Backend) {
    let suite = spawn(backend, 2, |_| {}).await;
    let robot = HttpReceiver::start(OK).await;
    let mut wang = suite.manager();
    // One rep: one alert.
    let mut one = dingtalk(&robot.url("/robot/send?access_token=robot-token"), "SEC");
    one.unit = "units/rep-0".into();
    one.least_severity = common::Status::Red as i32;
    robot.fail_next(3, 500);
    let sub = subscribe(&mut wang, one.clone()).await;
    suite.evaluate().await;
    let sent = wait_state(&mut wang, &sub.name, pb::DeliveryState::Sent, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].attempts, 4, "three 500s, then taken: {sent:?}");
    let got = robot.received();
    assert_eq!(got.iter().filter(|r| r.status == 500).count(), 3);
    assert_eq!(got.iter().filter(|r| r.status == 200).count(), 1, "one message recorded");

    // A robot that keeps refusing (a wrong signing secret) goes DEAD after
    // `max_attempts` with the robot's own words; fixed, a redrive sends it.
    // It asks for RED only, and to hear what is open now.
    let refusing = HttpReceiver::start(r#"{"errcode":310000,"errmsg":"sign not match"}"#).await;
    let mut other = one.clone();
    other.channel = dingtalk(&refusing.url("/robot/send?access_token=other-robot"), "WRONG").channel;
    other.least_severity = common::Status::Red as i32;
    let req = pb::CreateSubscriptionRequest { subscription: Some(other), send_open_alerts: true, ..Default::default() };
    let dead_sub = wang.create_subscription(req).await.unwrap().into_inner();
    let dead = wait_state(&mut wang, &dead_sub.name, pb::DeliveryState::Dead, 1).await;
    assert_eq!(dead[0].attempts, 4);
    assert!(dead[0].last_error.contains("310000"), "{:?}", dead[0].last_error);
    assert_eq!(refusing.received().len(), 4);
    // Metrics: the dead delivery is counted.
    let metrics =
        attain_kit::http_client::request(suite.notify_admin, "GET", "/metrics", &[], b"").await.unwrap().text();
    assert!(metrics.contains(r#"attain_notify_deliveries_total{channel="dingtalk",outcome="dead"} 1"#), "{metrics}");
    assert!(metrics.lines().any(|l| l == "attain_notify_following 1"), "the one replica follows the feed: {metrics}");

    // Resolved: the RED-only robot that heard the alert hears it clear,
    // whatever severity the resolution carries; the one whose opening never
    // got through is not told only that it cleared.
    let alert = sent[0].event.clone();
    let resolve = attain_proto::attain::tracking::v1::ResolveAlertRequest { name: alert, ..Default::default() };
    suite.tracking().resolve_alert(resolve).await.unwrap();
    let got = robot.wait_ok(2, WAIT).await;
    assert!(got[1].json()["markdown"]["text"].as_str().unwrap().contains("预警解除"), "{:?}", got[1].json());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deliveries(&mut wang, &dead_sub.name, &[]).await.len(), 1, "no resolution of what it never heard");

    // Redrive: only the owner (or an admin); a SENT one is refused. The
    // opening, sent again after the alert cleared, says so.
    refusing.reply_with(OK);
    let opened = &dead[0];
    let mut li = suite.notify("li", Role::Manager, "region-a");
    let name = opened.name.clone();
    let e = li.redrive_delivery(pb::RedriveDeliveryRequest { name: name.clone() }).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let again = wang.redrive_delivery(pb::RedriveDeliveryRequest { name: name.clone() }).await.unwrap().into_inner();
    assert_eq!(again.state, pb::DeliveryState::Pending as i32);
    assert_eq!(again.attempts, 0);
    wait_state(&mut wang, &dead_sub.name, pb::DeliveryState::Sent, 1).await;
    // (The refusing robot answered HTTP 200 with its error four times.)
    let got = refusing.wait_ok(5, WAIT).await;
    let text = got[4].json()["markdown"]["text"].as_str().unwrap().to_owned();
    assert!(text.contains("红灯预警") && text.contains("该预警此后已解除"), "{text}");
    let e = wang.redrive_delivery(pb::RedriveDeliveryRequest { name }).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "a sent delivery is not sent again");
    let bad = wang.redrive_delivery(pb::RedriveDeliveryRequest { name: "deliveries/x".into() }).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
}

both_backends!(retries_back_off_then_dead_then_redrive);

async fn quiet_hours_and_digests_on_the_subscribers_clock(backend: Backend) {
    // The organisation's clock stands at 11:59:59 in Shanghai on 2024-01-16.
    let suite = spawn(backend, 2, |s| s.clock.time_of_day = chrono::NaiveTime::from_hms_opt(11, 59, 59)).await;
    let (now_robot, quiet_robot, digest_robot) =
        (HttpReceiver::start(OK).await, HttpReceiver::start(OK).await, HttpReceiver::start(OK).await);
    let mut wang = suite.manager();
    let plain = subscribe(&mut wang, dingtalk(&now_robot.url("/r?access_token=robot-token"), "S")).await;
    // Quiet over lunch in Shanghai: held until 13:30 there.
    let mut quiet = dingtalk(&quiet_robot.url("/r?access_token=robot-token"), "S");
    quiet.quiet_hours = Some(pb::QuietHours { start: "11:30".into(), end: "13:30".into() });
    let quiet = subscribe(&mut wang, quiet).await;
    // The same quiet hours on London's clock (03:59 there): not quiet.
    let mut london = dingtalk(&now_robot.url("/r?access_token=robot-token"), "S");
    london.quiet_hours = Some(pb::QuietHours { start: "11:30".into(), end: "13:30".into() });
    london.time_zone = "Europe/London".into();
    let london = subscribe(&mut wang, london).await;
    // A digest at noon in Shanghai: one second from now.
    let mut digest = dingtalk(&digest_robot.url("/r?access_token=robot-token"), "S");
    digest.digest_hour = Some(12);
    digest.language = "en".into();
    let digest = subscribe(&mut wang, digest).await;

    let changed = suite.evaluate().await;
    let n = behind_in_region(&changed).len();
    wait_state(&mut wang, &plain.name, pb::DeliveryState::Sent, n).await;
    wait_state(&mut wang, &london.name, pb::DeliveryState::Sent, n).await;
    let held = deliveries(&mut wang, &quiet.name, &[pb::DeliveryState::Pending]).await;
    assert_eq!(held.len(), n, "held through the quiet hours, not dropped");
    for d in &held {
        let wait = d.next_attempt_time.as_ref().unwrap().seconds - chrono::Utc::now().timestamp();
        // 13:30 − 11:59:59 is 5,401 s.
        assert!((5_390..=5_402).contains(&wait), "held {wait} s");
    }
    assert!(quiet_robot.received().is_empty());

    // The digest: one message for all of them, grouped by unit.
    let got = digest_robot.wait_ok(1, WAIT).await;
    wait_state(&mut wang, &digest.name, pb::DeliveryState::Sent, n).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(digest_robot.received().len(), 1, "one digest, not {n} messages");
    let text = got[0].json()["markdown"]["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with(&format!("**Daily alert digest ({n} changes)**")), "{text}");
    assert!(text.contains("**rep-0**") && text.contains("**rep-1**"), "{text}");

    // Deleting the quiet subscription cancels what it held.
    wang.delete_subscription(pb::DeleteSubscriptionRequest { name: quiet.name.clone(), etag: String::new() })
        .await
        .unwrap();
    let cancelled = deliveries(&mut wang, &quiet.name, &[pb::DeliveryState::Cancelled]).await;
    assert_eq!(cancelled.len(), n);
}

both_backends!(quiet_hours_and_digests_on_the_subscribers_clock);

async fn a_robot_takes_twenty_a_minute(backend: Backend) {
    let suite = spawn(backend, 24, |_| {}).await;
    let robot = HttpReceiver::start(OK).await;
    let mut wang = suite.manager();
    let sub = subscribe(&mut wang, dingtalk(&robot.url("/r?access_token=robot-token"), "S")).await;
    // The same robot spelled otherwise (another parameter first, the host
    // in capitals) is the same robot: it shares the twenty.
    let mut other = dingtalk(&robot.url("/r?x=1&access_token=robot-token").replace("127.0.0.1", "LOCALHOST"), "S");
    other.unit = "units/rep-0".into();
    let twin = subscribe(&mut wang, other).await;
    let changed = suite.evaluate().await;
    let n = behind_in_region(&changed).len();
    assert!(n > 20, "{n} alerts");
    robot.wait_ok(20, WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(robot.received().len(), 20, "DingTalk takes 20 a minute from one robot, however it is spelled");
    let mut waiting = deliveries(&mut wang, &sub.name, &[pb::DeliveryState::Pending]).await;
    waiting.extend(deliveries(&mut wang, &twin.name, &[pb::DeliveryState::Pending]).await);
    assert_eq!(waiting.len(), n + 1 - 20, "the rest wait for the window, not dropped");
    // Each shows when the window frees: a minute after the first sent.
    let sent = |s: &pb::Delivery| s.sent_time.as_ref().map(|t| t.seconds);
    let mut first = deliveries(&mut wang, &sub.name, &[pb::DeliveryState::Sent]).await;
    first.extend(deliveries(&mut wang, &twin.name, &[pb::DeliveryState::Sent]).await);
    let earliest = first.iter().filter_map(sent).min().unwrap();
    for d in &waiting {
        let next = d.next_attempt_time.as_ref().unwrap().seconds;
        assert!((earliest + 59..=earliest + 61).contains(&next), "next attempt {next}, first sent {earliest}: {d:?}");
    }
}

both_backends!(a_robot_takes_twenty_a_minute);

async fn a_new_subscriber_may_hear_of_what_is_open(backend: Backend) {
    let suite = spawn(backend, 2, |_| {}).await;
    let robot = HttpReceiver::start(OK).await;
    let mut wang = suite.manager();
    // The alerts open before anyone subscribed.
    let changed = suite.evaluate().await;
    let n = behind_in_region(&changed).len();
    assert!(n >= 2);
    // Wait until notify has read them (its feed runs behind the write).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let quiet = subscribe(&mut wang, dingtalk(&robot.url("/r?access_token=robot-token"), "S")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(deliveries(&mut wang, &quiet.name, &[]).await.is_empty(), "from now on, by default");
    let req = pb::CreateSubscriptionRequest {
        subscription: Some(dingtalk(&robot.url("/r?access_token=robot-token"), "S")),
        request_id: String::new(),
        send_open_alerts: true,
    };
    let told = wang.create_subscription(req).await.unwrap().into_inner();
    let sent = wait_state(&mut wang, &told.name, pb::DeliveryState::Sent, n).await;
    assert_eq!(sent.len(), n, "each alert open in region A, once");
    // Resolved ones leave: a subscriber after the resolution hears only
    // of what is still open.
    let first = sent[0].event.clone();
    let resolve = attain_proto::attain::tracking::v1::ResolveAlertRequest { name: first, ..Default::default() };
    suite.tracking().resolve_alert(resolve).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let req = pb::CreateSubscriptionRequest {
        subscription: Some(dingtalk(&robot.url("/r?access_token=robot-token"), "S")),
        request_id: String::new(),
        send_open_alerts: true,
    };
    let later = wang.create_subscription(req).await.unwrap().into_inner();
    wait_state(&mut wang, &later.name, pb::DeliveryState::Sent, n - 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(deliveries(&mut wang, &later.name, &[]).await.len(), n - 1);
}

both_backends!(a_new_subscriber_may_hear_of_what_is_open);

async fn a_report_coming_due_is_reminded_once(backend: Backend) {
    // 17:30 in Shanghai on 2024-01-16: the day's logs are due at 18:00.
    let shanghai = |s: &mut attain_kit::configuration::Settings| {
        s.cadence.time_zone = "Asia/Shanghai".into();
        s.clock.time_of_day = chrono::NaiveTime::from_hms_opt(17, 30, 0);
    };
    let suite = crate::helpers::spawn_with(backend, 2, shanghai, |_| {}).await;
    let robot = HttpReceiver::start(OK).await;
    // Rep 0 has logged today; rep 1 has not.
    let log = attain_proto::attain::tracking::v1::CreateDailyLogRequest {
        daily_log: Some(attain_proto::attain::tracking::v1::DailyLog {
            rep: "units/rep-0".into(),
            log_date: "2024-01-16".into(),
            notes: "拜访两家客户".into(),
            ..Default::default()
        }),
        request_id: "log-rep-0".into(),
    };
    suite.tracking_as("rep-0", Role::Rep, "rep-0").create_daily_log(log).await.unwrap();
    let mut wang = suite.manager();
    // Forty minutes ahead: the 18:00 deadline is inside it.
    let mut s = dingtalk(&robot.url("/r?access_token=robot-token"), "S");
    s.rules = vec![attain_proto::attain::tracking::v1::AlertRule::ReportOverdue as i32];
    s.remind_minutes_before = 40;
    let sub = subscribe(&mut wang, s).await;
    // Twenty minutes ahead: not yet.
    let mut early = dingtalk(&robot.url("/r?access_token=robot-token"), "S");
    early.remind_minutes_before = 20;
    // (The log above moved rep 0's figures: pace alerts are not this test's.)
    early.rules = vec![attain_proto::attain::tracking::v1::AlertRule::ReportOverdue as i32];
    let early = subscribe(&mut wang, early).await;

    let sent = wait_state(&mut wang, &sub.name, pb::DeliveryState::Sent, 1).await;
    assert_eq!(sent.len(), 1, "only rep 1's log is still due: {sent:?}");
    assert_eq!(sent[0].event, "obligations/DAILY_LOG/rep-1/2024-01-16");
    let text = &robot.wait_ok(1, WAIT).await[0].json()["markdown"]["text"];
    assert!(
        text.as_str().unwrap().contains("【汇报提醒】rep-1 的日报（2024-01-16）将于 2024-01-16 18:00 CST 截止"),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(deliveries(&mut wang, &early.name, &[]).await.is_empty(), "18:00 is more than 20 minutes away");
    // Bad lead times name the field.
    for bad in [-1, 1441] {
        let mut s = dingtalk(&robot.url("/r?access_token=robot-token"), "S");
        s.remind_minutes_before = bad;
        let req = pb::CreateSubscriptionRequest { subscription: Some(s), ..Default::default() };
        let e = wang.create_subscription(req).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("subscription.remind_minutes_before"), "{}", e.message());
    }
    assert_eq!(robot.received().len(), 1, "one reminder, once");
}

both_backends!(a_report_coming_due_is_reminded_once);

/// Found from outside: one slow receiver held up every subscriber (the
/// sender waited for each pass's slowest endpoint), and an alert's opening
/// retried after its resolution reached the group last, saying it was open.
async fn a_slow_robot_holds_up_nobody_and_a_later_change_supersedes(backend: Backend) {
    let suite = spawn(backend, 2, |s| s.notify.max_attempts = 50).await;
    let mut wang = suite.manager();
    let slow = HttpReceiver::start(OK).await;
    slow.delay(Duration::from_secs(4));
    let fast = HttpReceiver::start(OK).await;
    let flaky = HttpReceiver::start(OK).await;
    flaky.fail_next(10_000, 503);
    subscribe(&mut wang, dingtalk(&slow.url("/robot/send?access_token=slow"), "S")).await;
    let mut one = dingtalk(&flaky.url("/robot/send?access_token=flaky"), "S");
    one.unit = "units/rep-0".into();
    let sub = subscribe(&mut wang, one).await;
    let n = behind_in_region(&suite.evaluate().await).len();
    assert!(n >= 2, "{n}");
    // The slow robot is busy with the first of its n; a new subscriber's
    // robot asks for what is open, and has it all meanwhile.
    while slow.received().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let req = pb::CreateSubscriptionRequest {
        subscription: Some(dingtalk(&fast.url("/robot/send?access_token=fast"), "S")),
        send_open_alerts: true,
        ..Default::default()
    };
    wang.create_subscription(req).await.unwrap();
    fast.wait_ok(n, WAIT).await;
    assert!(slow.received().len() < n, "the fast robot had everything while the slow one was still on its first");

    // rep-0's alert fails to reach the flaky robot, retrying; it resolves
    // meanwhile. The opening is superseded (never told after it cleared),
    // and the resolution of what never reached the group is not told
    // either.
    let opening = wait_state(&mut wang, &sub.name, pb::DeliveryState::Failed, 1).await;
    let resolve = attain_proto::attain::tracking::v1::ResolveAlertRequest {
        name: opening[0].event.clone(),
        ..Default::default()
    };
    suite.tracking().resolve_alert(resolve).await.unwrap();
    let cancelled = wait_state(&mut wang, &sub.name, pb::DeliveryState::Cancelled, 1).await;
    assert_eq!(cancelled[0].name, opening[0].name);
    assert!(cancelled[0].last_error.contains("superseded"), "{:?}", cancelled[0]);
    flaky.fail_next(0, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(flaky.received().iter().all(|r| r.status != 200), "nothing stale, nothing about what it never heard");
    assert_eq!(
        deliveries(&mut wang, &sub.name, &[]).await.len(),
        1,
        "{:?}",
        deliveries(&mut wang, &sub.name, &[]).await
    );
}

both_backends!(a_slow_robot_holds_up_nobody_and_a_later_change_supersedes);
