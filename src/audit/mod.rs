//! `attain audit` (DESIGN §3 Figures audit): for a plan, a unit's subtree, a
//! period and an as-of date, read the raw records through the public API
//! with the caller's own token — the plan's rules, targets with their
//! phasing, deals with their credit lines and reversals, opportunities and
//! daily logs — recompute every figure the attainment reads, child
//! attainments, the dashboard (cached or not), its burn-up, open review
//! briefs and period closes show, with arithmetic of its own
//! ([`recompute`]), and list every difference.

pub mod recompute;

use std::collections::HashMap;

use attain_kit::period::Period;
use attain_proto::attain::{
    common::v1::{self as common, Money},
    gateway::v1::{self as gpb, gateway_service_client::GatewayServiceClient},
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use tonic::{Request, Status, transport::Channel};

use recompute::{
    Calendar, Curves, DealRecord, Inputs, Light, PlanRules, Recomputed, Shape, Span, TargetRecord, Targets,
};

/// What to audit.
#[derive(Debug, Clone)]
pub struct Audit {
    /// "plans/{plan_id}"
    pub plan: String,
    /// "units/{unit_id}"; empty: the plan's top unit.
    pub unit: String,
    pub period: String,
    /// The day figures are measured at (the services' today).
    pub as_of: NaiveDate,
}

/// A figure shown that the records do not bear out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub unit: String,
    /// Where it was shown and which figure: "dashboard attainment.actual".
    pub figure: String,
    pub shown: String,
    pub recomputed: String,
}

/// The audit's answer: how many figures it checked and what differed.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub checked: usize,
    pub differences: Vec<Difference>,
}

/// The records the figures are made of, and the figures shown.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub plan: tpb::Plan,
    pub units: Vec<tpb::Unit>,
    pub targets: Vec<tpb::Target>,
    pub deals: Vec<kpb::Deal>,
    pub last_year: Vec<kpb::Deal>,
    pub opportunities: Vec<kpb::Opportunity>,
    pub logs: Vec<kpb::DailyLog>,
    /// Figures as shown, by where: "attainment", "children", "dashboard"…
    pub shown: Vec<(String, kpb::Attainment)>,
    pub burn_up: Option<kpb::BurnUp>,
    pub briefs: Vec<rpb::Review>,
    pub close: Option<kpb::PeriodClose>,
}

struct Client {
    channel: Channel,
    token: String,
}

impl Client {
    fn r<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        if let Ok(v) = format!("Bearer {}", self.token).parse() {
            r.metadata_mut().insert("authorization", v);
        }
        r
    }
}

/// Reads everything through the gateway at `gateway` ("http://host:port").
/// The audit reads a whole organisation (its subtree and targets) in one
/// answer: 50,000 reps are about 6 MB, past tonic's 4 MB default.
const WHOLE_ORG: usize = 256 << 20;

