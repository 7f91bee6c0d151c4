// Attain's dashboard page: plain JavaScript against the gateway's REST API
// (/v1/…, see /openapi.json). No CDN, no build step: it works offline.
"use strict";

const I18N = {
  zh: {
    subtitle: "销售目标看板", period: "期间", amountUnit: "金额单位", signIn: "登录", signOut: "退出",
    tokenHelp: "粘贴访问令牌（attain token 或 attain up 打印的管理员令牌）。",
    target: "目标", actual: "实际", rate: "达成率", gap: "差距", pace: "进度比", forecast: "预测",
    burnUp: "累计达成 vs 目标", targetToDate: "累计目标", milestones: "里程碑", actualToDate: "累计实际",
    children: "下级单位", unit: "单位", alerts: "预警", lossReasons: "丢单原因 Top 3", actions: "待办行动",
    none: "无", live: "● 实时", partial: "部分数据暂不可用：", due: "截止",
    gapByDriver: "差距归因（商机量 × 转化率 × 客单价）", difference: "差额", volume: "商机量", conversion: "转化率",
    orderValue: "客单价", againstLastYear: "对比去年同期", againstTarget: "对比目标进度",
    LOSS_REASON_PRICE: "价格", LOSS_REASON_COMPETITOR: "竞争对手", LOSS_REASON_NO_BUDGET: "无预算",
    LOSS_REASON_NO_DECISION: "未决策", LOSS_REASON_PRODUCT_FIT: "产品不匹配", LOSS_REASON_TIMING: "时机",
    LOSS_REASON_RELATIONSHIP: "客户关系", LOSS_REASON_OTHER: "其他",
  },
  en: {
    subtitle: "Sales targets", period: "Period", amountUnit: "Amounts in", signIn: "Sign in", signOut: "Sign out",
    tokenHelp: "Paste an access token (from attain token, or the admin token attain up prints).",
    target: "Target", actual: "Actual", rate: "Attainment", gap: "Gap", pace: "Pace", forecast: "Forecast",
    burnUp: "Cumulative actual vs target", targetToDate: "Target to date", milestones: "Milestones",
    actualToDate: "Actual to date", children: "Units below", unit: "Unit", alerts: "Alerts",
    lossReasons: "Top 3 loss reasons", actions: "Open actions", none: "None", live: "● live",
    partial: "Some sections are unavailable: ", due: "due",
    gapByDriver: "Gap by driver (opportunities × conversion × order value)", difference: "Difference",
    volume: "Volume", conversion: "Conversion", orderValue: "Order value", againstLastYear: "vs last year",
    againstTarget: "vs target to date",
    LOSS_REASON_PRICE: "Price", LOSS_REASON_COMPETITOR: "Competitor", LOSS_REASON_NO_BUDGET: "No budget",
    LOSS_REASON_NO_DECISION: "No decision", LOSS_REASON_PRODUCT_FIT: "Product fit", LOSS_REASON_TIMING: "Timing",
    LOSS_REASON_RELATIONSHIP: "Relationship", LOSS_REASON_OTHER: "Other",
  },
};

const state = {
  token: sessionStorage.getItem("attain.token") || "",
  lang: localStorage.getItem("attain.lang") || "zh",
  scale: localStorage.getItem("attain.scale") || "yuan",
  names: {},
  trail: [],
  dashboard: null,
  watch: null,
};

const $ = (sel) => document.querySelector(sel);
const t = (key) => (I18N[state.lang] || I18N.zh)[key] || key;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// Money arrives as an exact decimal string; display rounds half up without
// going through floating point.
function tenThousandths(s) {
  const neg = s.startsWith("-");
  const [i, f = ""] = s.replace("-", "").split(".");
  const v = BigInt((i || "0") + (f + "0000").slice(0, 4));
  return neg ? -v : v;
}
function group(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
function fmtMoney(m) {
  if (!m || m.amount === undefined || m.amount === "") return "—";
  let v = tenThousandths(m.amount);
  const neg = v < 0n; if (neg) v = -v;
  // yuan: hundredths of a yuan; wan: hundredths of 10,000 yuan.
  const per = state.scale === "wan" ? 1000000n : 100n;
  const hundredths = (v + per / 2n) / per;
  const whole = group((hundredths / 100n).toString());
  const frac = (hundredths % 100n).toString().padStart(2, "0");
  const text = `${neg ? "-" : ""}${whole}.${frac}`;
  return state.scale === "wan" ? `${text} 万元` : `¥${text}`;
}
function fmtRate(s) {
  if (!s) return "—";
  const v = tenThousandths(s); // 0.4 → 4000 (ten-thousandths) → 40.0%
  const tenths = (v + (v < 0n ? -5n : 5n)) / 10n;
  const abs = tenths < 0n ? -tenths : tenths;
  return `${tenths < 0n ? "-" : ""}${abs / 10n}.${abs % 10n}%`;
}
function toNumber(m) { return m && m.amount ? Number(m.amount) : 0; }

async function api(path) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const e = body.error || {};
    throw new Error(`${resp.status} ${e.status || ""}: ${e.message || resp.statusText}`);
  }
  return body;
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $("#lang").textContent = state.lang === "zh" ? "English" : "中文";
  if (state.dashboard) render(state.dashboard);
}

