// Attain's dashboard page: plain JavaScript against the gateway's REST API
// (/v1/…, see /openapi.json). No CDN, no build step: it works offline.
"use strict";

const I18N = {
  zh: {
    subtitle: "销售目标看板", period: "期间", amountUnit: "金额单位", signIn: "登录", signOut: "退出",
    tokenHelp: "粘贴访问令牌（attain token 或 attain up 打印的管理员令牌）。", token: "访问令牌",
    yuan: "元", wan: "万元", otherLanguage: "English",
    target: "目标", actual: "实际", rate: "达成率", gap: "差距", pace: "进度比", forecast: "预测",
    burnUp: "累计达成与目标", targetToDate: "累计目标", milestones: "里程碑", actualToDate: "累计实际",
    chartLabel: "累计实际、累计目标与里程碑的每日走势",
    children: "下级单位", unit: "单位", status: "状态", alerts: "预警", lossReasons: "丢单原因前三",
    actions: "待办行动", none: "无", live: "● 实时", partial: "部分数据暂不可用：", due: "截止", overdue: "已逾期",
    gapByDriver: "差距归因（商机量 × 转化率 × 客单价）", difference: "差额", volume: "商机量", conversion: "转化率",
    orderValue: "客单价", againstLastYear: "对比去年同期", againstTarget: "对比目标进度", noHistory: "无去年数据",
    STATUS_GREEN: "绿灯", STATUS_YELLOW: "黄灯", STATUS_RED: "红灯",
    ALERT_RULE_BEHIND_PACE: "落后进度", ALERT_RULE_MISSED_MILESTONE: "未达里程碑", ALERT_RULE_STALE_DATA: "数据未更新",
    ALERT_RULE_REPORT_OVERDUE: "日报/周报逾期",
    reporting: "汇报节奏（日报、周报、月度复盘）", onTime: "按时率", submitted: "按时提交", late: "迟交", missed: "缺交",
    pending: "待提交",
    actualOf: (actual, expected) => `实际 ${actual}，应完成 ${expected}`,
    manager: (unit) => `${unit}负责人`,
    LOSS_REASON_PRICE: "价格", LOSS_REASON_COMPETITOR: "竞争对手", LOSS_REASON_NO_BUDGET: "无预算",
    LOSS_REASON_NO_DECISION: "未决策", LOSS_REASON_PRODUCT_FIT: "产品不匹配", LOSS_REASON_TIMING: "时机",
    LOSS_REASON_RELATIONSHIP: "客户关系", LOSS_REASON_OTHER: "其他", times: (n) => `${n} 次`,
    noPlan: "还没有已发布的目标计划。", noPlanHelp: "管理员创建并发布年度计划后，这里会显示目标与达成（演示数据：attain up 或 attain demo）。",
    failed: {
      400: "这个期间无法显示。", 401: "登录已失效，请重新粘贴令牌。", 403: "这个单位不在你的权限范围内。",
      404: "找不到这个单位或期间。", 412: "这个期间没有可显示的目标。", 429: "请求太频繁，请稍后再试。",
      503: "服务暂时不可用，请稍后再试。", other: "加载失败，请稍后再试。",
    },
    periodHelp: "请换一个期间（格式 2024-01、2024-Q1 或 2024）。",
  },
  en: {
    subtitle: "Sales targets", period: "Period", amountUnit: "Amounts in", signIn: "Sign in", signOut: "Sign out",
    tokenHelp: "Paste an access token (from attain token, or the admin token attain up prints).", token: "Access token",
    yuan: "yuan", wan: "10k yuan", otherLanguage: "中文",
    target: "Target", actual: "Actual", rate: "Attainment", gap: "Gap", pace: "Pace", forecast: "Forecast",
    burnUp: "Cumulative actual vs target", targetToDate: "Target to date", milestones: "Milestones",
    actualToDate: "Actual to date", chartLabel: "Daily cumulative actual, target and milestones",
    children: "Units below", unit: "Unit", status: "Status", alerts: "Alerts",
    lossReasons: "Top 3 loss reasons", actions: "Open actions", none: "None", live: "● live",
    partial: "Some sections are unavailable: ", due: "due", overdue: "overdue",
    gapByDriver: "Gap by driver (opportunities × conversion × order value)", difference: "Difference",
    volume: "Volume", conversion: "Conversion", orderValue: "Order value", againstLastYear: "vs last year",
    againstTarget: "vs target to date", noHistory: "no history",
    STATUS_GREEN: "Green", STATUS_YELLOW: "Yellow", STATUS_RED: "Red",
    ALERT_RULE_BEHIND_PACE: "Behind pace", ALERT_RULE_MISSED_MILESTONE: "Missed milestone", ALERT_RULE_STALE_DATA: "No recent data",
    ALERT_RULE_REPORT_OVERDUE: "Reports overdue",
    reporting: "Reporting (daily logs, weekly summaries, monthly reviews)", onTime: "On-time rate",
    submitted: "Submitted on time", late: "Late", missed: "Missed", pending: "Due",
    actualOf: (actual, expected) => `actual ${actual} of ${expected} expected`,
    manager: (unit) => `${unit} manager`,
    LOSS_REASON_PRICE: "Price", LOSS_REASON_COMPETITOR: "Competitor", LOSS_REASON_NO_BUDGET: "No budget",
    LOSS_REASON_NO_DECISION: "No decision", LOSS_REASON_PRODUCT_FIT: "Product fit", LOSS_REASON_TIMING: "Timing",
    LOSS_REASON_RELATIONSHIP: "Relationship", LOSS_REASON_OTHER: "Other", times: (n) => `${n}×`,
    noPlan: "No target plan has been published yet.", noPlanHelp: "Once an admin creates and publishes a yearly plan, its targets and attainment show here (demo data: attain up or attain demo).",
    failed: {
      400: "This period cannot be shown. ", 401: "Your sign-in has expired: paste a token again.",
      403: "This unit is outside what you may see.", 404: "No such unit or period.",
      412: "There is no target for this period. ", 429: "Too many requests: try again in a moment.",
      503: "The service is unavailable for a moment: try again shortly.", other: "Loading failed: try again in a moment.",
    },
    periodHelp: "Pick another period (2024-01, 2024-Q1 or 2024).",
  },
};