pub async fn gather(gateway: &str, token: &str, a: &Audit) -> Result<Evidence, Status> {
    let channel = Channel::from_shared(gateway.to_owned())
        .map_err(|e| Status::invalid_argument(format!("gateway: {e}")))?
        .connect()
        .await
        .map_err(|e| Status::unavailable(format!("cannot reach the gateway at {gateway}: {e}")))?;
    let c = Client { channel, token: token.to_owned() };
    let mut targets_api = TargetServiceClient::new(c.channel.clone()).max_decoding_message_size(WHOLE_ORG);
    let mut org = OrgServiceClient::new(c.channel.clone()).max_decoding_message_size(WHOLE_ORG);
    let mut tracking = TrackingServiceClient::new(c.channel.clone()).max_decoding_message_size(WHOLE_ORG);
    let plan = targets_api.get_plan(c.r(tpb::GetPlanRequest { name: a.plan.clone() })).await?.into_inner();
    let unit = if a.unit.is_empty() { plan.top_unit.clone() } else { a.unit.clone() };
    let span = span_of(&plan, &a.period)?;
    let units = org
        .get_subtree(c.r(tpb::GetSubtreeRequest { name: unit.clone(), include_former: true }))
        .await?
        .into_inner()
        .units;

    let targets = all_pages(|page_token| {
        let mut api = targets_api.clone();
        let r = c.r(tpb::ListTargetsRequest {
            parent: a.plan.clone(),
            unit: unit.clone(),
            page_size: 1000,
            page_token,
            as_of: None,
        });
        async move { api.list_targets(r).await.map(|p| p.into_inner()).map(|p| (p.targets, p.next_page_token)) }
    })
    .await?;
    let range = |from: NaiveDate, to: NaiveDate| format!("{from}..{to}");
    let deals = list_deals(&c, &tracking, &unit, &range(span.start, span.end)).await?;
    let (ly_start, ly_end) = (back_a_year(span.start), back_a_year(span.end));
    let last_year = list_deals(&c, &tracking, &unit, &range(ly_start, ly_end)).await?;
    let opportunities =
        all_pages(|page_token| {
            let mut api = tracking.clone();
            let period = range(span.start, span.end);
            let r = c.r(kpb::ListOpportunitiesRequest { unit: unit.clone(), period, page_size: 1000, page_token });
            async move {
                api.list_opportunities(r).await.map(|p| p.into_inner()).map(|p| (p.opportunities, p.next_page_token))
            }
        })
        .await?;
    let logs = all_pages(|page_token| {
        let mut api = tracking.clone();
        let period = range(span.start, span.end);
        let r = c.r(kpb::ListDailyLogsRequest { unit: unit.clone(), period, page_size: 1000, page_token });
        async move { api.list_daily_logs(r).await.map(|p| p.into_inner()).map(|p| (p.daily_logs, p.next_page_token)) }
    })
    .await?;

    // What is shown: the attainment reads, the dashboard (twice: the
    // second may come from the cache), its burn-up, open review briefs and
    // the period's close.
    let as_of_date = a.as_of.format("%Y-%m-%d").to_string();
    let mut shown = Vec::new();
    let read = tracking
        .list_child_attainments(c.r(kpb::ListChildAttainmentsRequest {
            unit: unit.clone(),
            period: a.period.clone(),
            as_of_date: as_of_date.clone(),
            ..Default::default()
        }))
        .await?
        .into_inner();
    shown.extend(read.parent.map(|p| ("attainment".to_owned(), p)));
    shown.extend(read.children.into_iter().map(|x| ("child attainments".to_owned(), x)));
    let mut gateway_api = GatewayServiceClient::new(c.channel.clone()).max_decoding_message_size(WHOLE_ORG);
    let mut burn_up = None;
    for pass in ["dashboard", "dashboard (again)"] {
        let d = gateway_api
            .get_dashboard(c.r(gpb::GetDashboardRequest {
                unit: unit.clone(),
                period: a.period.clone(),
                plan: a.plan.clone(),
                as_of_date: as_of_date.clone(),
                ..Default::default()
            }))
            .await?
            .into_inner();
        shown.extend(d.attainment.map(|x| (format!("{pass} attainment"), x)));
        shown.extend(d.children.into_iter().map(|x| (format!("{pass} children"), x)));
        burn_up = burn_up.or(d.burn_up);
    }
    // The dashboard as a page opens it (no plan, no day: the services'
    // today and the published plan) is kept under its own key: what the
    // caller's users read from the cache, checked when it measures what
    // this audit recomputes.
    let today = gateway_api.get_caller(c.r(gpb::GetCallerRequest {})).await?.into_inner().today;
    let amount = [common::Metric::Unspecified, common::Metric::Amount].map(|m| m as i32);
    let published = plan.state == tpb::PlanState::Published as i32 && amount.contains(&plan.metric);
    if published && today == as_of_date {
        let d = gateway_api
            .get_dashboard(c.r(gpb::GetDashboardRequest {
                unit: unit.clone(),
                period: a.period.clone(),
                ..Default::default()
            }))
            .await?
            .into_inner();
        shown.extend(d.attainment.map(|x| ("dashboard (as opened) attainment".to_owned(), x)));
        shown.extend(d.children.into_iter().map(|x| ("dashboard (as opened) children".to_owned(), x)));
    }
    let mut reviews = ReviewServiceClient::new(c.channel.clone()).max_decoding_message_size(WHOLE_ORG);
    let briefs = reviews
        .list_reviews(c.r(rpb::ListReviewsRequest { unit: unit.clone(), page_size: 1000, ..Default::default() }))
        .await?
        .into_inner()
        .reviews
        .into_iter()
        // Every open review of the period in the subtree (the unit's own and
        // those of the units below it throughout the period: the records of
        // one that moved in or out are not all here — a unit above both
        // audits it).
        .filter(|r| {
            r.state == rpb::ReviewState::Open as i32
                && r.period.as_ref().is_some_and(|p| p.expression == a.period)
                && units.iter().any(|u| u.name == r.unit && under_throughout(u, &unit, (span.start, span.end)))
        })
        .collect();
    let close = match tracking
        .get_period_close(c.r(kpb::GetPeriodCloseRequest { unit: unit.clone(), period: a.period.clone() }))
        .await
    {
        Ok(r) => Some(r.into_inner()),
        Err(s) if matches!(s.code(), tonic::Code::NotFound | tonic::Code::FailedPrecondition) => None,
        Err(s) => return Err(s),
    };
    Ok(Evidence { plan, units, targets, deals, last_year, opportunities, logs, shown, burn_up, briefs, close })
}

