//! Region A's January review (DESIGN §6 step 6) through the review service:
//! brief, causes, top-3 reasons, actions, freezing and carry-over, scope.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::{Period, Status},
    review::v1::{self as pb},
    tracking::v1 as kpb,
};
use tonic::Code;

use crate::helpers::{Reviews, cny, spawn_suite};

fn review_request(period: &str, request_id: &str) -> pb::CreateReviewRequest {
    pb::CreateReviewRequest {
        review: Some(pb::Review {
            unit: "units/region-a".into(),
            period: Some(Period { expression: period.into(), ..Default::default() }),
            cadence: pb::Cadence::Monthly as i32,
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

fn cause(unit: &str, category: pb::CauseCategory, kind: pb::CauseKind, text: &str) -> pb::Cause {
    pb::Cause {
        unit: format!("units/{unit}"),
        category: category as i32,
        kind: kind as i32,
        text: text.into(),
        ..Default::default()
    }
}

fn member<'a>(r: &'a pb::Review, unit: &str) -> &'a pb::MemberFigures {
    r.brief.as_ref().unwrap().members.iter().find(|m| m.unit == format!("units/{unit}")).unwrap()
}

fn actual(m: &pb::MemberFigures) -> String {
    m.actual.as_ref().unwrap().amount.clone()
}

async fn add_cause(m: &mut Reviews, review: &str, c: pb::Cause) -> Result<pb::Cause, tonic::Status> {
    m.create_cause(pb::CreateCauseRequest { parent: review.into(), cause: Some(c), request_id: String::new() })
        .await
        .map(|r| r.into_inner())
}

async fn action(
    m: &mut Reviews,
    review: &str,
    owner: &str,
    due: &str,
    cause: &str,
) -> Result<pb::ActionItem, tonic::Status> {
    let item = pb::ActionItem {
        owner: owner.into(),
        text: "Price negotiation training".into(),
        due_date: due.into(),
        cause: cause.into(),
        ..Default::default()
    };
    m.create_action_item(pb::CreateActionItemRequest {
        parent: review.into(),
        action_item: Some(item),
        request_id: String::new(),
    })
    .await
    .map(|r| r.into_inner())
}

async fn region_as_januarys_review(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.reviews("mgr-a", Role::Manager, "region-a");

    let review = manager.create_review(review_request("2024-01", "jan")).await.unwrap().into_inner();
    assert_eq!(review.state, pb::ReviewState::Open as i32);
    let brief = review.brief.as_ref().unwrap();
    assert_eq!(brief.unit.as_ref().unwrap().actual.as_ref().unwrap().amount, "160000.00");
    assert_eq!(brief.members.len(), 2);
    // The gap by sales driver: no history last year, so all of it is volume;
    // against target the three effects sum exactly to the difference.
    let amount = |m: &Option<attain_proto::attain::common::v1::Money>| -> rust_decimal::Decimal {
        m.as_ref().unwrap().amount.parse().unwrap()
    };
    let gaps: Vec<(&str, String, String)> = brief
        .gap_attribution
        .iter()
        .map(|g| (g.basis.as_str(), amount(&g.difference).to_string(), amount(&g.volume_effect).to_string()))
        .collect();
    assert_eq!(gaps[0], ("LAST_YEAR", "160000.00".into(), "160000.00".into()));
    let target = &brief.gap_attribution[1];
    assert_eq!(target.basis, "TARGET");
    assert_eq!(
        amount(&target.volume_effect) + amount(&target.conversion_effect) + amount(&target.average_order_value_effect),
        amount(&target.difference)
    );
    let (rep1, rep2) = (member(&review, "rep-1"), member(&review, "rep-2"));
    assert_eq!(
        (actual(rep1).as_str(), rep1.status, rep1.display_name.as_str()),
        ("120000.00", Status::Green as i32, "REP-1")
    );
    assert_eq!(
        (actual(rep2).as_str(), rep2.status, rep2.conversion_rate.as_str()),
        ("40000.00", Status::Red as i32, "0.2")
    );
    assert_eq!(rep2.average_order_value.as_ref().unwrap().amount, "40000.00");
    assert_eq!(
        review.top_reasons.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>(),
        ["LOSS/PRICE", "LOSS/COMPETITOR"]
    );

    // One open review per unit and period; periods that have not begun wait.
    assert_eq!(
        manager.create_review(review_request("2024-01", "jan-again")).await.unwrap_err().code(),
        Code::AlreadyExists
    );
    assert_eq!(
        manager.create_review(review_request("2024-03", "mar")).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    // Causes for the under-performer; a cause for a unit outside the review is refused.
    let skill = add_cause(
        &mut manager,
        &review.name,
        cause("rep-2", pb::CauseCategory::Subjective, pb::CauseKind::SkillGap, "weak at negotiating"),
    )
    .await
    .unwrap();
    add_cause(
        &mut manager,
        &review.name,
        cause("rep-2", pb::CauseCategory::Subjective, pb::CauseKind::SkillGap, "new to the product"),
    )
    .await
    .unwrap();
    add_cause(
        &mut manager,
        &review.name,
        cause("rep-2", pb::CauseCategory::Objective, pb::CauseKind::CompetitorPricing, "rival cut 15%"),
    )
    .await
    .unwrap();
    let outside = add_cause(
        &mut manager,
        &review.name,
        cause("region-b", pb::CauseCategory::Objective, pb::CauseKind::Market, "x"),
    )
    .await
    .unwrap_err();
    assert_eq!(outside.code(), Code::InvalidArgument);
    let wrong_kind =
        add_cause(&mut manager, &review.name, cause("rep-2", pb::CauseCategory::Objective, pb::CauseKind::Effort, "x"))
            .await
            .unwrap_err();
    assert_eq!(wrong_kind.code(), Code::InvalidArgument);
    // Live brief: the causes are in the top-3 as soon as they are written,
    // on GetReview and ListReviews alike, with no refresh.
    let want = [("LOSS/PRICE", 3), ("SUBJECTIVE/SKILL_GAP", 2), ("LOSS/COMPETITOR", 1)];
    let live = manager.get_review(pb::GetReviewRequest { name: review.name.clone() }).await.unwrap().into_inner();
    let top: Vec<(&str, i64)> = live.top_reasons.iter().map(|r| (r.reason.as_str(), r.count)).collect();
    assert_eq!(top, want, "GetReview shows the new causes");
    let listed = manager
        .list_reviews(pb::ListReviewsRequest { unit: "units/region-a".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .reviews;
    let mine = listed.iter().find(|x| x.name == review.name).unwrap();
    let top: Vec<(&str, i64)> = mine.top_reasons.iter().map(|r| (r.reason.as_str(), r.count)).collect();
    assert_eq!(top, want, "ListReviews shows them too");
    let refreshed = manager
        .refresh_brief(pb::RefreshBriefRequest { name: review.name.clone(), etag: String::new() })
        .await
        .unwrap()
        .into_inner();
    let top: Vec<(&str, i64)> = refreshed.top_reasons.iter().map(|r| (r.reason.as_str(), r.count)).collect();
    assert_eq!(top, [("LOSS/PRICE", 3), ("SUBJECTIVE/SKILL_GAP", 2), ("LOSS/COMPETITOR", 1)]);

    // Action items need an owner and a due date inside or after the period.
    let item = action(&mut manager, &review.name, "rep-2", "2024-02-15", &skill.name).await.unwrap();
    assert_eq!((item.status, item.overdue), (pb::ActionStatus::Open as i32, false));
    assert_eq!(
        action(&mut manager, &review.name, "", "2024-02-15", "").await.unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(
        action(&mut manager, &review.name, "rep-2", "2023-12-01", "").await.unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(
        action(&mut manager, &review.name, "rep-2", "2024-02-15", "reviews/x/causes/nope").await.unwrap_err().code(),
        Code::InvalidArgument
    );
    // An owner is someone of the region; a date is a date; a new item is OPEN.
    let ghost = action(&mut manager, &review.name, "ghost-person", "2024-02-15", "").await.unwrap_err();
    assert!(ghost.message().contains("manages no unit"), "{ghost:?}");
    let bad_day = action(&mut manager, &review.name, "rep-2", "2024-13-45", "").await.unwrap_err();
    assert!(bad_day.message().contains("\"2024-13-45\" is not a date"), "{bad_day:?}");
    let started = manager
        .create_action_item(pb::CreateActionItemRequest {
            parent: review.name.clone(),
            action_item: Some(pb::ActionItem {
                owner: "rep-2".into(),
                text: "x".into(),
                due_date: "2024-02-15".into(),
                status: pb::ActionStatus::InProgress as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(started.code(), Code::InvalidArgument, "{started:?}");

    // The owner moves its item along; someone else's rep may not; a past
    // due date shows as overdue.
    let mut owner = s.reviews("rep-2", Role::Rep, "rep-2");
    let update = |status: pb::ActionStatus| pb::UpdateActionItemRequest {
        action_item: Some(pb::ActionItem { name: item.name.clone(), status: status as i32, ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["status".into()] }),
        request_id: String::new(),
    };
    let moved = owner.update_action_item(update(pb::ActionStatus::InProgress)).await.unwrap().into_inner();
    assert_eq!((moved.status, moved.etag.as_str()), (pb::ActionStatus::InProgress as i32, "2"));
    let mut peer = s.reviews("rep-1", Role::Rep, "rep-1");
    let theirs = peer.update_action_item(update(pb::ActionStatus::Done)).await.unwrap_err();
    assert_eq!(theirs.code(), Code::PermissionDenied);
    // A missing item reads the same to a rep, so item ids cannot be probed
    // (found from outside: NOT_FOUND told a rep which ids did not exist);
    // the manager is told it is missing.
    let mut missing = update(pb::ActionStatus::Done);
    missing.action_item.as_mut().unwrap().name = format!("{}/actionItems/unothere", review.name);
    let probe = peer.update_action_item(missing.clone()).await.unwrap_err();
    assert_eq!((probe.code(), probe.message()), (theirs.code(), theirs.message()));
    assert_eq!(manager.update_action_item(missing).await.unwrap_err().code(), Code::NotFound);
    let late = action(&mut manager, &review.name, "mgr-a", "2024-02-01", "").await.unwrap();
    assert!(late.overdue, "due on Feb 1, open on Feb 2");
    let done = pb::UpdateActionItemRequest {
        action_item: Some(pb::ActionItem {
            name: late.name.clone(),
            status: pb::ActionStatus::Done as i32,
            ..Default::default()
        }),
        update_mask: None,
        request_id: String::new(),
    };
    assert!(!manager.update_action_item(done).await.unwrap().into_inner().overdue, "done is never overdue");

    // A rep sees its own line, causes and actions only.
    let mut rep2 = s.reviews("rep-2", Role::Rep, "rep-2");
    let seen = rep2.get_review(pb::GetReviewRequest { name: review.name.clone() }).await.unwrap().into_inner();
    assert_eq!(seen.brief.as_ref().unwrap().members.len(), 1);
    assert!(seen.brief.as_ref().unwrap().gap_attribution.is_empty(), "the unit's whole picture is not a rep's");
    assert_eq!(
        rep2.list_causes(pb::ListCausesRequest { parent: review.name.clone(), ..Default::default() })
            .await
            .unwrap()
            .into_inner()
            .causes
            .len(),
        3
    );
    let mut rep1 = s.reviews("rep-1", Role::Rep, "rep-1");
    assert!(
        rep1.list_causes(pb::ListCausesRequest { parent: review.name.clone(), ..Default::default() })
            .await
            .unwrap()
            .into_inner()
            .causes
            .is_empty()
    );
    assert!(
        rep1.list_action_items(pb::ListActionItemsRequest { parent: review.name.clone(), ..Default::default() })
            .await
            .unwrap()
            .into_inner()
            .action_items
            .is_empty()
    );
    assert_eq!(
        rep1.close_review(pb::CloseReviewRequest { name: review.name.clone(), ..Default::default() })
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let mut other = s.reviews("mgr-b", Role::Manager, "region-b");
    assert_eq!(
        other.get_review(pb::GetReviewRequest { name: review.name.clone() }).await.unwrap_err().code(),
        Code::PermissionDenied
    );

    // Closing freezes the brief: a late January deal does not change it.
    let closed = manager
        .close_review(pb::CloseReviewRequest { name: review.name.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.state, pb::ReviewState::Closed as i32);
    assert_eq!(
        manager
            .close_review(pb::CloseReviewRequest { name: review.name.clone(), ..Default::default() })
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    s.tracking()
        .create_deal(kpb::CreateDealRequest {
            deal: Some(kpb::Deal {
                rep: "units/rep-2".into(),
                amount: cny("30000"),
                close_date: "2024-01-31".into(),
                ..Default::default()
            }),
            request_id: "late".into(),
        })
        .await
        .unwrap();
    let later = manager.get_review(pb::GetReviewRequest { name: review.name.clone() }).await.unwrap().into_inner();
    assert_eq!(actual(member(&later, "rep-2")), "40000.00", "a closed review shows what was discussed");
    assert_eq!(
        manager
            .refresh_brief(pb::RefreshBriefRequest { name: review.name.clone(), etag: String::new() })
            .await
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );

    // A weekly review inside January is not January's successor: it takes
    // none of January's open actions.
    let mut week = review_request("2024-W03", "w03");
    week.review.as_mut().unwrap().cadence = pb::Cadence::Weekly as i32;
    let w03 = manager.create_review(week).await.unwrap().into_inner();
    let taken = manager
        .list_action_items(pb::ListActionItemsRequest { parent: w03.name.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .action_items;
    assert!(taken.is_empty(), "an overlapping review carries nothing over: {taken:?}");

    // February's review inherits the open action.
    let feb = manager.create_review(review_request("2024-02", "feb")).await.unwrap().into_inner();
    let items = manager
        .list_action_items(pb::ListActionItemsRequest { parent: feb.name.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .action_items;
    assert_eq!(items.len(), 1);
    assert_eq!((items[0].owner.as_str(), items[0].text.as_str()), ("rep-2", "Price negotiation training"));
    assert_eq!(items[0].carried_from, item.name, "the original, named in full");
    assert_eq!(actual(member(&feb, "rep-2")), "0.00");
    // The original reads CARRIED_OVER and takes no more updates: no item
    // is open twice. By unit, both reviews' items list, one of them open
    // (January's done item is listed too).
    let by_unit = manager
        .list_action_items(pb::ListActionItemsRequest { unit: "units/region-a".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .action_items;
    let statuses: Vec<(String, i32)> = by_unit.iter().map(|i| (i.name.clone(), i.status)).collect();
    assert!(statuses.contains(&(item.name.clone(), pb::ActionStatus::CarriedOver as i32)), "{statuses:?}");
    assert!(statuses.contains(&(items[0].name.clone(), items[0].status)), "{statuses:?}");
    assert_eq!(items[0].status, pb::ActionStatus::InProgress as i32, "the copy keeps where it got to");
    let open = by_unit
        .iter()
        .filter(|i| [pb::ActionStatus::Open as i32, pb::ActionStatus::InProgress as i32].contains(&i.status))
        .count();
    assert_eq!(open, 1, "{statuses:?}");
    // Paged one at a time, the same items, each once.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = manager
            .list_action_items(pb::ListActionItemsRequest {
                unit: "units/region-a".into(),
                page_size: 1,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.action_items.len() <= 1);
        paged.extend(page.action_items.into_iter().map(|i| i.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut all: Vec<String> = by_unit.iter().map(|i| i.name.clone()).collect();
    all.sort();
    paged.sort();
    assert_eq!(paged, all);
    let mut done = item.clone();
    done.status = pb::ActionStatus::Done as i32;
    done.etag = String::new();
    let stale = manager
        .update_action_item(pb::UpdateActionItemRequest {
            action_item: Some(done),
            update_mask: Some(prost_types::FieldMask { paths: vec!["status".into()] }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition, "{stale:?}");
    // A rep listing its region's items by unit sees only its own.
    let listed = |rep: &'static str| {
        let mut c = s.reviews(rep, Role::Rep, rep);
        async move {
            c.list_action_items(pb::ListActionItemsRequest { unit: "units/region-a".into(), ..Default::default() })
                .await
                .unwrap()
                .into_inner()
                .action_items
        }
    };
    let rep2 = listed("rep-2").await;
    assert!(!rep2.is_empty() && rep2.iter().all(|i| i.owner == "rep-2"), "{rep2:?}");
    assert!(listed("rep-1").await.is_empty(), "rep 1 owns none of them");
    let unknown = s
        .reviews("ops", Role::Admin, "")
        .get_review(pb::GetReviewRequest { name: "reviews/nothing".into() })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

both_backends!(region_as_januarys_review);

/// A dashboard reads a unit's latest review alone: `unit_only` leaves the
/// reviews below it out, `create_time desc` puts the newest first, and
/// pages follow the order asked.
async fn a_units_own_reviews_newest_first(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut manager = s.reviews("mgr-a", Role::Manager, "region-a");
    let open = |unit: &str, period: &str, cadence: pb::Cadence| pb::CreateReviewRequest {
        review: Some(pb::Review {
            unit: format!("units/{unit}"),
            period: Some(Period { expression: period.into(), ..Default::default() }),
            cadence: cadence as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let jan = manager.create_review(open("region-a", "2024-01", pb::Cadence::Monthly)).await.unwrap().into_inner();
    let rep = manager.create_review(open("rep-1", "2024-01", pb::Cadence::Monthly)).await.unwrap().into_inner();
    let feb = manager.create_review(open("region-a", "2024-02", pb::Cadence::Monthly)).await.unwrap().into_inner();
    let list = |unit_only: bool, order_by: &str, page_size: i32, page_token: &str| pb::ListReviewsRequest {
        unit: "units/region-a".into(),
        page_size,
        page_token: page_token.into(),
        unit_only,
        order_by: order_by.into(),
    };
    let names = |r: &pb::ListReviewsResponse| r.reviews.iter().map(|x| x.name.clone()).collect::<Vec<_>>();

    let all = manager.list_reviews(list(false, "", 10, "")).await.unwrap().into_inner();
    assert_eq!(names(&all), [jan.name.clone(), rep.name.clone(), feb.name.clone()], "the subtree, oldest first");
    let own = manager.list_reviews(list(true, "create_time", 10, "")).await.unwrap().into_inner();
    assert_eq!(names(&own), [jan.name.clone(), feb.name.clone()], "the region's own");
    let latest = manager.list_reviews(list(true, "create_time desc", 1, "")).await.unwrap().into_inner();
    assert_eq!(names(&latest), [feb.name.as_str()]);
    let next = manager.list_reviews(list(true, "create_time desc", 1, &latest.next_page_token)).await.unwrap();
    assert_eq!(names(next.get_ref()), [jan.name.as_str()], "the next page goes on backwards");
    let newest_all = manager.list_reviews(list(false, "create_time desc", 10, "")).await.unwrap().into_inner();
    assert_eq!(names(&newest_all), [feb.name.clone(), rep.name.clone(), jan.name.clone()]);
    // A token of one order is not another's.
    let mixed = manager.list_reviews(list(true, "", 1, &latest.next_page_token)).await.unwrap_err();
    assert_eq!(mixed.code(), Code::InvalidArgument);
    let bad = manager.list_reviews(list(true, "period", 1, "")).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("order_by"), "{bad:?}");
    // Scope as before: a rep reads its own unit's reviews, not the region's.
    let mut rep1 = s.reviews("rep-1", Role::Rep, "rep-1");
    let denied = rep1.list_reviews(list(true, "", 10, "")).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mine = rep1
        .list_reviews(pb::ListReviewsRequest { unit: "units/rep-1".into(), unit_only: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(names(&mine), [rep.name.as_str()]);
}

both_backends!(a_units_own_reviews_newest_first);