async function signIn() {
  state.token = $("#token").value.trim();
  $("#login-error").textContent = "";
  try {
    const me = await api("/v1/caller");
    let root = me.unit;
    if (!root) {
      const roots = await api("/v1/units?page_size=1000");
      root = (roots.units[0] || {}).name;
    }
    const tree = await api(`/v1/${root}:subtree`);
    state.names = {};
    for (const u of tree.units) state.names[u.name] = u.displayName || u.name;
    sessionStorage.setItem("attain.token", state.token);
    $("#login").hidden = true; $("#board").hidden = false; $("#logout").hidden = false;
    state.trail = [];
    await open(root);
  } catch (err) {
    $("#login-error").textContent = err.message;
  }
}

function signOut() {
  sessionStorage.removeItem("attain.token");
  if (state.watch) state.watch.abort();
  location.hash = "";
  location.reload();
}

function currentPeriod() {
  const p = $("#period").value.trim();
  if (p) return p;
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}

async function open(unit) {
  const at = state.trail.indexOf(unit);
  if (at >= 0) state.trail = state.trail.slice(0, at + 1); else state.trail.push(unit);
  document.body.dataset.ready = "";
  try {
    const d = await api(`/v1/${unit}/dashboard?period=${encodeURIComponent(currentPeriod())}`);
    state.dashboard = d;
    render(d);
    watchAlerts(unit);
  } catch (err) {
    $("#partial").hidden = false;
    $("#partial").textContent = err.message;
  }
  document.body.dataset.ready = unit;
}

function render(d) {
  const a = d.attainment || {};
  $("#unit-name").textContent = d.displayName || state.names[d.unit] || d.unit;
  $("#period-label").textContent = (d.period && d.period.expression) || currentPeriod();
  $("#light").className = `light ${a.status || ""}`;
  $("#target").textContent = fmtMoney(a.target);
  $("#actual").textContent = fmtMoney(a.actual);
  $("#rate").textContent = fmtRate(a.attainmentRate);
  $("#gap").textContent = fmtMoney(a.gap);
  $("#pace").textContent = fmtRate(a.pace);
  $("#forecast").textContent = fmtMoney(a.forecast);
  const down = (d.sections || []).filter((s) => s.state !== "SECTION_STATE_OK");
  $("#partial").hidden = down.length === 0;
  $("#partial").textContent = t("partial") + down.map((s) => s.section).join(", ");

  const crumbs = $("#crumbs"); crumbs.replaceChildren();
  state.trail.forEach((u) => crumbs.append(el("a", { onclick: () => open(u) }, state.names[u] || u)));

  const body = $("#children tbody"); body.replaceChildren();
  for (const c of d.children || []) {
    body.append(el("tr", { class: "child-row", "data-unit": c.unit, onclick: () => open(c.unit) },
      el("td", {}, el("span", { class: `light ${c.status}` })),
      el("td", {}, state.names[c.unit] || c.unit),
      el("td", { class: "target" }, fmtMoney(c.target)),
      el("td", { class: "actual" }, fmtMoney(c.actual)),
      el("td", { class: "rate" }, fmtRate(c.attainmentRate)),
      el("td", { class: "gap" }, fmtMoney(c.gap))));
  }

  // The three effects sum exactly to the difference (tracking rounds them so).
  const drivers = $("#drivers tbody"); drivers.replaceChildren();
  const g = d.gapAttribution || {};
  for (const [key, b] of [["againstLastYear", g.againstLastYear], ["againstTarget", g.againstTarget]]) {
    if (!b) continue;
    drivers.append(el("tr", { class: "driver-row", "data-basis": key },
      el("td", {}, t(key)),
      el("td", { class: "difference" }, fmtMoney(b.difference)),
      el("td", { class: "volume" }, fmtMoney(b.volumeEffect)),
      el("td", { class: "conversion" }, fmtMoney(b.conversionEffect)),
      el("td", { class: "order-value" }, fmtMoney(b.averageOrderValueEffect))));
  }

  const alerts = $("#alerts"); alerts.replaceChildren();
  for (const al of d.openAlerts || []) alerts.append(alertItem(al));
  if (!alerts.children.length) alerts.append(el("li", { class: "none" }, t("none")));

  const losses = $("#losses"); losses.replaceChildren();
  for (const l of d.topLossReasons || []) losses.append(el("li", {}, `${t(l.reason)} × ${l.count} (${fmtMoney(l.amount)})`));
  const actions = $("#actions"); actions.replaceChildren();
  for (const i of d.openActionItems || []) {
    actions.append(el("li", {}, `${i.text} — ${i.owner} (${t("due")} ${i.dueDate})${i.overdue ? " ⚠" : ""}`));
  }
  if (!actions.children.length) actions.append(el("li", { class: "none" }, t("none")));
  chart(d.burnUp);
}

