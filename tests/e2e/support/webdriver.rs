//! Just enough of the W3C WebDriver protocol to drive headless Chromium
//! through chromedriver (Debian's `chromium` and `chromium-driver`).

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use attain_kit::http_client::request;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn find_binary(names: &[&str]) -> String {
    for name in names {
        for dir in ["/usr/bin", "/usr/lib/chromium", "/usr/local/bin"] {
            let p = format!("{dir}/{name}");
            if std::path::Path::new(&p).exists() {
                return p;
            }
        }
    }
    panic!("none of {names:?} is installed: apt-get install chromium chromium-driver (.ci/run does)")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> Self {
        let driver_bin = find_binary(&["chromedriver"]);
        let chromium = find_binary(&["chromium", "chromium-browser", "chrome"]);
        let port = free_port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let started = Instant::now();
        while request(addr, "GET", "/status", &[], b"").await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("attain-chromium-{}", uuid::Uuid::new_v4()));
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", format!("--user-data-dir={}", profile.display())],
            },
        }}});
        let mut browser = Self { driver, addr, session: String::new() };
        let v = browser.call("POST", "/session", caps).await;
        browser.session = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_owned();
        browser
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() { Vec::new() } else { serde_json::to_vec(&body).unwrap() };
        let headers = [("content-type", "application/json".to_owned())];
        let reply = request(self.addr, method, path, &headers, &body).await.unwrap();
        let v = reply.json();
        assert!(reply.status < 300, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn at(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.at("/url"), json!({ "url": url })).await;
    }

    pub async fn find(&self, css: &str) -> String {
        let v = self.call("POST", &self.at("/element"), json!({ "using": "css selector", "value": css })).await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call("POST", &self.at(&format!("/element/{e}/value")), json!({ "text": text })).await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &self.at(&format!("/element/{e}/click")), json!({})).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call("GET", &self.at(&format!("/element/{e}/text")), Value::Null).await.as_str().unwrap().to_owned()
    }

    /// Runs a script (its `return` value comes back).
    pub async fn eval(&self, script: &str) -> Value {
        self.call("POST", &self.at("/execute/sync"), json!({ "script": script, "args": [] })).await
    }

    /// Waits until the script returns true.
    pub async fn wait_for(&self, script: &str, what: &str) {
        let started = Instant::now();
        while self.eval(script).await != Value::Bool(true) {
            assert!(started.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let v =
            self.eval(&format!("return [...document.querySelectorAll({css:?})].map(e => e.textContent.trim());")).await;
        v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
    }

    /// Resizes the window (a laptop's 1280×800, a phone's 390×844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call("POST", &self.at("/window/rect"), json!({ "width": width, "height": height })).await;
    }

    /// Presses Enter on an element (keyboard use: the element must be
    /// focusable and act on Enter).
    pub async fn press_enter(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &self.at(&format!("/element/{e}/value")), json!({ "text": "\u{E007}" })).await;
    }

    /// axe-core's violations of WCAG 2 A/AA on the page as it is now, as
    /// (rule id, impact, first target). The script comes from npm's
    /// axe-core (.ci/run installs it under the tools directory).
    pub async fn accessibility_violations(&self) -> Vec<(String, String, String)> {
        let tools = std::env::var("ATTAIN_TOOLS_DIR")
            .unwrap_or_else(|_| format!("{}/.cache/attain-tools", std::env::var("HOME").unwrap_or_default()));
        let path = format!("{tools}/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (npm install --prefix {tools} axe-core; .ci/run does)"));
        // Run as WebDriver script (the page's CSP rightly refuses inline
        // scripts); axe.min.js sets window.axe.
        self.eval(&format!(
            "window.__axe = null; if (!window.axe) {{ {axe}\n }}
             window.axe.run(document, {{ runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }}).then(r => {{ window.__axe = r.violations; window.__axe_passed = r.passes.length; }});
             return true;"
        ))
        .await;
        self.wait_for("return window.__axe !== null;", "axe-core's scan").await;
        let passed = self.eval("return window.__axe_passed;").await;
        assert!(passed.as_u64().unwrap_or(0) >= 10, "axe-core checked next to nothing ({passed} rules passed)");
        let v = self.eval("return window.__axe.map(v => [v.id, v.impact || '', (v.nodes[0] && v.nodes[0].target.join(' ')) || '']);").await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| (x[0].as_str().unwrap().into(), x[1].as_str().unwrap().into(), x[2].as_str().unwrap().into()))
            .collect()
    }

    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let v = self.call("GET", &self.at("/screenshot"), Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    pub async fn quit(mut self) {
        let _ = request(self.addr, "DELETE", &self.at(""), &[], b"").await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