const SEVERITY = { STATUS_GREEN: 1, STATUS_YELLOW: 2, STATUS_RED: 3 };

const state = {
  token: sessionStorage.getItem("attain.token") || "",
  lang: localStorage.getItem("attain.lang") || "zh",
  scale: localStorage.getItem("attain.scale") || "yuan",
  names: {},
  managers: {},
  trail: [],
  dashboard: null,
  failure: null,
  watch: null,
  live: false,
};

const $ = (sel) => document.querySelector(sel);
const t = (key) => { const v = (I18N[state.lang] || I18N.zh)[key]; return v === undefined ? key : v; };

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
  const sign = neg && hundredths > 0n ? "-" : "";
  return state.scale === "wan" ? `${sign}${whole}.${frac} ${t("wan")}` : `${sign}¥${whole}.${frac}`;
}
function fmtRate(s) {
  if (!s) return "—";
  const v = tenThousandths(s); // 0.4 → 4000 (ten-thousandths) → 40.0%
  const tenths = (v + (v < 0n ? -5n : 5n)) / 10n;
  const abs = tenths < 0n ? -tenths : tenths;
  return `${tenths < 0n ? "-" : ""}${abs / 10n}.${abs % 10n}%`;
}
function toNumber(m) { return m && m.amount ? Number(m.amount) : 0; }

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const e = body.error || {};
    throw new ApiError(resp.status, e.status || "", e.message || resp.statusText);
  }
  return body;
}

// A failure in a sentence of the page's language. The service's own words
// (English) stay in the tooltip, for whoever reports the problem.
function explain(err) {
  const f = t("failed");
  if (!(err instanceof ApiError)) return f.other;
  const code = err.code === "FAILED_PRECONDITION" ? 412 : err.status;
  return code === 400 || code === 412 ? `${f[code]}${t("periodHelp")}` : f[code] || f.other;
}

function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  document.querySelectorAll("[data-i18n-label]").forEach((n) => { n.setAttribute("aria-label", t(n.dataset.i18nLabel)); });
  $("#lang").textContent = t("otherLanguage");
  $("#lang").setAttribute("lang", state.lang === "zh" ? "en" : "zh-CN");
  $("#live").textContent = state.live ? t("live") : "";
  if (state.dashboard) render(state.dashboard);
  else if (state.failure) showFailure(state.failure);
}