/// Every page of a listing: `page(token)` answers (rows, next token).
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, Status>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, String), Status>>,
{
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let (rows, next) = page(token).await?;
        out.extend(rows);
        if next.is_empty() {
            return Ok(out);
        }
        token = next;
    }
}

async fn list_deals(
    c: &Client,
    tracking: &TrackingServiceClient<Channel>,
    unit: &str,
    period: &str,
) -> Result<Vec<kpb::Deal>, Status> {
    all_pages(|page_token| {
        let mut api = tracking.clone();
        let r = c.r(kpb::ListDealsRequest {
            unit: unit.to_owned(),
            period: period.to_owned(),
            page_size: 1000,
            page_token,
            as_of: None,
        });
        async move { api.list_deals(r).await.map(|p| p.into_inner()).map(|p| (p.deals, p.next_page_token)) }
    })
    .await
}

fn back_a_year(d: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    d.with_year(d.year() - 1).or_else(|| (d - Duration::days(1)).with_year(d.year() - 1)).unwrap_or(d)
}

fn dec(s: &str) -> Option<Decimal> {
    s.trim().parse().ok()
}

fn money(m: Option<&Money>) -> Option<Decimal> {
    m.and_then(|m| dec(&m.amount))
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn span_of(plan: &tpb::Plan, expr: &str) -> Result<Span, Status> {
    let fsm = u32::try_from(plan.fiscal_start_month).unwrap_or(1);
    let bad = |e: attain_kit::DomainError| Status::invalid_argument(format!("period: {e}"));
    let p = Period::parse("period", expr, fsm).map_err(bad)?;
    let year = Period::parse("plan", &format!("{:04}", plan.fiscal_year), fsm).map_err(bad)?;
    p.require_within("period", &year).map_err(bad)?;
    use attain_kit::period::Granularity;
    Ok(Span::new(p.start, p.end, p.granularity == Granularity::Month, p.granularity == Granularity::Custom))
}

fn shape(c: Option<&tpb::PhasingCurve>) -> Option<Shape> {
    let c = c?;
    let list = |v: &[String]| v.iter().filter_map(|x| dec(x)).collect::<Vec<_>>();
    if !c.ramp_percents.is_empty() {
        let base = shape(Some(&tpb::PhasingCurve { ramp_percents: Vec::new(), ramp_from: String::new(), ..c.clone() }));
        return Some(Shape::Ramp(
            Box::new(base.unwrap_or(Shape::WorkingDays)),
            date(&c.ramp_from)?,
            list(&c.ramp_percents),
        ));
    }
    match tpb::PhasingMethod::try_from(c.method).ok()? {
        tpb::PhasingMethod::Even => Some(Shape::Even),
        tpb::PhasingMethod::WorkingDays => Some(Shape::WorkingDays),
        tpb::PhasingMethod::Profile => Some(Shape::Profile(list(&c.profile_percents))),
        tpb::PhasingMethod::LastYear => Some(Shape::LastYear(list(&c.last_year_monthly))),
        tpb::PhasingMethod::Unspecified => None,
    }
}

fn checkpoints(ms: &[tpb::Milestone]) -> Vec<recompute::Checkpoint> {
    ms.iter().filter_map(|m| Some((u32::try_from(m.day_of_period).ok()?, dec(&m.percent)?))).collect()
}

fn rules(plan: &tpb::Plan) -> Result<PlanRules, Status> {
    let fsm = u32::try_from(plan.fiscal_start_month).unwrap_or(1);
    let year = Period::parse("plan", &format!("{:04}", plan.fiscal_year), fsm)
        .map_err(|e| Status::internal(format!("the plan's year: {e}")))?;
    let cal = plan.calendar.clone().unwrap_or_default();
    let weekend = if cal.weekend_days.is_empty() {
        [6, 7].into()
    } else {
        cal.weekend_days.iter().filter_map(|d| u32::try_from(*d).ok()).collect()
    };
    let thresholds = plan.alert_thresholds.clone().unwrap_or_default();
    Ok(PlanRules {
        year_start: year.start,
        year_end: year.end,
        rounding: dec(&plan.rounding_unit).unwrap_or(Decimal::new(1, 2)),
        calendar: Calendar {
            weekend,
            holidays: cal.holidays.iter().filter_map(|d| date(d)).collect(),
            working_weekends: cal.working_weekends.iter().filter_map(|d| date(d)).collect(),
        },
        default_shape: shape(plan.default_phasing.as_ref()).unwrap_or(Shape::WorkingDays),
        template: checkpoints(&plan.milestone_template),
        red_below: dec(&thresholds.red_below_percent).unwrap_or(Decimal::from(80)),
        yellow_below: dec(&thresholds.yellow_below_percent).unwrap_or(Decimal::ONE_HUNDRED),
    })
}

fn deal_records(deals: &[kpb::Deal]) -> Vec<DealRecord> {
    let bare = |p: &[String]| p.iter().map(|u| u.trim_start_matches("units/").to_owned()).collect::<Vec<_>>();
    deals
        .iter()
        .filter_map(|d| {
            let won = if d.kind == kpb::DealKind::Reversal as i32 { -1 } else { 1 };
            let lines = if d.credits.is_empty() {
                vec![(bare(&d.booked_path), money(d.amount.as_ref())?)]
            } else {
                d.credits.iter().filter_map(|c| Some((bare(&c.booked_path), money(c.amount.as_ref())?))).collect()
            };
            Some(DealRecord { close: date(&d.close_date)?, won, lines })
        })
        .collect()
}

/// Recomputes everything `e` shows and compares.
pub fn check(a: &Audit, e: &Evidence) -> Result<Outcome, Status> {
    let plan = rules(&e.plan)?;
    let span = span_of(&e.plan, &a.period)?;
    let targets = target_records(&e.targets);
    let (deals, last_year) = (deal_records(&e.deals), deal_records(&e.last_year));
    let inputs = Inputs { plan: &plan, targets: &targets, deals: &deals, last_year: &last_year, span, day: a.as_of };
    let lost = losses(e, span.start, a.as_of.min(span.end));
    let mut c = Checker {
        inputs: &inputs,
        evidence: e,
        curves: Curves::new(&plan),
        figures: HashMap::new(),
        lost: &lost,
        out: Outcome::default(),
    };
    for (source, shown) in &e.shown {
        c.attainment(source, shown);
    }
    if let Some(b) = &e.burn_up {
        c.burn_up(b);
    }
    for review in &e.briefs {
        c.brief(review);
    }
    if let Some(close) = &e.close {
        c.close(close);
    }
    Ok(c.out)
}

fn target_records(targets: &[tpb::Target]) -> Targets {
    Targets::new(
        targets
            .iter()
            .map(|t| TargetRecord {
                id: t.name.clone(),
                unit: t.unit.trim_start_matches("units/").to_owned(),
                sliced: t
                    .dimensions
                    .as_ref()
                    .is_some_and(|d| !d.product_line.is_empty() || !d.customer_type.is_empty()),
                amount: money(t.amount.as_ref()).unwrap_or_default(),
                original: money(t.original_amount.as_ref().or(t.amount.as_ref())).unwrap_or_default(),
                parent: (!t.parent_target.is_empty()).then(|| t.parent_target.clone()),
                shape: shape(t.phasing.as_ref()),
                milestones: checkpoints(&t.milestones),
                start: chrono::NaiveDate::parse_from_str(&t.start_date, "%Y-%m-%d").ok(),
                steps: t
                    .steps
                    .iter()
                    .filter_map(|s| {
                        let day = chrono::NaiveDate::parse_from_str(&s.effective_date, "%Y-%m-%d").ok()?;
                        Some((day, money(s.change.as_ref())?))
                    })
                    .collect(),
                moves: t
                    .moves
                    .iter()
                    .filter_map(|m| {
                        let day = chrono::NaiveDate::parse_from_str(&m.effective_date, "%Y-%m-%d").ok()?;
                        Some((day, m.parent_before.clone(), money(m.carried.as_ref())?))
                    })
                    .collect(),
            })
            .collect(),
    )
}

/// Recomputes each unit's figures once and compares every figure shown.
struct Checker<'a> {
    inputs: &'a Inputs<'a>,
    evidence: &'a Evidence,
    curves: Curves<'a>,
    figures: HashMap<String, Recomputed>,
    lost: &'a HashMap<&'a str, i64>,
    out: Outcome,
}

