//! The authorization matrix over every RPC of every service and every REST
//! route of the gateway: 5 roles (ADMIN, region MANAGER, team MANAGER, REP,
//! VIEWER) × 4 owners (own, below — for a rep: above —, sibling, unknown id)
//! with who may do what written down as data (`Grid`s), every cell asserted
//! through the gateway on PostgreSQL.
//!
//! A denied cell must answer PERMISSION_DENIED whether the resource is out of
//! scope or missing (ids cannot be probed); an admin asking for a missing id
//! learns it is missing. An allowed cell must get through: OK, or a state
//! error the RPC lists (a review already open, an adjustment already
//! decided) — and every RPC must answer OK at least once, so its request is
//! known to be good. The RPC list is checked against the descriptor set: a
//! new RPC without a row fails this test.

use std::{collections::HashMap, fmt::Write as _};

use crate::support::Suite;
use attain_gateway::rest::codec::RawCodec;
use attain_kit::{
    auth::Role,
    http_client::{request, stream_lines},
    testing::{Backend, token},
};
use attain_proto::attain::{
    common::v1::{Money, Period},
    gateway::v1 as gpb,
    notify::v1 as npb,
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use bytes::Bytes;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, Value as PValue};
use serde_json::Value;
use tonic::{Code, Request, transport::Channel};

/// Allowed, denied, or the unknown-id column (the admin's answer there is
/// the RPC's `unknown` code; everyone else's is PERMISSION_DENIED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum E {
    Y,
    N,
    U,
}
use E::{N, U, Y};

/// Rows: ADMIN, region MANAGER, team MANAGER, REP, VIEWER. Columns: own
/// unit, a unit below (a rep: its region above), a sibling, an unknown id.
type Grid = [[E; 4]; 5];

/// Reads of a unit's data: the caller's subtree; a rep only itself.
const READ: Grid = [[Y, Y, Y, U], [Y, Y, N, N], [Y, Y, N, N], [Y, N, N, N], [Y, Y, N, N]];
/// A rep's work (deals, logs, opportunities, requests): as READ, but viewers
/// are read-only.
const ACT: Grid = [[Y, Y, Y, U], [Y, Y, N, N], [Y, Y, N, N], [Y, N, N, N], [N, N, N, N]];
/// Run by the unit's managers (its own or above) and admins.
const LEAD: Grid = [[Y, Y, Y, U], [Y, Y, N, N], [Y, Y, N, N], [N, N, N, N], [N, N, N, N]];
/// Changing a unit or its target: admins, or a manager strictly above it
/// (never one's own unit or target).
const MANAGE: Grid = [[Y, Y, Y, U], [N, Y, N, N], [N, Y, N, N], [N, N, N, N], [N, N, N, N]];
/// Sales operations only.
const ADMIN: Grid = [[Y, Y, Y, U], [N, N, N, N], [N, N, N, N], [N, N, N, N], [N, N, N, N]];
/// Company-wide reads for sales operations (and service accounts) only,
/// naming no unit.
const ADMIN_ANY: Grid = [[Y, Y, Y, Y], [N, N, N, N], [N, N, N, N], [N, N, N, N], [N, N, N, N]];
/// Company-wide resources every signed-in caller sees (the plan, oneself).
const ANYONE: Grid = [[Y, Y, Y, U], [Y, Y, Y, N], [Y, Y, Y, N], [Y, Y, Y, N], [Y, Y, Y, N]];
/// Reviews: a rep also sees the reviews of the units above it (its own
/// lines only).
const REVIEW_READ: Grid = [[Y, Y, Y, U], [Y, Y, N, N], [Y, Y, N, N], [Y, Y, N, N], [Y, Y, N, N]];
/// Writing into a review a rep may see (best practices, its own action
/// items): REVIEW_READ without viewers.
const REVIEW_ACT: Grid = [[Y, Y, Y, U], [Y, Y, N, N], [Y, Y, N, N], [Y, Y, N, N], [N, N, N, N]];
/// Reports show every member: not for reps.
const REPORT: Grid = [[Y, Y, Y, U], [Y, Y, N, N], [Y, Y, N, N], [N, N, N, N], [Y, Y, N, N]];

const ROLES: [(&str, &str, Role, &str, [&str; 4]); 5] = [
    ("ADMIN", "ops", Role::Admin, "", ["acme", "rep-1", "region-b", "ghost"]),
    ("MANAGER", "wang", Role::Manager, "region-a", ["region-a", "rep-1", "region-b", "ghost"]),
    ("TEAM MANAGER", "li", Role::Manager, "team-a1", ["team-a1", "rep-t1", "rep-1", "ghost"]),
    ("REP", "rep-1", Role::Rep, "rep-1", ["rep-1", "region-a", "rep-2", "ghost"]),
    ("VIEWER", "audit", Role::Viewer, "region-a", ["region-a", "rep-1", "region-b", "ghost"]),
];
const OWNERS: [&str; 4] = ["own", "below", "sibling", "unknown"];
/// The owners of a company-wide resource: it exists or it does not.
const OWN_OR_UNKNOWN: &[usize] = &[0, 3];
const ALL: &[usize] = &[0, 1, 2, 3];
const OWN_ONLY: &[usize] = &[0];

/// The marker written into every row a unit owns (display names, deal and
/// opportunity customers, log notes, causes, actions, reallocations,
/// adjustment evidence): a reply to a caller may carry only markers of
/// units that caller may read.
fn secret(unit: &str) -> String {
    format!("SECRET-{unit}-END")
}

/// The units whose rows a caller may see: an admin all, a manager or viewer
/// its unit's subtree, a rep itself.
fn may_see(role: Role, scope: &str, unit: &str) -> bool {
    let parent = |u: &str| match u {
        "region-a" | "region-b" => Some("acme"),
        "team-a1" | "rep-1" | "rep-2" => Some("region-a"),
        "rep-t1" => Some("team-a1"),
        "rep-b1" => Some("region-b"),
        _ => None,
    };
    let mut at = Some(unit);
    match role {
        Role::Admin => true,
        Role::Rep => unit == scope,
        Role::Manager | Role::Viewer => {
            while let Some(u) = at {
                if u == scope {
                    return true;
                }
                at = parent(u);
            }
            false
        }
    }
}

/// Markers in a reply the caller may not see.
fn leaks(c: &Cell, reply: &str) -> Vec<String> {
    reply
        .split("SECRET-")
        .skip(1)
        .filter_map(|rest| rest.split_once("-END").map(|(u, _)| u.to_owned()))
        .filter(|u| !may_see(c.role, c.scope, u))
        .collect()
}

/// The rep a cell's rep-level resources belong to (deals, logs, …).
fn rep_of(unit: &str) -> &str {
    match unit {
        "acme" => "rep-1",
        "region-a" => "rep-2",
        "region-b" => "rep-b1",
        "team-a1" => "rep-t1",
        other => other,
    }
}

/// One cell: a caller and the unit it is aimed at.
struct Cell {
    n: usize,
    person: &'static str,
    role: Role,
    scope: &'static str,
    unit: &'static str,
}

impl Cell {
    fn rep(&self) -> &'static str {
        rep_of(self.unit)
    }
    fn unit_name(&self) -> String {
        format!("units/{}", self.unit)
    }
}

/// Resources made at set-up, by unit (or rep) they belong to.
#[derive(Default)]
struct Ctx {
    deals: HashMap<String, String>,
    opportunities: HashMap<String, String>,
    alerts: HashMap<String, String>,
    adjustments: HashMap<(String, String), String>,
    reviews: HashMap<String, String>,
    action_items: HashMap<String, String>,
    /// The setup person's subscription to each unit, and one of its
    /// deliveries (to a closed port: FAILED, re-drivable).
    subscriptions: HashMap<String, String>,
    deliveries: HashMap<String, String>,
}