// Who a person is on the page: a rep by their unit's name, a manager as the
// manager of their highest unit (the same rule as the reports).
function person(id) {
  const m = state.managers[id];
  if (!m) return id;
  return m.rep ? state.names[m.unit] : t("manager")(state.names[m.unit]);
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
    state.names = {}; state.managers = {};
    for (const u of tree.units) {
      state.names[u.name] = u.displayName || u.name;
      const rep = u.kind === "UNIT_KIND_REP";
      const seen = state.managers[u.manager];
      if (u.manager && (!seen || (rep && !seen.rep))) state.managers[u.manager] = { unit: u.name, rep };
    }
    sessionStorage.setItem("attain.token", state.token);
    $("#login").hidden = true; $("#board").hidden = false; $("#logout").hidden = false;
    if (!$("#period").value.trim()) $("#period").value = await defaultPeriod(me.today);
    state.trail = [];
    // A link from a notification opens on its unit (one the caller sees:
    // the tree above is theirs), with the way back to their own.
    const wanted = state.wanted; state.wanted = null;
    if (wanted && wanted !== root && state.names[wanted]) {
      const parent = {};
      for (const u of tree.units) parent[u.name] = u.parent;
      const above = [];
      for (let u = parent[wanted]; u && u !== root; u = parent[u]) above.unshift(u);
      state.trail = [root, ...above];
      await open(wanted);
    } else await open(root);
  } catch (err) {
    $("#login-error").textContent = explain(err);
    $("#login-error").title = err && err.message ? err.message : "";
  }
}

function signOut() {
  sessionStorage.removeItem("attain.token");
  if (state.watch) state.watch.abort();
  location.hash = "";
  location.reload();
}

// The period to open on: this month (by the suite's clock) in the latest
// published plan's year; its last month when that year is over, its first
// when it has not begun. No plan yet: "" (the page says so).
async function defaultPeriod(today) {
  const r = await api("/v1/plans?page_size=100").catch(() => ({ plans: [] }));
  const plans = (r.plans || []).filter((p) => p.state === "PLAN_STATE_PUBLISHED");
  if (!plans.length) return "";
  plans.sort((a, b) => b.fiscalYear - a.fiscalYear);
  const p = plans[0];
  const startMonth = p.fiscalStartMonth || 1;
  const first = p.fiscalYear * 12 + (startMonth - 1);
  const [y, mo] = (today || new Date().toISOString()).split("-").map(Number);
  const m = Math.min(Math.max(y * 12 + (mo - 1), first), first + 11);
  return `${Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, "0")}`;
}

function showFailure(f) {
  $("#content").hidden = true;
  $("#problem").hidden = false;
  if (f.noPlan) {
    $("#problem-title").textContent = t("noPlan");
    $("#problem-detail").textContent = t("noPlanHelp");
  } else {
    $("#problem-title").textContent = explain(f.err);
    $("#problem-title").title = f.err && f.err.message ? f.err.message : "";
    $("#problem-detail").textContent = "";
  }
}

async function open(unit) {
  const at = state.trail.indexOf(unit);
  if (at >= 0) state.trail = state.trail.slice(0, at + 1); else state.trail.push(unit);
  document.body.dataset.ready = "";
  renderCrumbs();
  const period = $("#period").value.trim();
  try {
    if (!period) throw { noPlan: true };
    const d = await api(`/v1/${unit}/dashboard?period=${encodeURIComponent(period)}`);
    state.dashboard = d; state.failure = null;
    location.hash = `period=${encodeURIComponent(period)}`;
    render(d);
    watchAlerts(unit);
  } catch (err) {
    state.dashboard = null;
    state.failure = err && err.noPlan ? err : { err };
    $("#unit-name").textContent = state.names[unit] || unit;
    $("#period-label").textContent = period;
    $("#light").className = "light";
    $("#light").setAttribute("aria-label", t("none"));
    showFailure(state.failure);
  }
  // Keyboard users land on what they opened, not back at the top.
  if (state.trail.length > 1 || document.activeElement !== document.body) $("#unit-name").focus();
  document.body.dataset.ready = unit;
}

function renderCrumbs() {
  const crumbs = $("#crumbs"); crumbs.replaceChildren();
  state.trail.forEach((u, i) => {
    if (i) crumbs.append(el("span", { class: "sep", "aria-hidden": "true" }, "›"));
    crumbs.append(el("button", { type: "button", class: "link", onclick: () => open(u) }, state.names[u] || u));
  });
}

// Open alerts of the dashboard, one entry per unit, worst first.
function alertsByUnit(d) {
  const by = new Map();
  for (const al of d.openAlerts || []) {
    if (al.state !== "ALERT_STATE_OPEN") continue;
    if (!by.has(al.unit)) by.set(al.unit, []);
    by.get(al.unit).push(al);
  }
  return by;
}