impl Checker<'_> {
    fn cmp(&mut self, unit: &str, figure: String, shown: Option<Decimal>, want: Option<Decimal>) {
        let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string());
        self.out.compare(unit, figure, text(shown), text(want));
    }

    fn status(&mut self, unit: &str, figure: String, shown: i32, want: Light) {
        let want = match want {
            Light::Green => common::Status::Green,
            Light::Yellow => common::Status::Yellow,
            Light::Red => common::Status::Red,
            Light::NoTarget => common::Status::NoTarget,
        };
        self.cmp(unit, figure, Some(Decimal::from(shown)), Some(Decimal::from(want as i32)));
    }

    fn figures_of(&mut self, unit: &str) -> Recomputed {
        let (inputs, curves) = (self.inputs, &mut self.curves);
        self.figures.entry(unit.to_owned()).or_insert_with(|| recompute::figures(inputs, curves, unit)).clone()
    }

    /// A drill-down row of a member for part of the period (it joined or
    /// left in it): recomputed over the row's own days.
    fn part_of_period(&mut self, shown: &kpb::Attainment) -> Option<(Recomputed, HashMap<String, i64>)> {
        let p = shown.period.as_ref()?;
        self.over_days(&shown.unit, (&p.start_date, &p.end_date))
    }

    /// A unit's figures over some days of the period (None: the whole
    /// period, or days outside it), with the losses over those days.
    fn over_days(&mut self, unit: &str, (first, last): (&str, &str)) -> Option<(Recomputed, HashMap<String, i64>)> {
        let (start, end) = (date(first)?, date(last)?);
        let span = self.inputs.span;
        if (start, end) == (span.start, span.end) || start < span.start || end > span.end {
            return None;
        }
        let inputs = Inputs { span: Span::new(start, end, false, true), ..*self.inputs };
        let unit = unit.trim_start_matches("units/");
        let f = recompute::figures(&inputs, &mut self.curves, unit);
        let lost = losses(self.evidence, start, self.inputs.day.min(end));
        Some((f, lost.into_iter().map(|(u, n)| (u.to_owned(), n)).collect()))
    }

    /// An attainment read (one unit, a child, the dashboard's).
    fn attainment(&mut self, source: &str, shown: &kpb::Attainment) {
        let unit = shown.unit.trim_start_matches("units/").to_owned();
        let (f, lost) = match self.part_of_period(shown) {
            Some((f, lost)) => (f, Some(lost)),
            None => (self.figures_of(&unit), None),
        };
        let name = &shown.unit;
        let money_of = |m: &Option<Money>| money(m.as_ref());
        self.cmp(name, format!("{source}.target"), money_of(&shown.target), Some(f.target));
        self.cmp(name, format!("{source}.original_target"), money_of(&shown.original_target), Some(f.original_target));
        self.cmp(name, format!("{source}.actual"), money_of(&shown.actual), Some(f.actual));
        self.cmp(name, format!("{source}.attainment_rate"), dec(&shown.attainment_rate), f.rate);
        self.cmp(name, format!("{source}.gap"), money_of(&shown.gap), Some(f.gap));
        self.cmp(name, format!("{source}.expected_to_date"), money_of(&shown.expected_to_date), Some(f.expected));
        self.cmp(name, format!("{source}.time_progress"), dec(&shown.time_progress), Some(f.progress.round_dp(6)));
        self.cmp(name, format!("{source}.pace"), dec(&shown.pace), f.pace);
        self.cmp(name, format!("{source}.forecast"), money_of(&shown.forecast), Some(f.forecast));
        self.cmp(name, format!("{source}.yoy_growth"), dec(&shown.yoy_growth), f.yoy);
        self.cmp(name, format!("{source}.average_order_value"), money_of(&shown.average_order_value), f.aov);
        let won = Some(Decimal::from(f.won));
        self.cmp(name, format!("{source}.deals_won"), Some(Decimal::from(shown.deals_won)), won);
        let conversion = match &lost {
            Some(lost) => conversion(&lost.iter().map(|(u, n)| (u.as_str(), *n)).collect(), &unit, f.won),
            None => conversion(self.lost, &unit, f.won),
        };
        self.cmp(name, format!("{source}.conversion_rate"), dec(&shown.conversion_rate), conversion);
        self.status(name, format!("{source}.status"), shown.status, f.light);
    }

    /// The dashboard's burn-up, day by day.
    fn burn_up(&mut self, b: &kpb::BurnUp) {
        let unit = b.unit.trim_start_matches("units/").to_owned();
        let (plan, targets, span, as_of) = (self.inputs.plan, self.inputs.targets, self.inputs.span, self.inputs.day);
        let Some(i) = targets.of_unit(&unit) else { return };
        let period_target = targets.period(&mut self.curves, plan, i, span).0;
        self.cmp(&b.unit, "burn_up.period_target".into(), money(b.period_target.as_ref()), Some(period_target));
        for day in &b.days {
            let Some(d) = date(&day.date) else { continue };
            let by_curve = targets.by_curve(&mut self.curves, plan, i, span, d);
            self.cmp(
                &b.unit,
                format!("burn_up {}.target_to_date", day.date),
                money(day.target_to_date.as_ref()),
                Some(by_curve),
            );
            let by_milestone = targets.by_milestone(&mut self.curves, plan, i, span, d);
            let shown = money(day.milestone_to_date.as_ref());
            self.cmp(&b.unit, format!("burn_up {}.milestone_to_date", day.date), shown, Some(by_milestone));
            let actual = (d <= as_of).then(|| recompute::actual(self.inputs.deals, &unit, span.start, d).0);
            self.cmp(
                &b.unit,
                format!("burn_up {}.actual_to_date", day.date),
                money(day.actual_to_date.as_ref()),
                actual,
            );
        }
    }

    /// An open review's brief: the unit's line and its members'.
    fn brief(&mut self, review: &rpb::Review) {
        let Some(brief) = &review.brief else { return };
        let source = format!("{} brief", review.name);
        for m in brief.unit.iter().chain(&brief.members) {
            let unit = m.unit.trim_start_matches("units/").to_owned();
            let (f, lost) = match self.over_days(&m.unit, (&m.first_day, &m.last_day)) {
                Some((f, lost)) => (f, Some(lost)),
                None => (self.figures_of(&unit), None),
            };
            let u = &m.unit;
            self.cmp(u, format!("{source}.target"), money(m.target.as_ref()), Some(f.target));
            self.cmp(
                u,
                format!("{source}.original_target"),
                money(m.original_target.as_ref()),
                Some(f.original_target),
            );
            self.cmp(u, format!("{source}.actual"), money(m.actual.as_ref()), Some(f.actual));
            self.cmp(u, format!("{source}.attainment_rate"), dec(&m.attainment_rate), f.rate);
            self.cmp(u, format!("{source}.gap"), money(m.gap.as_ref()), Some(f.gap));
            self.cmp(u, format!("{source}.yoy_growth"), dec(&m.yoy_growth), f.yoy);
            self.cmp(u, format!("{source}.average_order_value"), money(m.average_order_value.as_ref()), f.aov);
            let conversion = match &lost {
                Some(lost) => conversion(&lost.iter().map(|(u, n)| (u.as_str(), *n)).collect(), &unit, f.won),
                None => conversion(self.lost, &unit, f.won),
            };
            self.cmp(u, format!("{source}.conversion_rate"), dec(&m.conversion_rate), conversion);
            self.status(u, format!("{source}.status"), m.status, f.light);
        }
    }

    /// A closed period: today's actual is the records' (the period has
    /// ended), the frozen one plus what was recorded since.
    fn close(&mut self, close: &kpb::PeriodClose) {
        let (plan, targets, span) = (self.inputs.plan, self.inputs.targets, self.inputs.span);
        for u in &close.units {
            let unit = u.unit.trim_start_matches("units/").to_owned();
            let (now, _) = recompute::actual(self.inputs.deals, &unit, span.start, span.end);
            self.cmp(&u.unit, "close.current_actual".into(), money(u.current_actual.as_ref()), Some(now));
            let frozen = money(u.actual.as_ref()).unwrap_or_default();
            let shown = money(u.post_close_adjustment.as_ref());
            self.cmp(&u.unit, "close.post_close_adjustment".into(), shown, Some(now - frozen));
            if let Some(i) = targets.of_unit(&unit) {
                let (t, o) = targets.period(&mut self.curves, plan, i, span);
                self.cmp(&u.unit, "close.target".into(), money(u.target.as_ref()), Some(t));
                self.cmp(&u.unit, "close.original_target".into(), money(u.original_target.as_ref()), Some(o));
            }
        }
    }
}

