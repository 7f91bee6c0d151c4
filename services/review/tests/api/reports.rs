//! Best practices, reallocations, the report (Markdown line by line, XLSX
//! cell by cell), the next-period suggestion and accepting it.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::{Language, Money, Period},
    review::v1::{self as pb},
    target::v1 as tpb,
};
use calamine::{Data, Reader, Xlsx};
use tonic::Code;

use crate::helpers::spawn_suite;

async fn open_january(m: &mut crate::helpers::Reviews) -> pb::Review {
    let review = pb::Review {
        unit: "units/region-a".into(),
        period: Some(Period { expression: "2024-01".into(), ..Default::default() }),
        cadence: pb::Cadence::Monthly as i32,
        ..Default::default()
    };
    m.create_review(pb::CreateReviewRequest { review: Some(review), request_id: "jan".into() })
        .await
        .unwrap()
        .into_inner()
}

async fn practices_reallocations_reports_and_suggestions(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.reviews("mgr-a", Role::Manager, "region-a");
    let review = open_january(&mut manager).await;

    // Rep 1 hit target: its practice is searchable.
    let practice = pb::BestPractice {
        author: "rep-1".into(),
        title: "Weekly key-account calls".into(),
        text: "Call the top ten accounts every Monday".into(),
        tags: vec!["客户维护".into(), "calls".into()],
        ..Default::default()
    };
    manager
        .create_best_practice(pb::CreateBestPracticeRequest {
            parent: review.name.clone(),
            best_practice: Some(practice),
            request_id: String::new(),
        })
        .await
        .unwrap();
    // Nobody credits a stranger, and a rep only themselves.
    let forged = |author: &str| pb::CreateBestPracticeRequest {
        parent: review.name.clone(),
        best_practice: Some(pb::BestPractice {
            author: author.into(),
            title: "t".into(),
            text: "x".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let e = manager.create_best_practice(forged("ceo-of-other-company")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let mut rep2 = s.reviews("rep-2", Role::Rep, "rep-2");
    let e = rep2.create_best_practice(forged("rep-1")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let search = |q: &str| pb::SearchBestPracticesRequest {
        query: q.into(),
        unit: "units/region-a".into(),
        ..Default::default()
    };
    assert_eq!(manager.search_best_practices(search("monday")).await.unwrap().into_inner().best_practices.len(), 1);
    assert_eq!(manager.search_best_practices(search("客户")).await.unwrap().into_inner().best_practices.len(), 1);
    assert!(manager.search_best_practices(search("discount")).await.unwrap().into_inner().best_practices.is_empty());

    // Resources for rep 2.
    let budget = pb::Reallocation {
        kind: pb::ReallocationKind::PromotionBudget as i32,
        unit: "units/rep-2".into(),
        budget: Some(Money { currency_code: "CNY".into(), amount: "20000.00".into() }),
        ..Default::default()
    };
    let made = manager
        .create_reallocation(pb::CreateReallocationRequest {
            parent: review.name.clone(),
            reallocation: Some(budget),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((made.approved_by.as_str(), made.budget.unwrap().amount.as_str()), ("mgr-a", "20000.00"));
    // Row scope: rep 1 reads the region's review but sees only its own
    // lines, never rep 2's budget (marked so a leak is plain).
    let coaching = pb::Reallocation {
        kind: pb::ReallocationKind::Coaching as i32,
        unit: "units/rep-1".into(),
        description: "pair with rep 3 on key accounts".into(),
        ..Default::default()
    };
    manager
        .create_reallocation(pb::CreateReallocationRequest {
            parent: review.name.clone(),
            reallocation: Some(coaching),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let marked = pb::Reallocation {
        kind: pb::ReallocationKind::Coaching as i32,
        unit: "units/rep-2".into(),
        description: "FORBIDDEN-MARKER rep 2 only".into(),
        ..Default::default()
    };
    manager
        .create_reallocation(pb::CreateReallocationRequest {
            parent: review.name.clone(),
            reallocation: Some(marked),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let list = |parent: &str| pb::ListReallocationsRequest { parent: parent.into(), ..Default::default() };
    let all = manager.list_reallocations(list(&review.name)).await.unwrap().into_inner().reallocations;
    assert_eq!(all.len(), 3, "the manager sees every line");
    let mut rep1 = s.reviews("rep-1", Role::Rep, "rep-1");
    let own = rep1.list_reallocations(list(&review.name)).await.unwrap().into_inner().reallocations;
    assert_eq!(own.iter().map(|x| x.unit.as_str()).collect::<Vec<_>>(), ["units/rep-1"]);
    assert!(!format!("{own:?}").contains("FORBIDDEN-MARKER"));
    assert!(own.iter().all(|x| x.budget.is_none()), "rep 2's budget is not rep 1's to read");
    let no_leads =
        pb::Reallocation { kind: pb::ReallocationKind::Leads as i32, unit: "units/rep-2".into(), ..Default::default() };
    assert_eq!(
        manager
            .create_reallocation(pb::CreateReallocationRequest {
                parent: review.name.clone(),
                reallocation: Some(no_leads),
                request_id: String::new()
            })
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    let outside = pb::Reallocation {
        kind: pb::ReallocationKind::Leads as i32,
        lead_count: 5,
        unit: "units/region-b".into(),
        ..Default::default()
    };
    assert_eq!(
        manager
            .create_reallocation(pb::CreateReallocationRequest {
                parent: review.name.clone(),
                reallocation: Some(outside),
                request_id: String::new()
            })
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );

    // The suggestion: trend 160,000 × (1 + 0.05).
    let suggestion = manager
        .get_suggestion(pb::GetSuggestionRequest { name: review.name.clone(), growth_rate: "0.05".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suggestion.amount.as_ref().unwrap().amount, "168000.00");
    assert_eq!(suggestion.next_period.as_ref().unwrap().expression, "2024-02");
    assert_eq!(suggestion.formula, "actual 160000.00 × (1 + 0.05) = 168000.00");
    assert_eq!(suggestion.inputs["trend"], "160000.00");
    let rep1 = suggestion.units.iter().find(|u| u.unit == "units/rep-1").unwrap();
    assert_eq!(rep1.amount.as_ref().unwrap().amount, "126000.00");

    // Markdown, line by line.
    let md = manager
        .generate_report(pb::GenerateReportRequest {
            name: review.name.clone(),
            format: pb::ReportFormat::Markdown as i32,
            language: Language::En as i32,
            money_unit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let text = String::from_utf8(md.content).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# Review report — REGION-A 2024-01");
    assert!(lines.contains(&"| REP-2 | 101,639.34 | 40,000.00 | 39.35% | 61,639.34 | 101,639.34 | Red |"), "{text}");
    assert!(lines.contains(&"1. Lost: price (3), lost 40,000.00"), "{text}");
    assert!(lines.contains(&"| Last year | no history |  |  |  |"), "{text}");
    assert!(lines.contains(&"- **Weekly key-account calls**: Call the top ten accounts every Monday"), "{text}");
    assert!(lines.contains(&"| REP-2 | Promotion budget | 20,000.00 CNY | REGION-A manager |"), "{text}");
    // The table adds up: members' total, and what the region holds itself.
    assert!(lines.iter().any(|l| l.starts_with("| **Members total** | 203,278.68 | 160,000.00 | 78.71% |")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("| Unit's own (not in members) | 0.00 | 0.00 |")), "{text}");
    assert!(lines.iter().any(|l| l.starts_with("| REP-1 | no history |")), "every member's indicators: {text}");
    assert!(
        lines.contains(&"- Formula: actual 160,000.00 × (1 + 25%) = 200,000.00"),
        "the plan's growth by default: {text}"
    );
    let zh = manager
        .generate_report(pb::GenerateReportRequest {
            name: review.name.clone(),
            format: pb::ReportFormat::Markdown as i32,
            language: Language::Zh as i32,
            money_unit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(String::from_utf8(zh.content).unwrap().starts_with("# 复盘报告 — REGION-A 2024-01"));

    // XLSX: the guide's five templates, read back cell by cell.
    let xlsx = manager
        .generate_report(pb::GenerateReportRequest {
            name: review.name.clone(),
            format: pb::ReportFormat::Xlsx as i32,
            language: Language::Zh as i32,
            money_unit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(xlsx.file_name.ends_with(".xlsx"));
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx.content)).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["年度业绩目标总表", "目标分解", "阶段目标与里程碑", "周度销售进展记录表", "复盘与行动计划"]
    );
    // Cell by cell (the workbook's own test reads it as a whole).
    let range = |book: &mut Xlsx<_>, sheet: &str| book.worksheet_range(sheet).unwrap();
    assert_eq!(range(&mut book, "年度业绩目标总表").get_value((0, 5)), Some(&Data::String("年度目标(CNY)".into())));
    assert_eq!(range(&mut book, "年度业绩目标总表").get_value((1, 5)), Some(&Data::Float(10_000_000.0)));
    assert_eq!(range(&mut book, "年度业绩目标总表").get_value((1, 3)), Some(&Data::Float(8_000_000.0)));
    let split = range(&mut book, "目标分解");
    assert_eq!(split.get_value((2, 0)), Some(&Data::String("REP-1".into())));
    assert_eq!(split.get_value((2, 1)), Some(&Data::Float(101_639.34)));
    let progress = range(&mut book, "周度销售进展记录表");
    assert_eq!(progress.get_value((0, 2)), Some(&Data::String("销售代表".into())));
    assert_eq!(progress.height(), 5, "a header, three January deals and their total");
    assert_eq!(range(&mut book, "复盘与行动计划").get_value((0, 0)), Some(&Data::String("未达成主要原因".into())));

    // Accepting a monthly suggestion requests an adjustment of the next
    // month; a retry returns the same one. (The loop itself: below.)
    let mut admin = s.reviews("ops", Role::Admin, "");
    let accept = |id: &str| pb::AcceptSuggestionRequest {
        name: review.name.clone(),
        growth_rate: "0.05".into(),
        request_id: id.into(),
    };
    // Region A sold 160,000 in January: February's suggestion (168,000)
    // is below its 190,163.93, but region A is split to its reps in full,
    // so its own target cannot fall below them, and the target service
    // says so (the reps' reviews carry the cut instead: below).
    let refused = admin.accept_suggestion(accept("accept-1")).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("below what it has split"), "{}", refused.message());
    // Region B sold nothing in January: nothing to grow, and a zero target
    // for February is not a plan — refused, nothing requested.
    let quiet = admin
        .create_review(pb::CreateReviewRequest {
            review: Some(pb::Review {
                unit: "units/region-b".into(),
                period: Some(Period { expression: "2024-01".into(), ..Default::default() }),
                cadence: pb::Cadence::Monthly as i32,
                ..Default::default()
            }),
            request_id: "b-jan".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let nothing = admin
        .accept_suggestion(pb::AcceptSuggestionRequest {
            name: quiet.name.clone(),
            growth_rate: String::new(),
            request_id: "accept-b".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(nothing.code(), Code::FailedPrecondition, "{nothing:?}");
    assert!(nothing.message().contains("no sales to grow"), "{}", nothing.message());
    assert_eq!(
        admin
            .generate_report(pb::GenerateReportRequest {
                name: "reviews/nothing".into(),
                format: pb::ReportFormat::Markdown as i32,
                ..Default::default()
            })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let mut rep = s.reviews("rep-2", Role::Rep, "rep-2");
    assert_eq!(
        rep.generate_report(pb::GenerateReportRequest {
            name: review.name.clone(),
            format: pb::ReportFormat::Markdown as i32,
            ..Default::default()
        })
        .await
        .unwrap_err()
        .code(),
        Code::PermissionDenied
    );
}

/// The guide's step 7 closes the loop: rep 1's January review suggests
/// February (its actual × 1.05); accepting it requests an adjustment that
/// makes February that much, approved from above, with January untouched.
/// The annual review of the company, accepted by an admin, makes next
/// year's DRAFT plan with the regions proposed; region A's annual review,
/// accepted by its manager, proposes its reps in that draft.
async fn accepting_closes_the_loop(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.reviews("mgr-a", Role::Manager, "region-a");
    let open = |unit: &str, period: &str, cadence: pb::Cadence| pb::CreateReviewRequest {
        review: Some(pb::Review {
            unit: format!("units/{unit}"),
            period: Some(Period { expression: period.into(), ..Default::default() }),
            cadence: cadence as i32,
            ..Default::default()
        }),
        request_id: format!("{unit}-{period}"),
    };
    let rep1 = manager.create_review(open("rep-1", "2024-01", pb::Cadence::Monthly)).await.unwrap().into_inner();
    let accept = |name: &str, id: &str| pb::AcceptSuggestionRequest {
        name: name.into(),
        growth_rate: "0.05".into(),
        request_id: id.into(),
    };
    let suggestion = manager
        .get_suggestion(pb::GetSuggestionRequest { name: rep1.name.clone(), growth_rate: "0.05".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suggestion.next_period.as_ref().unwrap().expression, "2024-02");
    assert_eq!(suggestion.amount.as_ref().unwrap().amount, "126000.00", "120,000 × 1.05");
    // A late January deal: the open review's suggestion follows it at
    // once, as its brief does (no RefreshBrief needed).
    s.tracking()
        .create_deal(attain_proto::attain::tracking::v1::CreateDealRequest {
            deal: Some(attain_proto::attain::tracking::v1::Deal {
                rep: "units/rep-1".into(),
                amount: Some(Money { currency_code: "CNY".into(), amount: "10000.00".into() }),
                close_date: "2024-01-31".into(),
                ..Default::default()
            }),
            request_id: "late-january".into(),
        })
        .await
        .unwrap();
    let suggestion = manager
        .get_suggestion(pb::GetSuggestionRequest { name: rep1.name.clone(), growth_rate: "0.05".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suggestion.amount.as_ref().unwrap().amount, "136500.00", "130,000 × 1.05");
    let accepted = manager.accept_suggestion(accept(&rep1.name, "rep1-feb")).await.unwrap().into_inner();
    assert!(accepted.plan.is_empty() && accepted.adjustment.starts_with("plans/fy2024/adjustments/"));
    let mut targets = s.targets("ops", Role::Admin, "");
    let adj = targets
        .get_adjustment(tpb::GetAdjustmentRequest { name: accepted.adjustment.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((adj.state, adj.effective_date.as_str()), (tpb::AdjustmentState::Pending as i32, "2024-02-01"));
    assert_eq!(adj.requester, "mgr-a");
    // The requester cannot approve it; the company's manager can.
    assert_eq!(
        s.targets("mgr-a", Role::Manager, "region-a")
            .approve_adjustment(tpb::ApproveAdjustmentRequest { name: adj.name.clone(), ..Default::default() })
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    s.targets("boss", Role::Manager, "acme")
        .approve_adjustment(tpb::ApproveAdjustmentRequest { name: adj.name.clone(), ..Default::default() })
        .await
        .unwrap();
    let month = |m: &str| tpb::QueryPeriodTargetsRequest {
        plan: "plans/fy2024".into(),
        unit: "units/rep-1".into(),
        period: m.into(),
        ..Default::default()
    };
    let amount = |r: tpb::QueryPeriodTargetsResponse| -> rust_decimal::Decimal {
        r.targets[0].amount.as_ref().unwrap().amount.parse().unwrap()
    };
    let feb = amount(targets.query_period_targets(month("2024-02")).await.unwrap().into_inner());
    assert!(
        (feb - rust_decimal::Decimal::from(136_500)).abs() <= rust_decimal::Decimal::new(2, 2),
        "February reads {feb}"
    );
    let jan = amount(targets.query_period_targets(month("2024-01")).await.unwrap().into_inner());
    assert_eq!(jan.to_string(), "101639.34", "January stays as it was shown");

    // The annual loop: a manager cannot make the company's next plan; an
    // admin accepting the company's review makes it, with the regions
    // proposed; region A's manager then proposes its reps in it.
    let mut admin = s.reviews("ops", Role::Admin, "");
    let acme = admin.create_review(open("acme", "2024", pb::Cadence::Annual)).await.unwrap().into_inner();
    let region = manager.create_review(open("region-a", "2024", pb::Cadence::Annual)).await.unwrap().into_inner();
    assert_eq!(
        manager.accept_suggestion(accept(&region.name, "early")).await.unwrap_err().code(),
        Code::FailedPrecondition,
        "no draft for 2025 yet"
    );
    let draft = admin.accept_suggestion(accept(&acme.name, "acme-2025")).await.unwrap().into_inner();
    assert!(draft.plan.starts_with("plans/sug-"), "{draft:?}");
    assert_eq!(draft.targets.len(), 2, "region A and region B proposed: {draft:?}");
    // Rep 2 leaves at the year's end: next year's proposal leaves it out.
    s.org()
        .update_unit(tpb::UpdateUnitRequest {
            unit: Some(tpb::Unit { name: "units/rep-2".into(), end_date: "2024-12-31".into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["end_date".into()] }),
            ..Default::default()
        })
        .await
        .unwrap();
    let reps = manager.accept_suggestion(accept(&region.name, "region-2025")).await.unwrap().into_inner();
    assert_eq!(reps.plan, draft.plan);
    assert_eq!(reps.targets.len(), 1, "rep 1 proposed, not rep 2 who leaves: {reps:?}");
    assert!(reps.targets[0].ends_with("/targets/rep-1"), "{reps:?}");
    let plan = targets.get_plan(tpb::GetPlanRequest { name: draft.plan.clone() }).await.unwrap().into_inner();
    assert_eq!((plan.fiscal_year, plan.state), (2025, tpb::PlanState::Draft as i32));
}

both_backends!(practices_reallocations_reports_and_suggestions, accepting_closes_the_loop);