function worst(...statuses) {
  return statuses.filter(Boolean).sort((a, b) => (SEVERITY[b] || 0) - (SEVERITY[a] || 0))[0] || "";
}

// A unit's light: its status, or worse when one of its open alerts is
// worse (an alert keeps its colour until the unit has recovered by a
// margin) — the same light wherever the unit appears. The light is about
// selling: reports owed show in their own panel and the alert list.
function lightOf(unit, status, alerts) {
  const selling = (alerts.get(unit) || []).filter((a) => a.rule !== "ALERT_RULE_REPORT_OVERDUE");
  return worst(status, ...selling.map((a) => a.severity));
}

function light(status) {
  return el("span", { class: `light ${status}`, role: "img", "aria-label": t(status) || t("none") });
}

function section(id, show) { $(id).hidden = !show; }

// The subtree's reports so far: the on-time rate of those settled, and
// each status counted (ListObligations lists them).
function renderCompliance(c) {
  const list = $("#compliance"); list.replaceChildren();
  if (c) {
    const n = (k) => Number(c[k] || 0);
    if (c.onTimeRate) list.append(el("li", { class: "on-time" }, `${t("onTime")} ${fmtRate(c.onTimeRate)}`));
    for (const [k, cls] of [["submitted", "submitted"], ["late", "late"], ["missed", "missed"], ["due", "pending"]]) {
      if (n(k) > 0) list.append(el("li", { class: cls, "data-count": String(n(k)) }, `${t(cls)} ${n(k)}`));
    }
  }
  section("#compliance-panel", list.children.length > 0);
}

function render(d) {
  $("#content").hidden = false; $("#problem").hidden = true;
  const a = d.attainment || {};
  const alerts = alertsByUnit(d);
  $("#unit-name").textContent = d.displayName || state.names[d.unit] || d.unit;
  $("#period-label").textContent = (d.period && d.period.expression) || $("#period").value;
  const own = lightOf(d.unit, a.status, alerts);
  $("#light").className = `light ${own}`;
  $("#light").setAttribute("aria-label", t(own) || t("none"));
  $("#target").textContent = fmtMoney(a.target);
  $("#actual").textContent = fmtMoney(a.actual);
  $("#rate").textContent = fmtRate(a.attainmentRate);
  $("#gap").textContent = fmtMoney(a.gap);
  $("#pace").textContent = fmtRate(a.pace);
  $("#forecast").textContent = fmtMoney(a.forecast);
  const down = (d.sections || []).filter((s) => s.state !== "SECTION_STATE_OK");
  $("#partial").hidden = down.length === 0;
  $("#partial").textContent = t("partial") + down.map((s) => s.section).join(", ");
  renderCrumbs();

  const body = $("#children tbody"); body.replaceChildren();
  for (const c of d.children || []) {
    const status = lightOf(c.unit, c.status, alerts);
    body.append(el("tr", { class: "child-row", "data-unit": c.unit, onclick: () => open(c.unit) },
      el("td", { class: "mark" }, light(status)),
      el("td", { class: "name" }, el("button", { type: "button", class: "link", onclick: (e) => { e.stopPropagation(); open(c.unit); } }, state.names[c.unit] || c.unit)),
      el("td", { class: "num target" }, fmtMoney(c.target)),
      el("td", { class: "num actual" }, fmtMoney(c.actual)),
      el("td", { class: "num rate" }, fmtRate(c.attainmentRate)),
      el("td", { class: "num gap" }, fmtMoney(c.gap))));
  }
  section("#children-panel", body.children.length > 0);

  // The three effects sum exactly to the difference (tracking rounds them so).
  // Without last year's figures there is nothing to compare with.
  const drivers = $("#drivers tbody"); drivers.replaceChildren();
  const g = d.gapAttribution || {};
  for (const [key, b] of [["againstLastYear", g.againstLastYear], ["againstTarget", g.againstTarget]]) {
    if (!b) continue;
    if (key === "againstLastYear" && !a.yoyGrowth) {
      drivers.append(el("tr", { class: "driver-row", "data-basis": key },
        el("td", { class: "name" }, t(key)), el("td", { class: "num difference", colspan: "4" }, t("noHistory"))));
      continue;
    }
    drivers.append(el("tr", { class: "driver-row", "data-basis": key },
      el("td", { class: "name" }, t(key)),
      el("td", { class: "num difference" }, fmtMoney(b.difference)),
      el("td", { class: "num volume" }, fmtMoney(b.volumeEffect)),
      el("td", { class: "num conversion" }, fmtMoney(b.conversionEffect)),
      el("td", { class: "num order-value" }, fmtMoney(b.averageOrderValueEffect))));
  }
  section("#drivers-panel", drivers.children.length > 0);

  const list = $("#alerts"); list.replaceChildren();
  const units = [...alerts.keys()].sort((x, y) => (SEVERITY[lightOf(y, null, alerts)] || 0) - (SEVERITY[lightOf(x, null, alerts)] || 0));
  const statusOf = new Map((d.children || []).map((c) => [c.unit, c.status]));
  statusOf.set(d.unit, a.status);
  for (const u of units) list.append(alertLine(u, alerts.get(u), lightOf(u, statusOf.get(u), alerts)));
  if (!list.children.length) list.append(el("li", { class: "none" }, t("none")));

  const losses = $("#losses"); losses.replaceChildren();
  for (const l of d.topLossReasons || []) {
    losses.append(el("li", {}, `${t(l.reason)} · ${t("times")(l.count)} · ${fmtMoney(l.amount)}`));
  }
  section("#losses-panel", losses.children.length > 0);
  const actions = $("#actions"); actions.replaceChildren();
  for (const i of d.openActionItems || []) {
    actions.append(el("li", { class: i.overdue ? "overdue" : "" },
      `${i.text} — ${person(i.owner)} (${t("due")} ${i.dueDate}${i.overdue ? `, ${t("overdue")}` : ""})`));
  }
  section("#actions-panel", actions.children.length > 0);
  renderCompliance(d.compliance);
  chart(d.burnUp);
}