/// Won over won + lost, as the services state it (none without either).
fn conversion(lost: &HashMap<&str, i64>, unit: &str, won: i64) -> Option<Decimal> {
    let closed = won + lost.get(unit).copied().unwrap_or(0);
    (closed > 0).then(|| recompute::ratio(Decimal::from(won), Decimal::from(closed))).flatten()
}

/// Deals lost per unit over `[from, to]`: lost opportunities by close date
/// and lost deals in daily logs, on the rep's path on that date.
fn losses(e: &Evidence, from: NaiveDate, to: NaiveDate) -> HashMap<&str, i64> {
    let units: HashMap<&str, &tpb::Unit> = e.units.iter().map(|u| (u.name.as_str(), u)).collect();
    let mut out: HashMap<&str, i64> = HashMap::new();
    let mut add = |rep: &str, day: NaiveDate, n: i64| {
        if let Some(u) = units.get(rep) {
            for id in path_on(u, day) {
                *out.entry(id).or_default() += n;
            }
        }
    };
    for o in &e.opportunities {
        if let Some(d) = date(&o.close_date).filter(|d| *d >= from && *d <= to)
            && o.outcome == kpb::OpportunityOutcome::Lost as i32
        {
            add(&o.rep, d, 1);
        }
    }
    for l in &e.logs {
        if let Some(d) = date(&l.log_date).filter(|d| *d >= from && *d <= to) {
            add(&l.rep, d, i64::try_from(l.lost_deals.len()).unwrap_or(i64::MAX));
        }
    }
    out
}

