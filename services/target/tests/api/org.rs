//! OrgService end to end over gRPC.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::target::v1::{self as pb, UnitKind::*};
use prost_types::FieldMask;
use tonic::Code;

use crate::helpers::{assert_status, create, seed_org, spawn_app, unit};

async fn builds_and_reads_the_tree(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let mut admin = app.admin();

    let rep = admin.get_unit(pb::GetUnitRequest { name: "units/rep-1".into() }).await.unwrap().into_inner();
    assert_eq!(rep.kind, Rep as i32);
    assert_eq!(rep.parent, "units/team-a1");
    assert_eq!(rep.ancestors, vec!["units/acme", "units/region-a", "units/team-a1"]);
    assert_eq!(rep.etag, "1");

    // Paging through region A's children two at a time... it has two.
    let page = admin
        .list_units(pb::ListUnitsRequest {
            parent: "units/acme".into(),
            page_size: 1,
            page_token: String::new(),
            include_former: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.units.len(), 1);
    assert_eq!(page.units[0].name, "units/region-a");
    // Page tokens are signed and bound to the listing and the caller: a
    // flipped byte (the old tokens honoured one and shifted the page), the
    // token on another listing or in another caller's hands is refused.
    let next = |token: &str, parent: &str| pb::ListUnitsRequest {
        parent: parent.into(),
        page_size: 1,
        page_token: token.into(),
        include_former: false,
    };
    let token = page.next_page_token.clone();
    for i in 0..token.len() {
        let mut forged = token.clone().into_bytes();
        forged[i] = if forged[i] == b'x' { b'y' } else { b'x' };
        let forged = String::from_utf8(forged).unwrap();
        if forged != token {
            let got = admin.list_units(next(&forged, "units/acme")).await;
            assert_status(got, Code::InvalidArgument, Some("page_token"));
        }
    }
    assert_status(admin.list_units(next(&token, "units/region-a")).await, Code::InvalidArgument, Some("page_token"));
    let mut other_admin = app.org("ops-2", Role::Admin, "");
    assert_status(other_admin.list_units(next(&token, "units/acme")).await, Code::InvalidArgument, Some("page_token"));
    let page2 = admin
        .list_units(pb::ListUnitsRequest {
            parent: "units/acme".into(),
            page_size: 1,
            page_token: page.next_page_token,
            include_former: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.units.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), vec!["units/region-b"]);
    assert!(page2.next_page_token.is_empty());

    let roots = admin.list_units(pb::ListUnitsRequest::default()).await.unwrap().into_inner();
    assert_eq!(roots.units.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), vec!["units/acme"]);

    let subtree = admin
        .get_subtree(pb::GetSubtreeRequest { name: "units/region-a".into(), include_former: false })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = subtree.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["units/region-a", "units/rep-3", "units/team-a1", "units/rep-1", "units/rep-2"]);

    // Many at once, in the order asked, failing as GetUnit would.
    let batch = |names: &[&str]| pb::BatchGetUnitsRequest { names: names.iter().map(|n| (*n).to_owned()).collect() };
    let got = admin.batch_get_units(batch(&["units/rep-2", "units/acme", "units/rep-2"])).await.unwrap().into_inner();
    let names: Vec<_> = got.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, vec!["units/rep-2", "units/acme", "units/rep-2"]);
    assert_eq!(got.units[0].ancestors, vec!["units/acme", "units/region-a", "units/team-a1"]);
    assert_status(admin.batch_get_units(batch(&["units/rep-1", "units/nobody"])).await, Code::NotFound, None);
    assert_status(
        admin.batch_get_units(batch(&["units/rep-1", "reps/x"])).await,
        Code::InvalidArgument,
        Some("names[1]"),
    );
    let many: Vec<String> = (0..1001).map(|i| format!("units/u{i}")).collect();
    let too_many = pb::BatchGetUnitsRequest { names: many };
    assert_status(admin.batch_get_units(too_many).await, Code::InvalidArgument, Some("names"));
    let mut rep1 = app.org("rep-1", Role::Rep, "rep-1");
    assert_eq!(rep1.batch_get_units(batch(&["units/rep-1"])).await.unwrap().into_inner().units.len(), 1);
    let hidden = rep1.batch_get_units(batch(&["units/rep-1", "units/rep-2"])).await;
    let missing = rep1.batch_get_units(batch(&["units/rep-1", "units/nobody"])).await;
    assert_status(hidden, Code::PermissionDenied, None);
    assert_status(missing, Code::PermissionDenied, None);
}