// One line per unit: its light, its name, then each rule that fired with
// the figures behind it, in the page's language and money unit.
function alertLine(unit, alerts, status) {
  const rules = alerts
    .slice()
    .sort((x, y) => (SEVERITY[y.severity] || 0) - (SEVERITY[x.severity] || 0))
    .map((al) => {
      // Staleness and reports owed are not about the figures.
      const about = al.rule === "ALERT_RULE_STALE_DATA" || al.rule === "ALERT_RULE_REPORT_OVERDUE";
      const figures = about ? "" : `（${t("actualOf")(fmtMoney(al.actual), fmtMoney(al.expected))}）`;
      return state.lang === "zh" ? `${t(al.rule)}${figures}` : `${t(al.rule)}${figures.replace("（", " (").replace("）", ")")}`;
    });
  return el("li", { "data-unit": unit, "data-alert": alerts.map((a) => a.name).join(" "), "data-status": status },
    light(status), " ", el("b", {}, state.names[unit] || unit), state.lang === "zh" ? "：" : ": ", rules.join(state.lang === "zh" ? "；" : "; "));
}

// The live feed: the gateway's NDJSON bridge of WatchAlerts. Each event
// updates the dashboard's alerts and the page is drawn again from them.
async function watchAlerts(unit) {
  if (state.watch) state.watch.abort();
  const ctl = new AbortController(); state.watch = ctl;
  state.live = false; $("#live").textContent = "";
  try {
    const resp = await fetch(`/v1/${unit}/alerts:watch`, { headers: { Authorization: `Bearer ${state.token}` }, signal: ctl.signal });
    if (!resp.ok || !resp.body) return;
    state.live = true; $("#live").textContent = t("live");
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
        if (!ev.alert || !state.dashboard) continue;
        const d = state.dashboard;
        d.openAlerts = (d.openAlerts || []).filter((x) => x.name !== ev.alert.name);
        if (ev.alert.state === "ALERT_STATE_OPEN") d.openAlerts.unshift(ev.alert);
        render(d);
      }
    }
  } catch (_) { /* aborted or the connection ended */ }
  if (state.watch === ctl) { state.live = false; $("#live").textContent = ""; }
}

// Round axis steps: 1, 2, 2.5 or 5 × 10^k, about four of them.
function niceStep(max) {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
}
// An axis tick: at most two decimals, none when whole ("2.5万", "¥25k").
function tickNumber(x) { return x.toLocaleString("en-US", { maximumFractionDigits: 2 }); }
function shortMoney(v) {
  if (state.scale === "wan") return state.lang === "zh" ? `${tickNumber(v / 10000)}万` : `¥${tickNumber(v / 1000)}k`;
  return `¥${tickNumber(v)}`;
}

