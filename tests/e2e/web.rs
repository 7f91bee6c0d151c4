//! The web dashboard in headless Chromium: sign in with a token, drill into
//! a region, and check what the page shows against the REST API — figures,
//! children, alerts, loss reasons, the burn-up chart, 万元 and English —
//! then watch an alert leave the live feed when it is acknowledged.

use crate::support::{Suite, webdriver::Browser};
use attain_kit::{
    auth::Role,
    http_client::request,
    testing::{Backend, token},
};
use serde_json::Value;

/// The page's 元 format: "¥119,000.00".
fn yuan(amount: &str) -> String {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, "00"));
    let digits: Vec<char> = int.chars().collect();
    let mut grouped = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(*c);
    }
    format!("¥{grouped}.{:0<2}", &frac[..frac.len().min(2)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_page_in_chromium() {
    let suite = Suite::with_demo(Backend::Sqlite).await;
    let gw = suite.gateway.addr;
    let admin = token("ops", Role::Admin, "");
    let auth = [("authorization", format!("Bearer {admin}"))];
    let api = request(gw, "GET", "/v1/units/region-a/dashboard?period=2024-01", &auth, b"").await.unwrap().json();

    let browser = Browser::start().await;
    browser.goto(&format!("http://{gw}/#period=2024-01")).await;
    browser.type_into("#token", &admin).await;
    browser.click("#signin").await;
    browser.wait_for("return document.body.dataset.ready === 'units/acme';", "the company's dashboard").await;
    assert_eq!(browser.texts("#children tbody tr").await.len(), 4, "regions A–D");

    // Drill into region A.
    browser.click(r#".child-row[data-unit="units/region-a"]"#).await;
    browser.wait_for("return document.body.dataset.ready === 'units/region-a';", "region A's dashboard").await;
    assert_eq!(browser.text("#unit-name").await, "Region A 华东");
    let a = &api["attainment"];
    assert_eq!(browser.text("#actual").await, yuan(a["actual"]["amount"].as_str().unwrap()));
    assert_eq!(browser.text("#actual").await, "¥119,000.00");
    assert_eq!(browser.text("#target").await, yuan(a["target"]["amount"].as_str().unwrap()));
    assert_eq!(browser.text("#gap").await, yuan(a["gap"]["amount"].as_str().unwrap()));
    let status = a["status"].as_str().unwrap();
    assert!(
        browser.eval(&format!("return document.querySelector('#light').classList.contains('{status}');")).await
            == Value::Bool(true)
    );

    // Every child row shows the API's figures, with its traffic light.
    let children = api["children"].as_array().unwrap();
    let actuals = browser.texts("#children td.actual").await;
    assert_eq!(actuals.len(), children.len());
    for (shown, c) in actuals.iter().zip(children) {
        assert_eq!(shown, &yuan(c["actual"]["amount"].as_str().unwrap()), "{}", c["unit"]);
    }
    let red = browser.eval("return document.querySelectorAll('#children .light.STATUS_RED').length;").await;
    let api_red = children.iter().filter(|c| c["status"] == "STATUS_RED").count();
    assert_eq!(red.as_u64().unwrap() as usize, api_red);

    // Alerts, the top loss reasons, the burn-up with its two milestones.
    let alerts = browser.texts("#alerts li").await;
    assert!(alerts.iter().any(|t| t.contains("Rep 1 张伟")), "{alerts:?}");
    assert_eq!(browser.texts("#losses li").await.len(), api["topLossReasons"].as_array().unwrap().len());
    let marks = browser.eval("return document.querySelectorAll('#chart circle.milestone-mark').length;").await;
    assert_eq!(marks, Value::from(2));
    let has_actual = browser.eval("return !!document.querySelector('#chart path.actual');").await;
    assert_eq!(has_actual, Value::Bool(true));
    // The gap by driver: both rows, the target row's figures as the API has them.
    assert_eq!(browser.texts("#drivers tbody tr").await.len(), 2);
    let target_gap = &api["gapAttribution"]["againstTarget"];
    assert_eq!(
        browser.text(r#"#drivers tr[data-basis="againstTarget"] td.volume"#).await,
        yuan(target_gap["volumeEffect"]["amount"].as_str().unwrap())
    );

    // 万元 and English.
    browser.eval("const s = document.querySelector('#scale'); s.value = 'wan'; s.dispatchEvent(new Event('change')); return true;").await;
    assert_eq!(browser.text("#actual").await, "11.90 万元");
    browser.click("#lang").await;
    assert_eq!(browser.text(".card [data-i18n=actual]").await, "Actual");

    // The live feed: acknowledging rep 1's alert elsewhere takes it off the page.
    browser.wait_for("return document.querySelector('#live').textContent.length > 0;", "the live feed").await;
    let rep1_alert = api["openAlerts"].as_array().unwrap().iter().find(|x| x["unit"] == "units/rep-1").unwrap().clone();
    let name = rep1_alert["name"].as_str().unwrap();
    let body = serde_json::to_vec(&serde_json::json!({ "etag": rep1_alert["etag"] })).unwrap();
    let manager = [("authorization", format!("Bearer {}", token("wang", Role::Manager, "region-a")))];
    let ack = request(gw, "POST", &format!("/v1/{name}:acknowledge"), &manager, &body).await.unwrap();
    assert_eq!(ack.status, 200, "{}", ack.text());
    browser
        .wait_for(
            &format!("return !document.querySelector('#alerts [data-alert=\"{name}\"]');"),
            "the acknowledged alert to leave",
        )
        .await;

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    browser.screenshot(&shot).await;
    browser.quit().await;
}