/// Whether `u` is `root` or sat below it on every day from `start` to `end`.
fn under_throughout(u: &tpb::Unit, root: &str, (start, end): (NaiveDate, NaiveDate)) -> bool {
    if u.name == root {
        return true;
    }
    let mut from: Option<NaiveDate> = None;
    for p in &u.former_places {
        let until = date(&p.until);
        let overlaps = from.is_none_or(|f| f <= end) && until.is_none_or(|t| t >= start);
        if overlaps && !p.ancestors.iter().any(|a| a == root) {
            return false;
        }
        from = until.and_then(|t| t.succ_opt());
    }
    from.is_some_and(|f| f > end) || u.ancestors.iter().any(|a| a == root)
}

/// A unit's path (ids, root first, the unit last) on `day`: where it sat
/// then, before or after its moves.
fn path_on(u: &tpb::Unit, day: NaiveDate) -> Vec<&str> {
    let ancestors = u
        .former_places
        .iter()
        .find(|p| date(&p.until).is_some_and(|until| until >= day))
        .map_or(&u.ancestors, |p| &p.ancestors);
    ancestors
        .iter()
        .map(|a| a.trim_start_matches("units/"))
        .chain(std::iter::once(u.name.trim_start_matches("units/")))
        .collect()
}

impl Outcome {
    fn compare(&mut self, unit: &str, figure: String, shown: Option<String>, want: Option<String>) {
        self.checked += 1;
        if shown != want {
            let text = |s: Option<String>| s.unwrap_or_else(|| "(none)".to_owned());
            let (shown, recomputed) = if figure.ends_with(".status") {
                (status_name(shown.as_deref()), status_name(want.as_deref()))
            } else {
                (text(shown), text(want))
            };
            self.differences.push(Difference { unit: unit.to_owned(), figure, shown, recomputed });
        }
    }
}

fn status_name(code: Option<&str>) -> String {
    code.and_then(|c| c.parse::<i32>().ok())
        .and_then(|c| common::Status::try_from(c).ok())
        .map_or_else(|| "(none)".to_owned(), |s| s.as_str_name().trim_start_matches("STATUS_").to_owned())
}

/// Gathers, recomputes and compares.
pub async fn run(gateway: &str, token: &str, a: &Audit) -> Result<Outcome, Status> {
    let evidence = gather(gateway, token, a).await?;
    // A unit the caller reads for part of the period only (it moved in or
    // out of their scope) is shown over those days: audited over them.
    let span = span_of(&evidence.plan, &a.period)?;
    let whole = (span.start.to_string(), span.end.to_string());
    let shown = evidence.shown.iter().find(|(w, _)| w == "attainment").and_then(|(_, x)| x.period.as_ref());
    if let Some(days) = shown.filter(|p| (p.start_date.clone(), p.end_date.clone()) != whole) {
        let part = Audit { period: format!("{}..{}", days.start_date, days.end_date), ..a.clone() };
        let evidence = gather(gateway, token, &part).await?;
        return check(&part, &evidence);
    }
    check(a, &evidence)
}