// The burn-up chart: cumulative target (grey), milestones (amber), actual
// (blue); as wide as its panel, with round ticks.
function chart(b) {
  const svg = $("#chart"); svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const node = (tag, attrs) => { const n = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); svg.append(n); return n; };
  const has = b && b.days && b.days.length;
  section("#chart-panel", !!has);
  if (!has) return;
  const W = Math.max(320, Math.round(svg.clientWidth || svg.parentElement.clientWidth || 640)), H = 260;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const L = 78, R = 14, T = 12, B = 30;
  const days = b.days;
  const top = Math.max(toNumber(b.periodTarget), ...days.map((d) => Math.max(toNumber(d.targetToDate), toNumber(d.milestoneToDate), toNumber(d.actualToDate)))) || 1;
  const step = niceStep(top);
  const max = Math.ceil(top / step) * step;
  const x = (i) => L + (i * (W - L - R)) / Math.max(days.length - 1, 1);
  const y = (v) => H - B - (v * (H - T - B)) / max;
  for (let v = 0; v <= max + step / 2; v += step) {
    node("line", { x1: L, y1: y(v), x2: W - R, y2: y(v), stroke: v ? "#e3e7ee" : "#c5ccd8" });
    node("text", { x: L - 6, y: y(v) + 3, "text-anchor": "end", class: "tick" }).textContent = shortMoney(v);
  }
  const every = Math.max(1, Math.ceil(days.length / Math.max(2, Math.floor((W - L - R) / 60))));
  days.forEach((d, i) => {
    if (i % every && i !== days.length - 1) return;
    node("text", { x: x(i), y: H - 10, "text-anchor": i === 0 ? "start" : i === days.length - 1 ? "end" : "middle" }).textContent = d.date.slice(5);
  });
  const line = (pick, cls, color, width) => {
    const pts = days.map((d, i) => [i, pick(d)]).filter(([, v]) => v !== null);
    if (!pts.length) return;
    node("path", { class: cls, d: pts.map(([i, v], k) => `${k ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(""), fill: "none", stroke: color, "stroke-width": width });
  };
  line((d) => toNumber(d.targetToDate), "target", "#6b7893", 1.5);
  line((d) => toNumber(d.milestoneToDate), "milestone", "#b07f00", 1.5);
  line((d) => (d.actualToDate ? toNumber(d.actualToDate) : null), "actual", "#1d4f9a", 2.5);
  for (const m of b.milestones || []) {
    const i = m.dayOfPeriod - 1; if (i < 0 || i >= days.length) continue;
    const v = toNumber(days[i].milestoneToDate);
    node("circle", { class: "milestone-mark", cx: x(i), cy: y(v), r: 4, fill: "#b07f00" });
    node("text", { x: x(i) + 5, y: y(v) - 6 }).textContent = `${m.percent}%`;
  }
}

function setScaleOptions() {
  for (const o of $("#scale").options) o.textContent = t(o.value);
}

$("#signin").addEventListener("click", signIn);
$("#logout").addEventListener("click", signOut);
$("#lang").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh"; localStorage.setItem("attain.lang", state.lang);
  setScaleOptions(); applyLanguage();
});
$("#scale").addEventListener("change", (e) => { state.scale = e.target.value; localStorage.setItem("attain.scale", state.scale); if (state.dashboard) render(state.dashboard); });
$("#period").addEventListener("change", () => { if (state.trail.length) open(state.trail[state.trail.length - 1]); });
window.addEventListener("resize", () => { if (state.dashboard) chart(state.dashboard.burnUp); });
(function init() {
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("period")) $("#period").value = hash.get("period");
  if (hash.get("lang") === "en" || hash.get("lang") === "zh") state.lang = hash.get("lang");
  if (/^units\/[A-Za-z0-9._-]+$/.test(hash.get("unit") || "")) state.wanted = hash.get("unit");
  $("#scale").value = state.scale;
  setScaleOptions();
  applyLanguage();
  if (hash.get("token")) {
    // A token never stays in the address bar, where it would be copied
    // into a bug report.
    $("#token").value = hash.get("token");
    hash.delete("token");
    history.replaceState(null, "", `${location.pathname}${hash.toString() ? `#${hash}` : ""}`);
    signIn();
  }
  else if (state.token) { $("#token").value = state.token; signIn(); }
})();