function alertItem(al) {
  return el("li", { "data-unit": al.unit, "data-alert": al.name },
    el("span", { class: `light ${al.severity}` }), " ", state.names[al.unit] || al.unit, ": ", al.message);
}

// The live feed: the gateway's NDJSON bridge of WatchAlerts.
async function watchAlerts(unit) {
  if (state.watch) state.watch.abort();
  const ctl = new AbortController(); state.watch = ctl;
  $("#live").textContent = "";
  try {
    const resp = await fetch(`/v1/${unit}/alerts:watch`, { headers: { Authorization: `Bearer ${state.token}` }, signal: ctl.signal });
    if (!resp.ok || !resp.body) return;
    $("#live").textContent = t("live");
    const reader = resp.body.getReader(); const dec = new TextDecoder(); let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim(); buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line);
        if (!ev.alert) continue;
        const list = $("#alerts");
        list.querySelectorAll(`[data-alert="${ev.alert.name}"], .none`).forEach((n) => n.remove());
        if (ev.alert.state === "ALERT_STATE_OPEN") list.prepend(alertItem(ev.alert));
      }
    }
  } catch (_) { /* aborted or the connection ended */ }
  if (state.watch === ctl) $("#live").textContent = "";
}

// The burn-up chart: cumulative target (grey), milestones (amber), actual (blue).
function chart(b) {
  const svg = $("#chart"); svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const node = (tag, attrs) => { const n = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); svg.append(n); return n; };
  if (!b || !b.days || !b.days.length) return;
  const W = 640, H = 260, L = 70, R = 10, T = 10, B = 30;
  const days = b.days;
  const max = Math.max(toNumber(b.periodTarget), ...days.map((d) => Math.max(toNumber(d.targetToDate), toNumber(d.milestoneToDate), toNumber(d.actualToDate)))) || 1;
  const x = (i) => L + (i * (W - L - R)) / Math.max(days.length - 1, 1);
  const y = (v) => H - B - (v * (H - T - B)) / max;
  node("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#c5ccd8" });
  node("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#c5ccd8" });
  for (const f of [0.5, 1]) {
    node("text", { x: 4, y: y(max * f) + 3 }).textContent = fmtMoney({ amount: String(Math.round(max * f)) });
  }
  [0, Math.floor(days.length / 2), days.length - 1].forEach((i, k) => {
    node("text", { x: x(i), y: H - 10, "text-anchor": ["start", "middle", "end"][k] }).textContent = days[i].date.slice(5);
  });
  const line = (pick, cls, color, width) => {
    const pts = days.map((d, i) => [i, pick(d)]).filter(([, v]) => v !== null);
    if (!pts.length) return;
    node("path", { class: cls, d: pts.map(([i, v], k) => `${k ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(""), fill: "none", stroke: color, "stroke-width": width });
  };
  line((d) => toNumber(d.targetToDate), "target", "#7d8aa5", 1.5);
  line((d) => toNumber(d.milestoneToDate), "milestone", "#e0a800", 1.5);
  line((d) => (d.actualToDate ? toNumber(d.actualToDate) : null), "actual", "#1d4f9a", 2.5);
  for (const m of b.milestones || []) {
    const i = m.dayOfPeriod - 1; if (i < 0 || i >= days.length) continue;
    const v = toNumber(days[i].milestoneToDate);
    node("circle", { class: "milestone-mark", cx: x(i), cy: y(v), r: 4, fill: "#e0a800" });
    node("text", { x: x(i) + 5, y: y(v) - 6 }).textContent = `${m.percent}%`;
  }
}

$("#signin").addEventListener("click", signIn);
$("#logout").addEventListener("click", signOut);
$("#lang").addEventListener("click", () => { state.lang = state.lang === "zh" ? "en" : "zh"; localStorage.setItem("attain.lang", state.lang); applyLanguage(); });
$("#scale").addEventListener("change", (e) => { state.scale = e.target.value; localStorage.setItem("attain.scale", state.scale); if (state.dashboard) render(state.dashboard); });
$("#period").addEventListener("change", () => { if (state.trail.length) open(state.trail[state.trail.length - 1]); });
(function init() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("period")) $("#period").value = hash.get("period");
  $("#scale").value = state.scale;
  applyLanguage();
  if (hash.get("token")) { $("#token").value = hash.get("token"); signIn(); }
  else if (state.token) { $("#token").value = state.token; signIn(); }
})();
