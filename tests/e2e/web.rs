//! The web dashboard in headless Chromium: sign in with a token, drill into
//! a region, and check what the page shows against the REST API — figures,
//! children, alerts, loss reasons, the burn-up chart, 万元 and English —
//! then watch an alert leave the live feed when it is acknowledged. Each
//! language speaks only itself, the page passes axe-core's WCAG 2 AA scan,
//! works by keyboard and at a laptop's and a phone's width (screenshots in
//! target/tmp), and a period without a target or a company without a plan
//! is said in words, never as a status.

use crate::support::{Suite, webdriver::Browser};
use attain_kit::{
    auth::Role,
    http_client::request,
    testing::{Backend, token},
};
use serde_json::Value;

/// The page's 元 format: "¥119,000.00", "-¥15,616.66".
fn yuan(amount: &str) -> String {
    if let Some(positive) = amount.strip_prefix('-') {
        return format!("-{}", yuan(positive));
    }
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
    // The light: the unit's status, or its worst open alert when worse (an
    // alert eases only once the unit has recovered by a margin).
    let rank = |s: &str| ["STATUS_GREEN", "STATUS_YELLOW", "STATUS_RED"].iter().position(|x| *x == s);
    let own_alerts = api["openAlerts"].as_array().unwrap().iter().filter(|x| x["unit"] == "units/region-a");
    let status = own_alerts
        .map(|x| x["severity"].as_str().unwrap())
        .chain([a["status"].as_str().unwrap()])
        .max_by_key(|s| rank(s))
        .unwrap();
    assert!(
        browser.eval(&format!("return document.querySelector('#light').classList.contains('{status}');")).await
            == Value::Bool(true),
        "{status}"
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

    // Reports owed: the panel counts what the API counts; a unit whose only
    // RED alert is about reports keeps its sales light.
    let c = &api["compliance"];
    let missed = browser.eval("return document.querySelector('#compliance li.missed').dataset.count;").await;
    assert_eq!(missed, c["missed"].as_i64().map(|n| Value::from(n.to_string())).unwrap_or(Value::Null), "{c}");
    let rate: rust_decimal::Decimal = c["onTimeRate"].as_str().unwrap().parse().unwrap();
    let pct = (rate * rust_decimal::Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(browser.text("#compliance li.on-time").await, format!("按时率 {pct:.1}%"));

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
    let ticks = browser.texts("#chart text.tick").await;
    assert!(ticks.iter().all(|t| t.ends_with('万') && !t.contains("0k")), "ticks in 万: {ticks:?}");
    browser.eval("const s = document.querySelector('#scale'); s.value = 'yuan'; s.dispatchEvent(new Event('change')); return true;").await;
    assert_eq!(browser.eval("return fmtMoney({ amount: '-18404.58' });").await, Value::from("-¥18,404.58"));

    // One line per unit, from the alerts' fields, in the page's language;
    // the line's light is the unit's light in the table above.
    let lines = browser.texts("#alerts li").await;
    let rep1 = lines.iter().find(|t| t.starts_with("Rep 1 张伟")).unwrap_or_else(|| panic!("{lines:?}"));
    assert!(rep1.contains("实际 ¥40,000.00") && rep1.contains("应完成"), "{rep1}");
    assert_eq!(lines.iter().filter(|t| t.starts_with("Rep 1 张伟")).count(), 1, "one line per unit: {lines:?}");
    let agree = browser
        .eval(
            "return [...document.querySelectorAll('#alerts li[data-unit]')].every(li => {
               const row = document.querySelector(`#children tr[data-unit=\"${li.dataset.unit}\"] .light`);
               return !row || row.className === li.querySelector('.light').className; });",
        )
        .await;
    assert_eq!(agree, Value::Bool(true), "a unit's light is the same in the table and its alert line");
    one_language(&browser, "zh").await;
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    browser.screenshot(&shots.join("dashboard-zh-1280.png")).await;
    no_serious_violations(&browser, "zh").await;

    browser.click("#lang").await;
    assert_eq!(browser.text(".card [data-i18n=actual]").await, "Actual");
    let lines = browser.texts("#alerts li").await;
    assert!(lines.iter().any(|t| t.starts_with("Rep 1 张伟: ") && t.contains("actual ¥40,000.00 of")), "{lines:?}");
    one_language(&browser, "en").await;
    browser.screenshot(&shots.join("dashboard-en-1280.png")).await;
    no_serious_violations(&browser, "en").await;
    // A phone: nothing wider than the screen.
    browser.resize(390, 844).await;
    let overflow = browser.eval("return document.documentElement.scrollWidth - window.innerWidth;").await;
    assert!(overflow.as_i64().unwrap() <= 0, "the page scrolls sideways on a phone by {overflow}px");
    browser.screenshot(&shots.join("dashboard-en-phone.png")).await;
    no_serious_violations(&browser, "en, phone").await;
    browser.resize(1280, 800).await;
    // The chart fills its panel, with round ticks.
    let fill = browser
        .eval("const s = document.querySelector('#chart'); return s.viewBox.baseVal.width / s.clientWidth;")
        .await;
    assert!((fill.as_f64().unwrap() - 1.0).abs() < 0.05, "the chart is drawn at its panel's width: {fill}");
    let ticks = browser.texts("#chart text.tick").await;
    assert!(ticks.len() >= 3 && ticks.iter().all(|t| !t.contains('.')), "round ticks: {ticks:?}");
    // The rep's page hides the empty "units below".
    browser.press_enter(r#"#children tr[data-unit="units/rep-1"] button.link"#).await;
    browser.wait_for("return document.body.dataset.ready === 'units/rep-1';", "rep 1's page, by keyboard").await;
    assert_eq!(browser.eval("return document.querySelector('#children-panel').hidden;").await, Value::Bool(true));
    browser.press_enter("#crumbs button.link:nth-of-type(2)").await;
    browser.wait_for("return document.body.dataset.ready === 'units/region-a';", "back to region A").await;

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
            &format!("return !document.querySelector('#alerts [data-alert~=\"{name}\"]');"),
            "the acknowledged alert to leave",
        )
        .await;

    // A period no plan covers: a sentence and what to do, never a status.
    browser.eval("const p = document.querySelector('#period'); p.value = '2031-01'; p.dispatchEvent(new Event('change')); return true;").await;
    browser.wait_for("return !document.querySelector('#problem').hidden;", "the period's problem").await;
    let problem = browser.text("#problem").await;
    assert!(problem.contains("no target for this period") && problem.contains("2024-01"), "{problem}");
    let page = browser.eval("return document.body.innerText;").await;
    let page = page.as_str().unwrap();
    assert!(!page.contains("400") && !page.contains("FAILED_PRECONDITION"), "{page}");
    browser.quit().await;
}