impl Ctx {
    fn of(map: &HashMap<String, String>, key: &str, missing: &str) -> String {
        map.get(key).cloned().unwrap_or_else(|| missing.to_owned())
    }
    fn deal(&self, c: &Cell) -> String {
        Self::of(&self.deals, c.rep(), "deals/ghost")
    }
    fn opportunity(&self, c: &Cell) -> String {
        Self::of(&self.opportunities, c.rep(), "opportunities/ghost")
    }
    fn alert(&self, c: &Cell) -> String {
        Self::of(&self.alerts, c.unit, "alerts/ghost")
    }
    fn review(&self, c: &Cell) -> String {
        Self::of(&self.reviews, c.unit, "reviews/ghost")
    }
    fn action_item(&self, c: &Cell) -> String {
        Self::of(&self.action_items, c.unit, "reviews/ghost/actionItems/ghost")
    }
    fn subscription(&self, c: &Cell) -> String {
        Self::of(&self.subscriptions, c.unit, "subscriptions/ghost")
    }
    fn delivery(&self, c: &Cell) -> String {
        Self::of(&self.deliveries, c.unit, "subscriptions/ghost/deliveries/ghost")
    }
    fn adjustment(&self, kind: &str, c: &Cell) -> String {
        self.adjustments
            .get(&(kind.to_owned(), c.unit.to_owned()))
            .cloned()
            .unwrap_or_else(|| "plans/fy2024/adjustments/ghost".to_owned())
    }
}

fn cny(a: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: a.into() })
}

fn enc(m: impl Message) -> Vec<Bytes> {
    vec![Bytes::from(m.encode_to_vec())]
}

fn target(unit: &str) -> String {
    format!("plans/fy2024/targets/{unit}")
}

/// Splitting and phasing change a DRAFT plan's targets (a published one's
/// change only through adjustments).
fn draft_target(unit: &str) -> String {
    format!("plans/draft/targets/{unit}")
}

fn deal_for(rep: &str, request_id: String) -> kpb::CreateDealRequest {
    kpb::CreateDealRequest {
        deal: Some(kpb::Deal {
            rep: format!("units/{rep}"),
            amount: cny("10.00"),
            close_date: "2024-01-12".into(),
            customer: "矩阵".into(),
            ..Default::default()
        }),
        request_id,
    }
}

/// One RPC's row: who may (a grid), over which owners, what else an allowed
/// call may answer, what an admin gets for an unknown id, and the request.
struct Rpc {
    method: &'static str,
    grid: Grid,
    owners: &'static [usize],
    ok_also: &'static [Code],
    unknown: Code,
    build: fn(&Ctx, &Cell) -> Vec<Bytes>,
}

const fn rpc(method: &'static str, grid: Grid, build: fn(&Ctx, &Cell) -> Vec<Bytes>) -> Rpc {
    Rpc { method, grid, owners: ALL, ok_also: &[], unknown: Code::NotFound, build }
}

impl Rpc {
    const fn owners(mut self, owners: &'static [usize]) -> Self {
        self.owners = owners;
        self
    }
    const fn ok_also(mut self, codes: &'static [Code]) -> Self {
        self.ok_also = codes;
        self
    }
    const fn unknown(mut self, code: Code) -> Self {
        self.unknown = code;
        self
    }
}

const STATE: &[Code] = &[Code::FailedPrecondition, Code::AlreadyExists];