async fn generated_ids_and_attributes(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut admin = app.admin();
    let company = create(&mut admin, "", "", Company, "集团").await;
    assert!(company.name.starts_with("units/u"), "{}", company.name);
    let mut region = unit(&company.name, Region, "华东区");
    region.region_maturity = pb::RegionMaturity::New as i32;
    region.start_date = "2024-01-01".into();
    region.manager = "wang".into();
    let region = admin
        .create_unit(pb::CreateUnitRequest { unit: Some(region), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (region.region_maturity, region.start_date.as_str(), region.manager.as_str()),
        (pb::RegionMaturity::New as i32, "2024-01-01", "wang")
    );
    let mut rep = unit(&region.name, Rep, "Li");
    rep.seniority = pb::Seniority::NewHire as i32;
    let rep =
        admin.create_unit(pb::CreateUnitRequest { unit: Some(rep), ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(rep.seniority, pb::Seniority::NewHire as i32);

    let mut wrong = unit(&region.name, Team, "T");
    wrong.seniority = pb::Seniority::Senior as i32;
    assert_status(
        admin.create_unit(pb::CreateUnitRequest { unit: Some(wrong), ..Default::default() }).await,
        Code::InvalidArgument,
        Some("unit.seniority"),
    );
    let mut bad_date = unit(&region.name, Team, "T");
    bad_date.start_date = "2024-02-30".into();
    assert_status(
        admin.create_unit(pb::CreateUnitRequest { unit: Some(bad_date), ..Default::default() }).await,
        Code::InvalidArgument,
        Some("unit.start_date"),
    );
}

async fn bad_input_gets_clear_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let mut admin = app.admin();
    let create_req = |parent: &str, kind: pb::UnitKind, name: &str| pb::CreateUnitRequest {
        unit: Some(unit(parent, kind, name)),
        ..Default::default()
    };

    assert_status(admin.get_unit(pb::GetUnitRequest { name: "units/nobody".into() }).await, Code::NotFound, None);
    assert_status(
        admin.get_unit(pb::GetUnitRequest { name: "nobody".into() }).await,
        Code::InvalidArgument,
        Some("name"),
    );
    assert_status(
        admin.create_unit(create_req("units/rep-1", Rep, "Child")).await,
        Code::InvalidArgument,
        Some("unit.parent"),
    );
    assert_status(
        admin.create_unit(create_req("units/team-a1", Region, "Up")).await,
        Code::InvalidArgument,
        Some("unit.parent"),
    );
    assert_status(
        admin.create_unit(create_req("", Region, "Orphan")).await,
        Code::InvalidArgument,
        Some("unit.parent"),
    );
    assert_status(admin.create_unit(create_req("units/ghost", Team, "T")).await, Code::NotFound, None);
    assert_status(
        admin.create_unit(create_req("units/region-a", Team, "")).await,
        Code::InvalidArgument,
        Some("unit.display_name"),
    );
    assert_status(
        admin.create_unit(create_req("units/region-a", Team, "   ")).await,
        Code::InvalidArgument,
        Some("unit.display_name"),
    );
    let long = "x".repeat(200);
    assert_status(
        admin.create_unit(create_req("units/region-a", Team, &long)).await,
        Code::InvalidArgument,
        Some("unit.display_name"),
    );
    // Sibling names are unique, case-insensitively.
    assert_status(
        admin.create_unit(create_req("units/region-a", Team, "team a1")).await,
        Code::InvalidArgument,
        Some("unit.display_name"),
    );
    assert_status(
        admin.create_unit(create_req("units/region-a", Unspecified, "T")).await,
        Code::InvalidArgument,
        Some("unit.kind"),
    );
    let mut unknown_kind = unit("units/region-a", Team, "T");
    unknown_kind.kind = 42;
    assert_status(
        admin.create_unit(pb::CreateUnitRequest { unit: Some(unknown_kind), ..Default::default() }).await,
        Code::InvalidArgument,
        Some("unit.kind"),
    );
    assert_status(admin.create_unit(pb::CreateUnitRequest::default()).await, Code::InvalidArgument, Some("unit"));
    assert_status(
        admin
            .create_unit(pb::CreateUnitRequest {
                unit: Some(unit("units/region-a", Team, "T")),
                unit_id: "Bad Id".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("unit_id"),
    );
    assert_status(
        admin
            .create_unit(pb::CreateUnitRequest {
                unit: Some(unit("units/region-a", Team, "T")),
                unit_id: "rep-1".into(),
                ..Default::default()
            })
            .await,
        Code::AlreadyExists,
        None,
    );
    assert_status(
        admin
            .list_units(pb::ListUnitsRequest {
                parent: "units/acme".into(),
                page_size: -1,
                page_token: String::new(),
                include_former: false,
            })
            .await,
        Code::InvalidArgument,
        Some("page_size"),
    );
    assert_status(
        admin
            .list_units(pb::ListUnitsRequest {
                parent: "units/acme".into(),
                page_size: 1,
                page_token: "garbage".into(),
                include_former: false,
            })
            .await,
        Code::InvalidArgument,
        Some("page_token"),
    );
    let huge = admin
        .list_units(pb::ListUnitsRequest {
            parent: "units/acme".into(),
            page_size: 100_000,
            page_token: String::new(),
            include_former: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(huge.units.len(), 2, "an over-large page size is capped, not refused");
    assert_status(
        admin
            .update_unit(pb::UpdateUnitRequest {
                unit: Some(pb::Unit { name: "units/rep-1".into(), ..Default::default() }),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("update_mask"),
    );
    assert_status(
        admin
            .update_unit(pb::UpdateUnitRequest {
                unit: Some(pb::Unit { name: "units/rep-1".into(), ..Default::default() }),
                update_mask: Some(FieldMask { paths: vec!["parent".into()] }),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("update_mask"),
    );
}

async fn moves_keep_the_tree_sound(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let mut admin = app.admin();
    let mv =
        |name: &str, to: &str| pb::MoveUnitRequest { name: name.into(), new_parent: to.into(), ..Default::default() };

    assert_status(
        admin.move_unit(mv("units/region-a", "units/team-a1")).await,
        Code::InvalidArgument,
        Some("new_parent"),
    );
    assert_status(
        admin.move_unit(mv("units/region-a", "units/region-a")).await,
        Code::InvalidArgument,
        Some("new_parent"),
    );
    assert_status(admin.move_unit(mv("units/team-a1", "units/rep-3")).await, Code::InvalidArgument, Some("new_parent"));
    assert_status(admin.move_unit(mv("units/acme", "units/region-a")).await, Code::InvalidArgument, Some("new_parent"));

    // Team A1 (with its reps) moves to region B.
    let moved = admin.move_unit(mv("units/team-a1", "units/region-b")).await.unwrap().into_inner();
    assert_eq!(moved.ancestors, vec!["units/acme", "units/region-b"]);
    assert_eq!(moved.etag, "2");
    let rep = admin.get_unit(pb::GetUnitRequest { name: "units/rep-1".into() }).await.unwrap().into_inner();
    assert_eq!(rep.ancestors, vec!["units/acme", "units/region-b", "units/team-a1"]);
    let a: Vec<_> = admin
        .get_subtree(pb::GetSubtreeRequest { name: "units/region-a".into(), include_former: false })
        .await
        .unwrap()
        .into_inner()
        .units
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(a, vec!["units/region-a", "units/rep-3"]);

    // A stale etag loses.
    let stale = pb::MoveUnitRequest {
        name: "units/team-a1".into(),
        new_parent: "units/region-a".into(),
        etag: "1".into(),
        ..Default::default()
    };
    assert_status(admin.move_unit(stale).await, Code::Aborted, None);

    // History is kept: created, then moved.
    let revs = admin
        .list_unit_revisions(pb::ListUnitRevisionsRequest { parent: "units/team-a1".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    let changes: Vec<_> = revs.iter().map(|r| r.change).collect();
    assert_eq!(changes, vec![pb::UnitChange::Created as i32, pb::UnitChange::Moved as i32]);
    assert_eq!(revs[0].unit.as_ref().unwrap().parent, "units/region-a");
    assert_eq!(revs[1].unit.as_ref().unwrap().parent, "units/region-b");
    assert_eq!(revs[1].actor, "ops");
}

async fn updates_use_masks_and_etags(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let mut admin = app.admin();
    let update = |etag: &str, name: &str| pb::UpdateUnitRequest {
        unit: Some(pb::Unit {
            name: "units/rep-1".into(),
            display_name: name.into(),
            seniority: pb::Seniority::Senior as i32,
            etag: etag.into(),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["display_name".into()] }),
        request_id: String::new(),
    };
    let updated = admin.update_unit(update("1", "Zhang San")).await.unwrap().into_inner();
    assert_eq!((updated.display_name.as_str(), updated.etag.as_str()), ("Zhang San", "2"));
    assert_eq!(updated.seniority, pb::Seniority::Unspecified as i32, "fields outside the mask stay as they were");
    assert_status(admin.update_unit(update("1", "Li Si")).await, Code::Aborted, None);
    assert_status(admin.update_unit(update("2", "Rep 2")).await, Code::InvalidArgument, Some("unit.display_name"));

    // Concurrent updates from one etag: exactly one wins.
    let (mut c1, mut c2) = (app.admin(), app.admin());
    let (r1, r2) = tokio::join!(c1.update_unit(update("2", "Wang Wu")), c2.update_unit(update("2", "Zhao Liu")));
    let wins = [r1.is_ok(), r2.is_ok()].iter().filter(|w| **w).count();
    assert_eq!(wins, 1, "{r1:?} {r2:?}");
    let loser = if r1.is_ok() { r2 } else { r1 };
    assert_status(loser, Code::Aborted, None);
    assert_eq!(admin.get_unit(pb::GetUnitRequest { name: "units/rep-1".into() }).await.unwrap().into_inner().etag, "3");
}

/// An employee code names one rep across the org.
async fn employee_codes_are_unique_to_reps(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let mut admin = app.admin();
    let code = |unit: &str, code: &str| pb::UpdateUnitRequest {
        unit: Some(pb::Unit { name: format!("units/{unit}"), employee_code: code.into(), ..Default::default() }),
        update_mask: Some(FieldMask { paths: vec!["employee_code".into()] }),
        request_id: String::new(),
    };
    let set = admin.update_unit(code("rep-1", " E1024 ")).await.unwrap().into_inner();
    assert_eq!(set.employee_code, "E1024");
    assert_eq!(
        admin.get_unit(pb::GetUnitRequest { name: "units/rep-1".into() }).await.unwrap().into_inner().employee_code,
        "E1024"
    );
    let taken = admin.update_unit(code("rep-2", "E1024")).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert!(taken.message().contains("units/rep-1"), "{taken:?}");
    assert_status(admin.update_unit(code("team-a1", "T1")).await, Code::InvalidArgument, Some("unit.employee_code"));
    assert_status(admin.update_unit(code("rep-2", "E 2")).await, Code::InvalidArgument, Some("unit.employee_code"));
    assert_status(admin.update_unit(code("rep-2", "王芳")).await, Code::InvalidArgument, Some("unit.employee_code"));
    // A code given up is free again.
    admin.update_unit(code("rep-1", "")).await.unwrap();
    assert_eq!(admin.update_unit(code("rep-2", "E1024")).await.unwrap().into_inner().employee_code, "E1024");
    let mut new = unit("units/team-a1", Rep, "New Rep");
    new.employee_code = "E1024".into();
    let dup = admin.create_unit(pb::CreateUnitRequest { unit: Some(new), ..Default::default() }).await.unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
}

async fn request_ids_make_writes_idempotent(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let mut admin = app.admin();
    let req = |name: &str| pb::CreateUnitRequest {
        unit: Some(unit("units/region-a", Team, name)),
        unit_id: String::new(),
        request_id: "req-42".into(),
    };
    let first = admin.create_unit(req("Team A2")).await.unwrap().into_inner();
    let again = admin.create_unit(req("Team A2")).await.unwrap().into_inner();
    assert_eq!(first, again, "a retry returns the first result");
    let children = admin
        .list_units(pb::ListUnitsRequest { parent: "units/region-a".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(children.units.iter().filter(|u| u.display_name == "Team A2").count(), 1);
    assert_status(admin.create_unit(req("Team A3")).await, Code::AlreadyExists, None);
    assert!(
        admin
            .get_subtree(pb::GetSubtreeRequest { name: "units/region-a".into(), include_former: false })
            .await
            .unwrap()
            .into_inner()
            .units
            .iter()
            .all(|u| u.display_name != "Team A3")
    );
}

async fn tokens_are_checked(backend: Backend) {
    use base64::Engine;
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let get = pb::GetUnitRequest { name: "units/acme".into() };
    assert_status(app.org_with(None).get_unit(get.clone()).await, Code::Unauthenticated, None);
    assert_status(app.org_with(Some("not.a.token")).get_unit(get.clone()).await, Code::Unauthenticated, None);

    let defaults = attain_kit::configuration::AuthSettings::default();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = |exp: u64| attain_kit::auth::Claims {
        sub: "ops".into(),
        role: Role::Admin,
        unit: String::new(),
        iss: defaults.issuer.clone(),
        aud: defaults.audience.clone(),
        exp,
        iat: now,
        nbf: None,
    };
    let sign = |secret: &str, exp: u64| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims(exp),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let expired = sign(attain_kit::testing::TEST_SECRET, now - 3600);
    assert_status(app.org_with(Some(&expired)).get_unit(get.clone()).await, Code::Unauthenticated, None);
    let forged = sign("a-completely-different-secret", now + 600);
    assert_status(app.org_with(Some(&forged)).get_unit(get.clone()).await, Code::Unauthenticated, None);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(serde_json::to_vec(&claims(now + 600)).unwrap())
    );
    assert_status(app.org_with(Some(&none)).get_unit(get.clone()).await, Code::Unauthenticated, None);
    let valid = sign(attain_kit::testing::TEST_SECRET, now + 600);
    assert!(app.org_with(Some(&valid)).get_unit(get).await.is_ok());
}

async fn every_call_is_scoped(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_org(&app).await;
    let get = |id: &str| pb::GetUnitRequest { name: format!("units/{id}") };

    let mut manager = app.org("mgr-a", Role::Manager, "region-a");
    for id in ["region-a", "team-a1", "rep-1", "rep-3"] {
        assert!(manager.get_unit(get(id)).await.is_ok(), "manager of region A reads {id}");
    }
    for id in ["region-b", "rep-9", "acme"] {
        assert_status(manager.get_unit(get(id)).await, Code::PermissionDenied, None);
    }
    // Out of scope and missing look the same.
    let missing = assert_status(manager.get_unit(get("ghost")).await, Code::PermissionDenied, None);
    let foreign = assert_status(manager.get_unit(get("rep-9")).await, Code::PermissionDenied, None);
    assert_eq!(missing.message().replace("ghost", "X"), foreign.message().replace("rep-9", "X"));
    assert_status(
        manager.list_units(pb::ListUnitsRequest { parent: "units/region-b".into(), ..Default::default() }).await,
        Code::PermissionDenied,
        None,
    );
    assert_status(manager.list_units(pb::ListUnitsRequest::default()).await, Code::PermissionDenied, None);
    let subtree = manager.get_subtree(pb::GetSubtreeRequest { name: "units/acme".into(), include_former: false }).await;
    assert_status(subtree, Code::PermissionDenied, None);

    // A manager changes its subtree, not its own unit, and not elsewhere.
    let rename = |id: &str| pb::UpdateUnitRequest {
        unit: Some(pb::Unit {
            name: format!("units/{id}"),
            display_name: format!("{id} renamed"),
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: vec!["display_name".into()] }),
        request_id: String::new(),
    };
    assert!(manager.update_unit(rename("team-a1")).await.is_ok());
    assert_status(manager.update_unit(rename("region-a")).await, Code::PermissionDenied, None);
    assert_status(manager.update_unit(rename("rep-9")).await, Code::PermissionDenied, None);
    assert!(create(&mut manager, "team-a2", "units/region-a", Team, "Team A2").await.name == "units/team-a2");
    manager
        .move_unit(pb::MoveUnitRequest {
            name: "units/rep-3".into(),
            new_parent: "units/team-a2".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_status(
        manager
            .move_unit(pb::MoveUnitRequest {
                name: "units/rep-1".into(),
                new_parent: "units/region-b".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        None,
    );

    // A rep sees itself only, and writes nothing.
    let mut rep = app.org("rep-1", Role::Rep, "rep-1");
    assert!(rep.get_unit(get("rep-1")).await.is_ok());
    for id in ["rep-2", "team-a1", "region-a"] {
        assert_status(rep.get_unit(get(id)).await, Code::PermissionDenied, None);
    }
    assert_status(rep.update_unit(rename("rep-1")).await, Code::PermissionDenied, None);

    // A viewer reads its subtree and writes nothing.
    let mut viewer = app.org("ceo", Role::Viewer, "acme");
    assert!(viewer.get_unit(get("rep-9")).await.is_ok());
    assert_eq!(
        viewer
            .get_subtree(pb::GetSubtreeRequest { name: "units/acme".into(), include_former: false })
            .await
            .unwrap()
            .into_inner()
            .units
            .len(),
        9
    );
    let attempt = viewer
        .create_unit(pb::CreateUnitRequest { unit: Some(unit("units/region-a", Team, "V")), ..Default::default() })
        .await;
    assert_status(attempt, Code::PermissionDenied, None);
}

both_backends!(
    builds_and_reads_the_tree,
    generated_ids_and_attributes,
    bad_input_gets_clear_errors,
    moves_keep_the_tree_sound,
    updates_use_masks_and_etags,
    employee_codes_are_unique_to_reps,
    request_ids_make_writes_idempotent,
    tokens_are_checked,
    every_call_is_scoped,
);