/// Opened without a period, the page opens on the latest published plan;
/// with no plan at all it says so and what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_opens_on_a_plan_or_says_there_is_none() {
    let suite = Suite::with_demo(Backend::Sqlite).await;
    let admin = token("ops", Role::Admin, "");
    let browser = Browser::start().await;
    browser.goto(&format!("http://{}/#lang=zh", suite.gateway.addr)).await;
    browser.type_into("#token", &admin).await;
    browser.click("#signin").await;
    browser.wait_for("return document.body.dataset.ready === 'units/acme';", "the company's dashboard").await;
    // The suite's clock (GetCaller's today) stands in January 2024.
    assert_eq!(browser.eval("return document.querySelector('#period').value;").await, Value::from("2024-01"));
    assert_eq!(browser.eval("return document.querySelector('#problem').hidden;").await, Value::Bool(true));
    // After FY2024: its last month; before it: its first.
    assert_eq!(browser.eval("return defaultPeriod('2026-12-02');").await, Value::from("2024-12"));
    assert_eq!(browser.eval("return defaultPeriod('2023-05-01');").await, Value::from("2024-01"));

    let empty = Suite::start(Backend::Sqlite, |_| {}).await;
    let target = tonic::transport::Channel::from_shared(format!("http://{}", empty.target.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    attain_kit::seed::Seed::new(target, admin.clone())
        .units(&[attain_kit::seed::Unit::new(
            "newco",
            "",
            attain_proto::attain::target::v1::UnitKind::Company,
            "新公司",
        )])
        .await
        .unwrap();
    // A notification's link opens on its unit and period, the way back up
    // in the trail.
    browser.eval("sessionStorage.clear(); return true;").await;
    let link = format!("http://{}/#unit=units%2Frep-1&period=2024-01&lang=zh&token={admin}", suite.gateway.addr);
    browser.goto("about:blank").await;
    browser.goto(&link).await;
    browser.wait_for("return document.body.dataset.ready === 'units/rep-1';", "rep 1's dashboard from a link").await;
    let trail = browser.eval("return state.trail.join(' > ');").await;
    assert_eq!(trail, Value::from("units/acme > units/region-a > units/rep-1"));

    browser.eval("sessionStorage.clear(); return true;").await;
    // Signed in from a link carrying the token: it leaves the address bar.
    browser.goto(&format!("http://{}/#lang=zh&token={admin}", empty.gateway.addr)).await;
    browser.wait_for("return !!document.body.dataset.ready;", "the new company's page").await;
    let hash = browser.eval("return location.hash;").await;
    assert!(!hash.as_str().unwrap().contains("token"), "the token stays in the URL: {hash}");
    let problem = browser.text("#problem").await;
    assert!(problem.contains("还没有已发布的目标计划") && problem.contains("attain demo"), "{problem}");
    browser.quit().await;
}

/// What is left of the page's text once the user's own words (unit names,
/// the brand, the other language's toggle) are taken out is in `lang` only.
async fn one_language(browser: &Browser, lang: &str) {
    let v = browser
        .eval(
            "let text = document.querySelector('main').innerText + ' ' + document.querySelector('header').innerText;
             const names = Object.values(state.names).sort((a, b) => b.length - a.length);
             for (const n of names.concat(['Attain', 'English', '中文'])) text = text.split(n).join(' ');
             return text;",
        )
        .await;
    let text = v.as_str().unwrap();
    let foreign: Vec<char> = match lang {
        "zh" => text.chars().filter(char::is_ascii_alphabetic).collect(),
        _ => text.chars().filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c)).collect(),
    };
    assert!(foreign.is_empty(), "{lang} page shows {foreign:?} in: {text}");
}

async fn no_serious_violations(browser: &Browser, lang: &str) {
    let found = browser.accessibility_violations().await;
    let serious: Vec<_> = found.iter().filter(|(_, impact, _)| impact == "serious" || impact == "critical").collect();
    assert!(serious.is_empty(), "axe-core ({lang}): {serious:?}");
}