fn rpcs() -> Vec<Rpc> {
    use Code::{AlreadyExists, FailedPrecondition, InvalidArgument};
    vec![
        // ── gateway ──
        rpc("attain.gateway.v1.GatewayService/GetDashboard", READ, |_, c| {
            enc(gpb::GetDashboardRequest { unit: c.unit_name(), period: "2024-01".into(), ..Default::default() })
        }),
        rpc("attain.gateway.v1.GatewayService/GetCaller", ANYONE, |_, _| enc(gpb::GetCallerRequest::default()))
            .owners(OWN_ONLY),
        // ── org ──
        rpc("attain.target.v1.OrgService/CreateUnit", LEAD, |_, c| {
            enc(tpb::CreateUnitRequest {
                unit: Some(tpb::Unit {
                    parent: c.unit_name(),
                    kind: tpb::UnitKind::Team as i32,
                    display_name: format!("matrix {}", c.n),
                    ..Default::default()
                }),
                unit_id: format!("matrix-{}", c.n),
                request_id: format!("matrix-unit-{}", c.n),
            })
        })
        // A team under a rep is not a valid tree.
        .ok_also(&[InvalidArgument, FailedPrecondition]),
        rpc("attain.target.v1.OrgService/GetUnit", READ, |_, c| enc(tpb::GetUnitRequest { name: c.unit_name() })),
        rpc("attain.target.v1.OrgService/BatchGetUnits", READ, |_, c| {
            enc(tpb::BatchGetUnitsRequest { names: vec![c.unit_name()] })
        }),
        rpc("attain.target.v1.OrgService/ListUnits", READ, |_, c| {
            enc(tpb::ListUnitsRequest { parent: c.unit_name(), ..Default::default() })
        }),
        rpc("attain.target.v1.OrgService/GetSubtree", READ, |_, c| {
            enc(tpb::GetSubtreeRequest { name: c.unit_name(), include_former: false })
        }),
        rpc("attain.target.v1.OrgService/UpdateUnit", MANAGE, |_, c| {
            enc(tpb::UpdateUnitRequest {
                unit: Some(tpb::Unit { name: c.unit_name(), display_name: c.unit.into(), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
                request_id: format!("matrix-update-{}", c.n),
            })
        }),
        rpc("attain.target.v1.OrgService/MoveUnit", MANAGE, |_, c| {
            // Moving to where it is: a no-op, or refused as one.
            let parent = match c.unit {
                "acme" => "",
                "region-a" | "region-b" => "units/acme",
                "team-a1" | "rep-1" | "rep-2" => "units/region-a",
                "rep-t1" => "units/team-a1",
                _ => "units/acme",
            };
            enc(tpb::MoveUnitRequest {
                name: c.unit_name(),
                new_parent: parent.into(),
                etag: String::new(),
                request_id: format!("matrix-move-{}", c.n),
                effective_date: String::new(),
            })
        })
        .ok_also(&[InvalidArgument, FailedPrecondition]),
        rpc("attain.target.v1.OrgService/ListUnitRevisions", READ, |_, c| {
            enc(tpb::ListUnitRevisionsRequest { parent: c.unit_name(), ..Default::default() })
        }),
        rpc("attain.target.v1.OrgService/ListUnitMoves", ADMIN_ANY, |_, _| {
            enc(tpb::ListUnitMovesRequest { after: 0, page_size: 10 })
        }),
        // ── plans (company-wide) ──
        rpc("attain.target.v1.TargetService/CreatePlan", ADMIN, |_, c| {
            enc(tpb::CreatePlanRequest {
                plan: Some(tpb::Plan {
                    display_name: "matrix".into(),
                    top_unit: "units/acme".into(),
                    fiscal_year: 2030 + i32::try_from(c.n % 50).unwrap(),
                    currency_code: "CNY".into(),
                    base_amount: cny("1000.00"),
                    growth_rate: "0".into(),
                    ..Default::default()
                }),
                plan_id: format!("matrix-{}", c.n),
                request_id: format!("matrix-plan-{}", c.n),
            })
        })
        .owners(OWN_ONLY),
        rpc("attain.target.v1.TargetService/GetPlan", ANYONE, |_, c| {
            enc(tpb::GetPlanRequest { name: plan_or_ghost(c, "fy2024") })
        })
        .owners(OWN_OR_UNKNOWN),
        rpc("attain.target.v1.TargetService/ListPlans", ANYONE, |_, _| enc(tpb::ListPlansRequest::default()))
            .owners(OWN_ONLY),
        rpc("attain.target.v1.TargetService/GetDataVersion", ANYONE, |_, _| enc(tpb::GetDataVersionRequest {}))
            .owners(OWN_ONLY),
        rpc("attain.target.v1.TargetService/UpdatePlan", ADMIN, |_, c| {
            enc(tpb::UpdatePlanRequest {
                plan: Some(tpb::Plan {
                    name: plan_or_ghost(c, "draft"),
                    display_name: format!("draft {}", c.n),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
                request_id: format!("matrix-update-plan-{}", c.n),
            })
        })
        .owners(OWN_OR_UNKNOWN),
        rpc("attain.target.v1.TargetService/PublishPlan", ADMIN, |_, c| {
            enc(tpb::PublishPlanRequest {
                name: plan_or_ghost(c, "to-publish"),
                etag: String::new(),
                request_id: format!("matrix-publish-{}", c.n),
            })
        })
        .owners(OWN_OR_UNKNOWN)
        .ok_also(STATE),
        rpc("attain.target.v1.TargetService/ClosePlan", ADMIN, |_, c| {
            enc(tpb::ClosePlanRequest {
                name: plan_or_ghost(c, "to-close"),
                etag: String::new(),
                request_id: format!("matrix-close-{}", c.n),
            })
        })
        .owners(OWN_OR_UNKNOWN)
        .ok_also(STATE),
        // ── targets ──
        rpc("attain.target.v1.TargetService/GetTarget", READ, |_, c| {
            enc(tpb::GetTargetRequest { name: target(c.unit), as_of: None })
        }),
        rpc("attain.target.v1.TargetService/ListTargets", READ, |_, c| {
            enc(tpb::ListTargetsRequest { parent: "plans/fy2024".into(), unit: c.unit_name(), ..Default::default() })
        }),
        rpc("attain.target.v1.TargetService/DecomposeTarget", LEAD, |_, c| {
            let children: &[&str] = match c.unit {
                "acme" => &["region-a", "region-b"],
                "region-a" => &["team-a1", "rep-1", "rep-2"],
                "region-b" => &["rep-b1"],
                "team-a1" => &["rep-t1"],
                _ => &["ghost"],
            };
            enc(tpb::DecomposeTargetRequest {
                parent_target: draft_target(c.unit),
                strategy: tpb::SplitStrategy::Equal as i32,
                inputs: children
                    .iter()
                    .map(|u| tpb::SplitInput { unit: format!("units/{u}"), ..Default::default() })
                    .collect(),
                validate_only: true,
                request_id: format!("matrix-split-{}", c.n),
                ..Default::default()
            })
        })
        // A rep's target has nothing below it to split into.
        .ok_also(&[InvalidArgument, FailedPrecondition]),
        rpc("attain.target.v1.TargetService/PhaseTarget", MANAGE, |_, c| {
            enc(tpb::PhaseTargetRequest {
                target: draft_target(c.unit),
                phasing: Some(tpb::PhasingCurve { method: tpb::PhasingMethod::Even as i32, ..Default::default() }),
                validate_only: true,
                request_id: format!("matrix-phase-{}", c.n),
                ..Default::default()
            })
        }),
        rpc("attain.target.v1.TargetService/SetMilestones", MANAGE, |_, c| {
            enc(tpb::SetMilestonesRequest {
                parent: draft_target(c.unit),
                milestones: vec![tpb::Milestone { day_of_period: 10, percent: "30".into() }],
                etag: String::new(),
                request_id: format!("matrix-milestones-{}", c.n),
            })
        }),
        rpc("attain.target.v1.TargetService/QueryPeriodTargets", READ, |_, c| {
            enc(tpb::QueryPeriodTargetsRequest {
                plan: "plans/fy2024".into(),
                unit: c.unit_name(),
                period: "2024-01".into(),
                ..Default::default()
            })
        }),
        rpc("attain.target.v1.TargetService/BatchGetExpectedAmounts", READ, |_, c| {
            enc(tpb::BatchGetExpectedAmountsRequest {
                plan: "plans/fy2024".into(),
                units: vec![c.unit_name()],
                period: "2024-01".into(),
                date: "2024-01-16".into(),
                ..Default::default()
            })
        }),
        rpc("attain.target.v1.TargetService/ListTargetRevisions", READ, |_, c| {
            enc(tpb::ListTargetRevisionsRequest { parent: target(c.unit), ..Default::default() })
        }),
        rpc("attain.target.v1.TargetService/CreateAdjustment", ACT, |_, c| {
            enc(tpb::CreateAdjustmentRequest {
                parent: "plans/fy2024".into(),
                adjustment: Some(adjustment(c.unit, "-1")),
                request_id: format!("matrix-adjust-{}", c.n),
            })
        })
        // The top target (acme) has nothing above it to absorb a change.
        .ok_also(&[FailedPrecondition, AlreadyExists, InvalidArgument]),
        rpc("attain.target.v1.TargetService/GetAdjustment", READ, |x, c| {
            enc(tpb::GetAdjustmentRequest { name: x.adjustment("approve", c) })
        }),
        rpc("attain.target.v1.TargetService/ListAdjustments", ANYONE, |_, _| {
            enc(tpb::ListAdjustmentsRequest { parent: "plans/fy2024".into(), ..Default::default() })
        })
        .owners(OWN_ONLY),
        rpc("attain.target.v1.TargetService/ApproveAdjustment", MANAGE, |x, c| {
            enc(tpb::ApproveAdjustmentRequest {
                name: x.adjustment("approve", c),
                note: "ok".into(),
                request_id: format!("matrix-approve-{}", c.n),
                ..Default::default()
            })
        })
        .ok_also(STATE),
        rpc("attain.target.v1.TargetService/RejectAdjustment", MANAGE, |x, c| {
            enc(tpb::RejectAdjustmentRequest {
                name: x.adjustment("reject", c),
                note: "no".into(),
                request_id: format!("matrix-reject-{}", c.n),
                ..Default::default()
            })
        })
        .ok_also(STATE),
        // Only the requester (here the set-up admin) or an admin withdraws.
        rpc("attain.target.v1.TargetService/WithdrawAdjustment", ADMIN, |x, c| {
            enc(tpb::WithdrawAdjustmentRequest {
                name: x.adjustment("withdraw", c),
                request_id: format!("matrix-withdraw-{}", c.n),
                ..Default::default()
            })
        })
        .ok_also(STATE),
        // ── deals ──
        rpc("attain.tracking.v1.TrackingService/CreateDeal", ACT, |_, c| {
            enc(deal_for(c.rep(), format!("matrix-deal-{}", c.n)))
        })
        // An unknown rep is a field of the deal, not the resource asked for.
        .unknown(InvalidArgument),
        rpc("attain.tracking.v1.TrackingService/BatchCreateDeals", ACT, |_, c| {
            enc(kpb::BatchCreateDealsRequest { requests: vec![deal_for(c.rep(), format!("matrix-batch-{}", c.n))] })
        })
        .unknown(InvalidArgument),
        rpc("attain.tracking.v1.TrackingService/StreamDeals", ACT, |_, c| {
            enc(kpb::StreamDealsRequest { request: Some(deal_for(c.rep(), format!("matrix-stream-{}", c.n))) })
        })
        .unknown(InvalidArgument),
        rpc("attain.tracking.v1.TrackingService/ImportDeals", ACT, |_, c| {
            let header = kpb::ImportDealsRequest {
                part: Some(kpb::import_deals_request::Part::Header(kpb::ImportHeader {
                    format: kpb::FileFormat::Csv as i32,
                    file_name: "matrix.csv".into(),
                    request_id: format!("matrix-import-{}", c.n),
                    ..Default::default()
                })),
            };
            let csv = format!("date,rep,amount\n2024-01-12,{},10.00\n", c.rep());
            let chunk =
                kpb::ImportDealsRequest { part: Some(kpb::import_deals_request::Part::Chunk(csv.into_bytes())) };
            [header, chunk].into_iter().map(|m| Bytes::from(m.encode_to_vec())).collect()
        })
        .unknown(InvalidArgument),
        rpc("attain.tracking.v1.TrackingService/ReverseDeal", ACT, |x, c| {
            enc(kpb::ReverseDealRequest {
                name: x.deal(c),
                reason: "matrix".into(),
                replacement: None,
                request_id: format!("matrix-reverse-{}", c.n),
            })
        })
        .ok_also(STATE),
        rpc("attain.tracking.v1.TrackingService/GetDeal", READ, |x, c| enc(kpb::GetDealRequest { name: x.deal(c) })),
        rpc("attain.tracking.v1.TrackingService/ListDeals", READ, |_, c| {
            enc(kpb::ListDealsRequest { unit: c.unit_name(), ..Default::default() })
        }),
        // ── activity ──
        rpc("attain.tracking.v1.TrackingService/CreateOpportunity", ACT, |_, c| {
            enc(kpb::CreateOpportunityRequest {
                opportunity: Some(opportunity(c.rep())),
                request_id: format!("matrix-opportunity-{}", c.n),
            })
        })
        .unknown(InvalidArgument),
        rpc("attain.tracking.v1.TrackingService/UpdateOpportunity", ACT, |x, c| {
            enc(kpb::UpdateOpportunityRequest {
                opportunity: Some(kpb::Opportunity {
                    name: x.opportunity(c),
                    stage: format!("stage {}", c.n),
                    ..opportunity(c.rep())
                }),
                request_id: format!("matrix-update-opportunity-{}", c.n),
            })
        }),
        rpc("attain.tracking.v1.TrackingService/ListOpportunities", READ, |_, c| {
            enc(kpb::ListOpportunitiesRequest { unit: c.unit_name(), ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/CreateDailyLog", ACT, |_, c| {
            enc(kpb::CreateDailyLogRequest {
                daily_log: Some(kpb::DailyLog {
                    rep: format!("units/{}", c.rep()),
                    log_date: format!("2024-01-{:02}", 1 + c.n % 15),
                    notes: "matrix".into(),
                    ..Default::default()
                }),
                request_id: format!("matrix-log-{}", c.n),
            })
        })
        .ok_also(STATE)
        .unknown(InvalidArgument),
        rpc("attain.tracking.v1.TrackingService/ListDailyLogs", READ, |_, c| {
            enc(kpb::ListDailyLogsRequest { unit: c.unit_name(), ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/GetPeriodSummary", READ, |_, c| {
            enc(kpb::GetPeriodSummaryRequest { unit: c.unit_name(), period: "2024-01".into() })
        }),
        rpc("attain.tracking.v1.TrackingService/SetGapAnalysis", LEAD, |_, c| {
            enc(kpb::SetGapAnalysisRequest {
                unit: c.unit_name(),
                period: "2024-01".into(),
                text: format!("matrix {}", c.n),
                etag: String::new(),
                request_id: format!("matrix-gap-{}", c.n),
            })
        }),
        // ── figures ──
        rpc("attain.tracking.v1.TrackingService/GetAttainment", READ, |_, c| {
            enc(kpb::GetAttainmentRequest { unit: c.unit_name(), period: "2024-01".into(), ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/GetDashboardFigures", READ, |_, c| {
            enc(kpb::GetDashboardFiguresRequest { unit: c.unit_name(), period: "2024-01".into(), ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/ListChildAttainments", READ, |_, c| {
            enc(kpb::ListChildAttainmentsRequest {
                unit: c.unit_name(),
                period: "2024-01".into(),
                ..Default::default()
            })
        }),
        rpc("attain.tracking.v1.TrackingService/BatchGetActuals", READ, |_, c| {
            enc(kpb::BatchGetActualsRequest { units: vec![c.unit_name()], period: "2024-01".into(), dimensions: None })
        }),
        rpc("attain.tracking.v1.TrackingService/GetBurnUp", READ, |_, c| {
            enc(kpb::GetBurnUpRequest { unit: c.unit_name(), period: "2024-01".into(), ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/GetGapAttribution", READ, |_, c| {
            enc(kpb::GetGapAttributionRequest { unit: c.unit_name(), period: "2024-01".into(), ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/ClosePeriod", LEAD, |_, c| {
            enc(kpb::ClosePeriodRequest {
                unit: c.unit_name(),
                period: "2024-W02".into(),
                request_id: format!("matrix-close-period-{}", c.n),
            })
        })
        .ok_also(STATE),
        rpc("attain.tracking.v1.TrackingService/GetPeriodClose", READ, |_, c| {
            enc(kpb::GetPeriodCloseRequest { unit: c.unit_name(), period: "2024-W01".into() })
        }),
        rpc("attain.tracking.v1.TrackingService/ListLossReasons", READ, |_, c| {
            enc(kpb::ListLossReasonsRequest { unit: c.unit_name(), period: "2024-01".into(), limit: 3 })
        }),
        rpc("attain.tracking.v1.TrackingService/ListObligations", READ, |_, c| {
            // Every obligation of the subtree, each naming its unit: the
            // rows are scanned for markers too.
            enc(kpb::ListObligationsRequest {
                unit: c.unit_name(),
                period: "2024-01".into(),
                page_size: 1000,
                ..Default::default()
            })
        }),
        // ── alerts ──
        rpc("attain.tracking.v1.TrackingService/ListAlerts", READ, |_, c| {
            enc(kpb::ListAlertsRequest { unit: c.unit_name(), ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/SummarizeAlerts", READ, |_, c| {
            // All of them in full: the rows are scanned for markers too.
            enc(kpb::SummarizeAlertsRequest { unit: c.unit_name(), first: 100, ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/AcknowledgeAlert", ACT, |x, c| {
            enc(kpb::AcknowledgeAlertRequest { name: x.alert(c), etag: String::new() })
        })
        .ok_also(STATE),
        rpc("attain.tracking.v1.TrackingService/ResolveAlert", ACT, |x, c| {
            enc(kpb::ResolveAlertRequest { name: x.alert(c), etag: String::new(), note: "matrix".into() })
        })
        .ok_also(STATE),
        rpc("attain.tracking.v1.TrackingService/WatchAlerts", READ, |_, c| {
            // With the open alerts first: the stream's rows are scanned too.
            enc(kpb::WatchAlertsRequest { unit: c.unit_name(), include_open: true, ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/WatchRollupChanges", READ, |_, c| {
            enc(kpb::WatchRollupChangesRequest { unit: c.unit_name(), include_alerts: false, ..Default::default() })
        }),
        rpc("attain.tracking.v1.TrackingService/EvaluateAlerts", ACT, |_, c| {
            enc(kpb::EvaluateAlertsRequest { unit: c.unit_name(), period: "2024-01".into(), ..Default::default() })
        }),
        // ── reviews ──
        // Before CreateReview: a new review carries the open items over, and
        // the originals then take no more updates.
        rpc("attain.review.v1.ReviewService/UpdateActionItem", ACT, |x, c| {
            enc(rpb::UpdateActionItemRequest {
                action_item: Some(rpb::ActionItem {
                    name: x.action_item(c),
                    text: format!("matrix {}", c.n),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["text".into()] }),
                request_id: format!("matrix-update-action-{}", c.n),
            })
        }),
        rpc("attain.review.v1.ReviewService/CreateReview", LEAD, |_, c| {
            enc(rpb::CreateReviewRequest {
                review: Some(review(c.unit, "2024-01", rpb::Cadence::Monthly)),
                request_id: format!("matrix-review-{}", c.n),
            })
        })
        .ok_also(STATE),
        rpc("attain.review.v1.ReviewService/GetReview", REVIEW_READ, |x, c| {
            enc(rpb::GetReviewRequest { name: x.review(c) })
        }),
        rpc("attain.review.v1.ReviewService/ListReviews", READ, |_, c| {
            enc(rpb::ListReviewsRequest { unit: c.unit_name(), ..Default::default() })
        }),
        rpc("attain.review.v1.ReviewService/ListObligations", READ, |_, c| {
            enc(rpb::ListObligationsRequest {
                unit: c.unit_name(),
                period: "2024-01".into(),
                page_size: 1000,
                ..Default::default()
            })
        }),
        rpc("attain.review.v1.ReviewService/RefreshBrief", LEAD, |x, c| {
            enc(rpb::RefreshBriefRequest { name: x.review(c), etag: String::new() })
        }),
        rpc("attain.review.v1.ReviewService/CreateCause", LEAD, |x, c| {
            enc(rpb::CreateCauseRequest {
                parent: x.review(c),
                cause: Some(rpb::Cause {
                    unit: format!("units/{}", c.rep()),
                    category: rpb::CauseCategory::Subjective as i32,
                    kind: rpb::CauseKind::Effort as i32,
                    text: "matrix".into(),
                    ..Default::default()
                }),
                request_id: format!("matrix-cause-{}", c.n),
            })
        })
        // A cause names a member of the review; acme's members are regions.
        .ok_also(&[InvalidArgument]),
        rpc("attain.review.v1.ReviewService/ListCauses", REVIEW_READ, |x, c| {
            enc(rpb::ListCausesRequest { parent: x.review(c), ..Default::default() })
        }),
        rpc("attain.review.v1.ReviewService/CreateBestPractice", REVIEW_ACT, |x, c| {
            enc(rpb::CreateBestPracticeRequest {
                parent: x.review(c),
                best_practice: Some(rpb::BestPractice {
                    title: format!("matrix {}", c.n),
                    text: "call back within a day".into(),
                    ..Default::default()
                }),
                request_id: format!("matrix-practice-{}", c.n),
            })
        }),
        rpc("attain.review.v1.ReviewService/SearchBestPractices", READ, |_, c| {
            enc(rpb::SearchBestPracticesRequest { unit: c.unit_name(), ..Default::default() })
        }),
        rpc("attain.review.v1.ReviewService/CreateActionItem", LEAD, |x, c| {
            enc(rpb::CreateActionItemRequest {
                parent: x.review(c),
                action_item: Some(action_item(c.rep())),
                request_id: format!("matrix-action-{}", c.n),
            })
        }),
        rpc("attain.review.v1.ReviewService/ListActionItems", REVIEW_READ, |x, c| {
            enc(rpb::ListActionItemsRequest { parent: x.review(c), ..Default::default() })
        }),
        rpc("attain.review.v1.ReviewService/CreateReallocation", LEAD, |x, c| {
            enc(rpb::CreateReallocationRequest {
                parent: x.review(c),
                reallocation: Some(rpb::Reallocation {
                    kind: rpb::ReallocationKind::Leads as i32,
                    unit: format!("units/{}", c.rep()),
                    lead_count: 3,
                    description: "matrix".into(),
                    ..Default::default()
                }),
                request_id: format!("matrix-reallocation-{}", c.n),
            })
        })
        .ok_also(&[InvalidArgument]),
        rpc("attain.review.v1.ReviewService/ListReallocations", REVIEW_READ, |x, c| {
            enc(rpb::ListReallocationsRequest { parent: x.review(c), ..Default::default() })
        }),
        rpc("attain.review.v1.ReviewService/GenerateReport", REPORT, |x, c| {
            enc(rpb::GenerateReportRequest {
                name: x.review(c),
                format: rpb::ReportFormat::Markdown as i32,
                ..Default::default()
            })
        }),
        rpc("attain.review.v1.ReviewService/GetSuggestion", REPORT, |x, c| {
            enc(rpb::GetSuggestionRequest { name: x.review(c), growth_rate: String::new() })
        }),
        // Accepting requests an adjustment of the next week as the caller
        // (the unit's managers); the target service may refuse it on its
        // merits (a unit split in full cannot fall below its split).
        rpc("attain.review.v1.ReviewService/AcceptSuggestion", LEAD, |x, c| {
            enc(rpb::AcceptSuggestionRequest {
                name: x.review(c),
                growth_rate: String::new(),
                request_id: format!("matrix-accept-{}", c.n),
            })
        })
        .ok_also(&[Code::FailedPrecondition, Code::AlreadyExists, Code::InvalidArgument]),
        // Last: a closed review takes no more writes.
        rpc("attain.review.v1.ReviewService/CloseReview", LEAD, |x, c| {
            enc(rpb::CloseReviewRequest {
                name: x.review(c),
                etag: String::new(),
                request_id: format!("matrix-close-review-{}", c.n),
            })
        })
        .ok_also(STATE),
        // The review service's report of a closed review: its account only.
        rpc("attain.tracking.v1.TrackingService/RecordReviewClose", ADMIN, |_, c| {
            enc(kpb::RecordReviewCloseRequest {
                unit: c.unit_name(),
                month: "2023-12".into(),
                close_time: Some(prost_types::Timestamp { seconds: 1_704_000_000, nanos: 0 }),
            })
        }),
        // ── notify: a subscription is its subscriber's (here the setup
        // admin's), so only an admin reads another's ──
        rpc("attain.notify.v1.NotifyService/CreateSubscription", READ, |_, c| {
            enc(npb::CreateSubscriptionRequest {
                subscription: Some(matrix_subscription(c.unit)),
                request_id: format!("matrix-subscribe-{}", c.n),
                send_open_alerts: false,
            })
        }),
        rpc("attain.notify.v1.NotifyService/GetSubscription", ADMIN, |x, c| {
            enc(npb::GetSubscriptionRequest { name: x.subscription(c) })
        }),
        rpc("attain.notify.v1.NotifyService/ListSubscriptions", ANYONE, |_, _| {
            enc(npb::ListSubscriptionsRequest::default())
        })
        .owners(OWN_ONLY),
        rpc("attain.notify.v1.NotifyService/ListDeliveries", ADMIN, |x, c| {
            enc(npb::ListDeliveriesRequest { parent: x.subscription(c), ..Default::default() })
        }),
        // Sent again from its first attempt: while a redriven one waits, it
        // is not FAILED.
        rpc("attain.notify.v1.NotifyService/RedriveDelivery", ADMIN, |x, c| {
            enc(npb::RedriveDeliveryRequest { name: x.delivery(c) })
        })
        .ok_also(STATE),
        // Last: it stops the subscriptions the rows above read.
        rpc("attain.notify.v1.NotifyService/DeleteSubscription", ADMIN, |x, c| {
            enc(npb::DeleteSubscriptionRequest { name: x.subscription(c), etag: String::new() })
        }),
    ]
}

/// A DingTalk robot subscription to a unit, at a port nobody answers.
fn matrix_subscription(unit: &str) -> npb::Subscription {
    npb::Subscription {
        unit: format!("units/{unit}"),
        channel: Some(npb::Channel {
            kind: Some(npb::channel::Kind::Dingtalk(npb::RobotChannel {
                url: "http://127.0.0.1:9/robot/send?access_token=matrix".into(),
                secret: "SECmatrix".into(),
                secret_env: String::new(),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn plan_or_ghost(c: &Cell, plan: &str) -> String {
    if c.unit == "ghost" { "plans/ghost".into() } else { format!("plans/{plan}") }
}

fn adjustment(unit: &str, percent: &str) -> tpb::Adjustment {
    tpb::Adjustment {
        target: target(unit),
        change: Some(tpb::adjustment::Change::ChangePercent(percent.into())),
        reason: tpb::AdjustmentReason::Market as i32,
        justification: "matrix".into(),
        redistribution: tpb::Redistribution::ParentAbsorbs as i32,
        ..Default::default()
    }
}

fn opportunity(rep: &str) -> kpb::Opportunity {
    kpb::Opportunity {
        rep: format!("units/{rep}"),
        customer: "矩阵".into(),
        stage: "报价".into(),
        outcome: kpb::OpportunityOutcome::Open as i32,
        expected_amount: cny("100.00"),
        close_date: "2024-01-30".into(),
        ..Default::default()
    }
}

fn review(unit: &str, period: &str, cadence: rpb::Cadence) -> rpb::Review {
    rpb::Review {
        unit: format!("units/{unit}"),
        period: Some(Period { expression: period.into(), ..Default::default() }),
        cadence: cadence as i32,
        ..Default::default()
    }
}

fn action_item(owner: &str) -> rpb::ActionItem {
    rpb::ActionItem {
        owner: owner.into(),
        text: "call every open customer".into(),
        due_date: "2024-01-31".into(),
        ..Default::default()
    }
}

/// A request as `person`, a `role` over `scope`.
fn as_<T>(person: &str, role: Role, scope: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, scope)).parse().unwrap());
    r
}

fn setup<T>(msg: T) -> Request<T> {
    as_("setup", Role::Admin, "", msg)
}

/// Builds the organisation, the plan and one of every resource per unit.
async fn set_up(gw: &Channel) -> Ctx {
    let mut org = OrgServiceClient::new(gw.clone());
    let mut t = TargetServiceClient::new(gw.clone());
    let mut k = TrackingServiceClient::new(gw.clone());
    let mut r = ReviewServiceClient::new(gw.clone());
    use tpb::UnitKind::{Company, Region, Rep, Team};
    let units = [
        ("acme", "", Company),
        ("region-a", "units/acme", Region),
        ("region-b", "units/acme", Region),
        ("team-a1", "units/region-a", Team),
        ("rep-1", "units/region-a", Rep),
        ("rep-2", "units/region-a", Rep),
        ("rep-t1", "units/team-a1", Rep),
        ("rep-b1", "units/region-b", Rep),
    ];
    for (id, parent, kind) in units {
        org.create_unit(setup(tpb::CreateUnitRequest {
            unit: Some(tpb::Unit {
                parent: parent.into(),
                kind: kind as i32,
                display_name: secret(id),
                manager: id.into(),
                ..Default::default()
            }),
            unit_id: id.into(),
            request_id: format!("setup-{id}"),
        }))
        .await
        .unwrap();
    }
    let plan = |id: &str, year: i32| tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: id.into(),
            top_unit: "units/acme".into(),
            fiscal_year: year,
            currency_code: "CNY".into(),
            base_amount: cny("1200000.00"),
            growth_rate: "0".into(),
            // Every split keeps 1% in reserve, so the matrix's 1% cuts of a
            // region or team stay within what they have split.
            coverage_policy: Some(tpb::CoveragePolicy {
                mode: tpb::CoverageMode::Reserve as i32,
                max_reserve_percent: "5".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        plan_id: id.into(),
        request_id: format!("setup-plan-{id}"),
    };
    for (id, year) in [("fy2024", 2024), ("draft", 2025), ("to-publish", 2026), ("to-close", 2027)] {
        t.create_plan(setup(plan(id, year))).await.unwrap();
    }
    for (plan, (parent, children)) in ["fy2024", "draft"].into_iter().flat_map(|p| {
        [
            ("acme", &["region-a", "region-b"][..]),
            ("region-a", &["team-a1", "rep-1", "rep-2"][..]),
            ("team-a1", &["rep-t1"][..]),
            ("region-b", &["rep-b1"][..]),
        ]
        .map(|split| (p, split))
    }) {
        t.decompose_target(setup(tpb::DecomposeTargetRequest {
            parent_target: format!("plans/{plan}/targets/{parent}"),
            strategy: tpb::SplitStrategy::Equal as i32,
            inputs: children
                .iter()
                .map(|u| tpb::SplitInput { unit: format!("units/{u}"), ..Default::default() })
                .collect(),
            allocate_percent: "99".into(),
            request_id: format!("setup-split-{plan}-{parent}"),
            ..Default::default()
        }))
        .await
        .unwrap();
    }
    for plan in ["fy2024", "to-close"] {
        t.publish_plan(setup(tpb::PublishPlanRequest {
            name: format!("plans/{plan}"),
            etag: String::new(),
            request_id: format!("setup-publish-{plan}"),
        }))
        .await
        .unwrap();
    }
    let mut x = Ctx::default();
    let cell_units = ["acme", "region-a", "region-b", "team-a1", "rep-1", "rep-2", "rep-t1"];
    for kind in ["approve", "reject", "withdraw"] {
        for u in cell_units {
            let owner = if u == "acme" { "rep-2" } else { u };
            let request = tpb::CreateAdjustmentRequest {
                parent: "plans/fy2024".into(),
                // The top target has nothing above it to absorb a change.
                adjustment: Some(tpb::Adjustment { justification: secret(owner), ..adjustment(owner, "-1") }),
                request_id: format!("setup-adjust-{kind}-{u}"),
            };
            // Decisions are asked of the unit itself: a rep for its own
            // target, a second manager of a region or team for the unit's
            // (so the cell's own manager is a peer, not above it). Withdrawals
            // are the set-up admin's own requests.
            let request = match (kind, u) {
                ("withdraw", _) | (_, "acme") => setup(request),
                (_, rep) if rep.starts_with("rep-") => as_(rep, Role::Rep, rep, request),
                (_, unit) => as_(&format!("peer-of-{unit}"), Role::Manager, unit, request),
            };
            let a = t
                .create_adjustment(request)
                .await
                .unwrap_or_else(|e| panic!("adjustment {kind} {u}: {e:?}"))
                .into_inner();
            x.adjustments.insert((kind.into(), u.into()), a.name);
        }
    }
    for rep in ["rep-1", "rep-2", "rep-t1", "rep-b1"] {
        let mut marked = deal_for(rep, format!("setup-deal-{rep}"));
        marked.deal.as_mut().unwrap().customer = secret(rep);
        let d = k.create_deal(setup(marked)).await.unwrap().into_inner();
        k.create_daily_log(setup(kpb::CreateDailyLogRequest {
            daily_log: Some(kpb::DailyLog {
                rep: format!("units/{rep}"),
                log_date: "2024-01-12".into(),
                notes: secret(rep),
                ..Default::default()
            }),
            request_id: format!("setup-log-{rep}"),
        }))
        .await
        .unwrap();
        x.deals.insert(rep.into(), d.name);
        let o = k
            .create_opportunity(setup(kpb::CreateOpportunityRequest {
                opportunity: Some(kpb::Opportunity { customer: secret(rep), ..opportunity(rep) }),
                request_id: format!("setup-opportunity-{rep}"),
            }))
            .await
            .unwrap()
            .into_inner();
        x.opportunities.insert(rep.into(), o.name);
    }
    let mut n = npb::notify_service_client::NotifyServiceClient::new(gw.clone());
    for u in cell_units {
        let sub = n
            .create_subscription(setup(npb::CreateSubscriptionRequest {
                subscription: Some(matrix_subscription(u)),
                request_id: format!("setup-subscribe-{u}"),
                send_open_alerts: false,
            }))
            .await
            .unwrap()
            .into_inner();
        x.subscriptions.insert(u.into(), sub.name);
    }
    k.evaluate_alerts(setup(kpb::EvaluateAlertsRequest { unit: "units/acme".into(), ..Default::default() }))
        .await
        .unwrap();
    for u in cell_units {
        let parent = x.subscriptions[u].clone();
        let start = std::time::Instant::now();
        let first = loop {
            let list = npb::ListDeliveriesRequest { parent: parent.clone(), ..Default::default() };
            let d = n.list_deliveries(setup(list)).await.unwrap().into_inner().deliveries;
            if let Some(d) = d.into_iter().find(|d| d.state != npb::DeliveryState::Pending as i32) {
                break d;
            }
            assert!(start.elapsed() < std::time::Duration::from_secs(20), "no delivery tried for {u}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        x.deliveries.insert(u.into(), first.name);
    }
    // Closing the company closes every unit below it.
    k.close_period(setup(kpb::ClosePeriodRequest {
        unit: "units/acme".into(),
        period: "2024-W01".into(),
        request_id: "setup-close".into(),
    }))
    .await
    .unwrap();
    for u in cell_units {
        let alerts = k
            .list_alerts(setup(kpb::ListAlertsRequest { unit: format!("units/{u}"), ..Default::default() }))
            .await
            .unwrap()
            .into_inner()
            .alerts;
        let own =
            alerts.into_iter().find(|a| a.unit == format!("units/{u}")).unwrap_or_else(|| panic!("no alert on {u}"));
        x.alerts.insert(u.into(), own.name);
        let review = r
            .create_review(setup(rpb::CreateReviewRequest {
                // The week of the setup deals: its suggestion has a trend to grow.
                review: Some(review(u, "2024-W02", rpb::Cadence::Weekly)),
                request_id: format!("setup-review-{u}"),
            }))
            .await
            .unwrap_or_else(|e| panic!("review of {u}: {e:?}"))
            .into_inner();
        let item = r
            .create_action_item(setup(rpb::CreateActionItemRequest {
                parent: review.name.clone(),
                action_item: Some(rpb::ActionItem { text: secret(rep_of(u)), ..action_item(rep_of(u)) }),
                request_id: format!("setup-action-{u}"),
            }))
            .await
            .unwrap_or_else(|e| panic!("action item in {u}'s review: {e:?}"))
            .into_inner();
        let lines: &[&str] = if u == "region-a" { &["rep-1", "rep-2"] } else { &[rep_of(u)] };
        for rep in lines {
            r.create_cause(setup(rpb::CreateCauseRequest {
                parent: review.name.clone(),
                cause: Some(rpb::Cause {
                    unit: format!("units/{rep}"),
                    category: rpb::CauseCategory::Objective as i32,
                    kind: rpb::CauseKind::Market as i32,
                    text: secret(rep),
                    ..Default::default()
                }),
                request_id: format!("setup-cause-{u}-{rep}"),
            }))
            .await
            .unwrap_or_else(|e| panic!("cause in {u}'s review: {e:?}"));
            r.create_reallocation(setup(rpb::CreateReallocationRequest {
                parent: review.name.clone(),
                reallocation: Some(rpb::Reallocation {
                    kind: rpb::ReallocationKind::Coaching as i32,
                    unit: format!("units/{rep}"),
                    description: secret(rep),
                    ..Default::default()
                }),
                request_id: format!("setup-realloc-{u}-{rep}"),
            }))
            .await
            .unwrap_or_else(|e| panic!("reallocation in {u}'s review: {e:?}"));
            if *rep != rep_of(u) {
                r.create_action_item(setup(rpb::CreateActionItemRequest {
                    parent: review.name.clone(),
                    action_item: Some(rpb::ActionItem { text: secret(rep), ..action_item(rep) }),
                    request_id: format!("setup-action-{u}-{rep}"),
                }))
                .await
                .unwrap_or_else(|e| panic!("action item in {u}'s review: {e:?}"));
            }
        }
        x.reviews.insert(u.into(), review.name);
        x.action_items.insert(u.into(), item.name);
    }
    x
}

type Outcome = Result<(), Code>;

/// Calls `method` with already-encoded messages (one, or a client stream);
/// a server stream counts as answered once its first response (or error)
/// is in. Batch-like replies that report rows instead of failing (a stream
/// of deals, an import) are read: a row refused for scope is a denial.
async fn grpc(gw: &Channel, md: &MethodDescriptor, c: &Cell, msgs: Vec<Bytes>) -> (Outcome, String, String) {
    let mut grpc = tonic::client::Grpc::new(gw.clone());
    grpc.ready().await.unwrap();
    let path: tonic::codegen::http::uri::PathAndQuery =
        format!("/{}/{}", md.parent_service().full_name(), md.name()).parse().unwrap();
    let replies: Result<Vec<Bytes>, tonic::Status> = match (md.is_client_streaming(), md.is_server_streaming()) {
        (false, false) => {
            let r = as_(c.person, c.role, c.scope, msgs.into_iter().next().unwrap());
            grpc.unary(r, path, RawCodec).await.map(|r| vec![r.into_inner()])
        }
        (false, true) => {
            let r = as_(c.person, c.role, c.scope, msgs.into_iter().next().unwrap());
            // Watches stay open: the answer is the call's head, and what
            // the stream sends in its first moments (scanned for rows).
            match grpc.server_streaming(r, path, RawCodec).await {
                Ok(s) => {
                    let mut s = s.into_inner();
                    let mut first = Vec::new();
                    while let Ok(Ok(Some(b))) =
                        tokio::time::timeout(std::time::Duration::from_millis(150), s.message()).await
                    {
                        first.push(b);
                    }
                    Ok(first)
                }
                Err(e) => Err(e),
            }
        }
        (true, false) => {
            let r = as_(c.person, c.role, c.scope, tokio_stream::iter(msgs));
            grpc.client_streaming(r, path, RawCodec).await.map(|r| vec![r.into_inner()])
        }
        (true, true) => {
            let r = as_(c.person, c.role, c.scope, tokio_stream::iter(msgs));
            match grpc.streaming(r, path, RawCodec).await {
                Ok(s) => {
                    let mut s = s.into_inner();
                    let mut all = Vec::new();
                    loop {
                        match s.message().await {
                            Ok(Some(b)) => all.push(b),
                            Ok(None) => break Ok(all),
                            Err(e) => break Err(e),
                        }
                    }
                }
                Err(e) => Err(e),
            }
        }
    };
    match replies {
        Err(s) => (Err(s.code()), s.message().to_owned(), String::new()),
        Ok(replies) => {
            let text: String = replies
                .iter()
                .map(|b| serde_json::to_string(&DynamicMessage::decode(md.output(), b.clone()).unwrap()).unwrap())
                .collect();
            match row_errors(md, &replies) {
                Some(why) if why.contains("outside your scope") || why.contains("may not") => {
                    (Err(Code::PermissionDenied), why, text)
                }
                Some(why) => (Err(Code::InvalidArgument), why, text),
                None => (Ok(()), String::new(), text),
            }
        }
    }
}

/// The row errors a StreamDeals or ImportDeals reply reports, if any.
fn row_errors(md: &MethodDescriptor, replies: &[Bytes]) -> Option<String> {
    let errors: Vec<kpb::RowError> = match md.name() {
        "StreamDeals" => {
            replies.iter().flat_map(|b| kpb::StreamDealsResponse::decode(b.clone()).unwrap().errors).collect()
        }
        "ImportDeals" => {
            replies.iter().flat_map(|b| kpb::ImportDealsResponse::decode(b.clone()).unwrap().errors).collect()
        }
        _ => return None,
    };
    (!errors.is_empty())
        .then(|| errors.iter().map(|e| format!("{}: {}", e.field, e.description)).collect::<Vec<_>>().join("; "))
}

/// The REST form of a request, by the method's `google.api.http` rule:
/// path variables from the message, the body (`*` or one field), the rest
/// as query parameters.
fn rest_form(pool: &DescriptorPool, md: &MethodDescriptor, msg: &Bytes) -> Option<(String, String, Option<String>)> {
    let ext = pool.get_extension_by_name("google.api.http")?;
    let options = md.options();
    if !options.has_extension(&ext) {
        return None;
    }
    let rule = options.get_extension(&ext);
    let PValue::Message(rule) = rule.as_ref() else { return None };
    let text = |f: &str| rule.get_field_by_name(f).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let (verb, template) =
        ["get", "post", "patch", "put", "delete"].into_iter().map(|v| (v, text(v))).find(|(_, t)| !t.is_empty())?;
    let body = text("body");
    let input = DynamicMessage::decode(md.input(), msg.clone()).unwrap();
    let mut json = serde_json::to_value(&input).unwrap();
    // Path variables: {field.path=pattern} or {field}.
    let mut path = String::new();
    let mut rest = template.as_str();
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let var = rest[open + 1..close].split('=').next().unwrap();
        path.push_str(&take(&mut json, md.input(), var));
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    let body = match body.as_str() {
        "" => None,
        "*" => Some(std::mem::take(&mut json)),
        field => {
            let name = md.input().get_field_by_name(field).unwrap().json_name().to_owned();
            Some(json.as_object_mut().and_then(|o| o.remove(&name)).unwrap_or(Value::Null))
        }
    };
    let mut query = String::new();
    if let Some(o) = json.as_object() {
        for (k, v) in o {
            let values = match v {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for v in values {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let _ = write!(query, "{}{k}={}", if query.is_empty() { '?' } else { '&' }, urlencode(&v));
            }
        }
    }
    Some((verb.to_uppercase(), format!("{path}{query}"), body.map(|b| b.to_string())))
}

/// Removes a (dotted) field from the JSON form and returns its text.
fn take(json: &mut Value, mut desc: prost_reflect::MessageDescriptor, var: &str) -> String {
    let mut at = json;
    let parts: Vec<&str> = var.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let field = desc.get_field_by_name(part).unwrap();
        let name = field.json_name().to_owned();
        if i + 1 == parts.len() {
            return match at.as_object_mut().and_then(|o| o.remove(&name)) {
                Some(Value::String(s)) => s,
                _ => String::new(),
            };
        }
        if let prost_reflect::Kind::Message(m) = field.kind() {
            desc = m;
        }
        at = at.get_mut(&name).unwrap();
    }
    String::new()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn code_of(name: &str) -> Code {
    match name {
        "INVALID_ARGUMENT" => Code::InvalidArgument,
        "NOT_FOUND" => Code::NotFound,
        "ALREADY_EXISTS" => Code::AlreadyExists,
        "PERMISSION_DENIED" => Code::PermissionDenied,
        "FAILED_PRECONDITION" => Code::FailedPrecondition,
        "ABORTED" => Code::Aborted,
        "UNAUTHENTICATED" => Code::Unauthenticated,
        "UNAVAILABLE" => Code::Unavailable,
        "RESOURCE_EXHAUSTED" => Code::ResourceExhausted,
        "DEADLINE_EXCEEDED" => Code::DeadlineExceeded,
        "UNIMPLEMENTED" => Code::Unimplemented,
        _ => Code::Internal,
    }
}

async fn rest(addr: std::net::SocketAddr, c: &Cell, verb: &str, path: &str, body: Option<&str>) -> (Outcome, String) {
    let mut headers = vec![("authorization", format!("Bearer {}", token(c.person, c.role, c.scope)))];
    if body.is_some() {
        headers.push(("content-type", "application/json".into()));
    }
    if path.contains(":watch") {
        let (status, lines) =
            stream_lines(addr, path, &headers, 0, std::time::Duration::from_millis(10)).await.unwrap();
        assert!(lines.is_empty());
        return (if status == 200 { Ok(()) } else { Err(rest_code(status)) }, String::new());
    }
    let reply = request(addr, verb, path, &headers, body.unwrap_or("").as_bytes()).await.unwrap();
    if reply.status == 200 {
        return (Ok(()), reply.text());
    }
    let json = reply.json();
    (Err(code_of(json["error"]["status"].as_str().unwrap_or(""))), String::new())
}

/// The status a streamed reply's head carries (its body is NDJSON).
fn rest_code(status: u16) -> Code {
    match status {
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        _ => Code::Internal,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_and_route_for_every_role_and_owner() {
    let suite = Suite::start(Backend::Postgres, |_| {}).await;
    let gw = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let ctx = set_up(&gw).await;
    let pool = DescriptorPool::decode(attain_proto::FILE_DESCRIPTOR_SET).unwrap();
    let table = rpcs();

    // Every RPC of every Attain service has a row, and only those.
    let mut declared: Vec<String> = pool
        .services()
        .filter(|s| s.full_name().starts_with("attain."))
        .flat_map(|s| {
            s.methods().map(|m| format!("{}/{}", m.parent_service().full_name(), m.name())).collect::<Vec<_>>()
        })
        .collect();
    let mut rows: Vec<String> = table.iter().map(|r| r.method.to_owned()).collect();
    declared.sort();
    rows.sort();
    assert_eq!(rows, declared, "one row per RPC");

    let mut wrong = Vec::new();
    let (mut cells, mut rest_cells, mut n, mut scanned) = (0, 0, 0, 0usize);
    let mut routes = std::collections::BTreeSet::new();
    for row in &table {
        let (service, name) = row.method.split_once('/').unwrap();
        let md = pool.get_service_by_name(service).unwrap().methods().find(|m| m.name() == name).unwrap();
        let mut answered_ok = false;
        for (r, (label, person, role, scope, units)) in ROLES.into_iter().enumerate() {
            for &o in row.owners {
                n += 1;
                let cell = Cell { n, person, role, scope, unit: units[o] };
                let want = match row.grid[r][o] {
                    Y => None,
                    N => Some(Code::PermissionDenied),
                    U if role == Role::Admin => Some(row.unknown),
                    U => Some(Code::PermissionDenied),
                };
                let msgs = (row.build)(&ctx, &cell);
                let (got, why, reply) = grpc(&gw, &md, &cell, msgs.clone()).await;
                cells += 1;
                let leaked = leaks(&cell, &reply);
                scanned += reply.matches("SECRET-").count();
                if !leaked.is_empty() {
                    wrong.push(format!("{} {label} ({}): rows of {leaked:?} came back", row.method, cell.unit));
                }
                let fine = |got: &Outcome| match (want, got) {
                    (None, Ok(())) => true,
                    (None, Err(code)) => row.ok_also.contains(code),
                    (Some(w), Err(code)) => w == *code,
                    (Some(_), Ok(())) => false,
                };
                answered_ok |= got.is_ok();
                let at = format!("{} {label} {} ({})", row.method, OWNERS[o], cell.unit);
                if !fine(&got) {
                    wrong.push(format!("{at}: expected {want:?}, got {got:?} {why}"));
                }
                // The same cell through the REST route, if the RPC has one
                // (a fresh request id: the gRPC call above used this one).
                if rest_form(&pool, &md, &msgs[0]).is_some() {
                    routes.insert(row.method);
                    n += 1;
                    let cell = Cell { n, ..cell };
                    let msgs = (row.build)(&ctx, &cell);
                    let (verb, path, body) = rest_form(&pool, &md, &msgs[0]).unwrap();
                    let (got, reply) = rest(suite.gateway.addr, &cell, &verb, &path, body.as_deref()).await;
                    rest_cells += 1;
                    let leaked = leaks(&cell, &reply);
                    scanned += reply.matches("SECRET-").count();
                    if !leaked.is_empty() {
                        wrong.push(format!("{} {label} REST {path}: rows of {leaked:?} came back", row.method));
                    }
                    if !fine(&got) {
                        wrong.push(format!("{at} REST {verb} {path}: expected {want:?}, got {got:?}"));
                    }
                }
            }
        }
        if !answered_ok {
            wrong.push(format!("{}: no cell answered OK — the request itself is wrong", row.method));
        }
    }
    assert!(wrong.is_empty(), "{} of {cells} gRPC + {rest_cells} REST cells wrong:\n{}", wrong.len(), wrong.join("\n"));
    // The markers do come back where they may: the scan is not vacuous.
    assert!(scanned > 500, "only {scanned} markers seen in allowed replies");
    self_approval(&gw).await;
    crate::support::reliability_claim(&format!(
        "| `every_rpc_and_route_for_every_role_and_owner` | {} RPCs and {} REST routes × 5 roles × their owners | {cells} gRPC cells + {rest_cells} REST cells | every cell as written down |",
        table.len(),
        routes.len()
    ));
}

/// No one decides their own request: not a manager who may approve the
/// same change for anyone else, not an admin.
async fn self_approval(gw: &Channel) {
    let mut t = TargetServiceClient::new(gw.clone());
    for (person, role, scope) in [("wang", Role::Manager, "region-a"), ("ops", Role::Admin, "")] {
        let adj = t
            .create_adjustment(as_(
                person,
                role,
                scope,
                tpb::CreateAdjustmentRequest {
                    parent: "plans/fy2024".into(),
                    adjustment: Some(adjustment("rep-2", "-2")),
                    request_id: format!("self-{person}"),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let own = t
            .approve_adjustment(as_(
                person,
                role,
                scope,
                tpb::ApproveAdjustmentRequest {
                    name: adj.name.clone(),
                    note: "mine".into(),
                    request_id: format!("self-approve-{person}"),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(own.code(), Code::PermissionDenied, "{person}: {own:?}");
        assert!(own.message().contains("requester"), "{}", own.message());
        // Someone else above may; the request was never spent.
        let other = t
            .approve_adjustment(setup(tpb::ApproveAdjustmentRequest {
                name: adj.name,
                note: "ok".into(),
                request_id: format!("other-approve-{person}"),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(other.state, tpb::AdjustmentState::Approved as i32);
    }
    // A second manager of region A is a peer of the first, not above it:
    // rep 2's target is below both, yet neither decides the other's request.
    let peer = t
        .create_adjustment(as_(
            "zhao",
            Role::Manager,
            "region-a",
            tpb::CreateAdjustmentRequest {
                parent: "plans/fy2024".into(),
                adjustment: Some(adjustment("rep-2", "-2")),
                request_id: "peer-request".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    for verb in ["approve", "reject"] {
        let name = peer.name.clone();
        let got = if verb == "approve" {
            let r = tpb::ApproveAdjustmentRequest { name, ..Default::default() };
            t.approve_adjustment(as_("wang", Role::Manager, "region-a", r)).await.map(|_| ())
        } else {
            let r = tpb::RejectAdjustmentRequest { name, ..Default::default() };
            t.reject_adjustment(as_("wang", Role::Manager, "region-a", r)).await.map(|_| ())
        };
        assert_eq!(got.unwrap_err().code(), Code::PermissionDenied, "a peer manager may not {verb}");
    }
    let above = tpb::ApproveAdjustmentRequest { name: peer.name, ..Default::default() };
    let approved = t.approve_adjustment(as_("ceo", Role::Manager, "acme", above)).await.unwrap().into_inner();
    assert_eq!(approved.state, tpb::AdjustmentState::Approved as i32, "the company's manager is above both");
}
