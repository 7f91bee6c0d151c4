//! The target service as its callers read it (`attain-target-client`),
//! with their kept answers: the same call by another caller is asked again
//! (the service's scope rules decide what each sees), and a write is in the
//! next request's read.

use attain_kit::{
    auth::Role,
    both_backends,
    seed::{PlanSpec, Seed, Split, Unit},
    testing::{Backend, token},
    upstream::Forwarded,
};
use attain_proto::attain::target::v1::UnitKind::*;
use attain_target_client::TargetClient;

use crate::helpers::spawn_app;

/// A caller's token, minted once: answers are kept per token, and one
/// minted a second later (another `iat`) is another caller's key.
fn bearer(person: &str, role: Role, unit: &str) -> String {
    format!("Bearer {}", token(person, role, unit))
}

/// A fresh request's context for a caller, as a service builds it for
/// each call.
fn as_(bearer: &str) -> Forwarded {
    let mut m = tonic::metadata::MetadataMap::new();
    m.insert("authorization", bearer.parse().unwrap());
    Forwarded::from_metadata(&m)
}

/// Renames a unit through the org service (a write to the target service).
async fn rename(app: &crate::helpers::TestApp, unit: &str, name: &str) {
    app.admin()
        .update_unit(attain_proto::attain::target::v1::UpdateUnitRequest {
            unit: Some(attain_proto::attain::target::v1::Unit {
                name: format!("units/{unit}"),
                display_name: name.into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn plan_names(client: &TargetClient, fwd: &Forwarded) -> Vec<String> {
    let mut names: Vec<String> = client.plans(fwd).await.unwrap().into_iter().map(|p| p.name).collect();
    names.sort();
    names
}

async fn kept_answers_follow_the_caller_and_the_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let seed = Seed::new(app.channel.clone(), token("ops", Role::Admin, ""));
    seed.units(&[
        Unit::new("acme", "", Company, "Acme"),
        Unit::new("region-a", "acme", Region, "Region A"),
        Unit::new("globex", "", Company, "Globex"),
    ])
    .await
    .unwrap();
    seed.plan(PlanSpec::new("acme-2024", "Acme 2024", "acme", 2024).base("1000.00")).await.unwrap();
    seed.plan(PlanSpec::new("globex-2024", "Globex 2024", "globex", 2024).base("1000.00")).await.unwrap();
    let client = TargetClient::new(app.channel.clone());

    let (admin, wang) = (bearer("ops", Role::Admin, ""), bearer("wang", Role::Manager, "region-a"));
    // The admin's answer, twice (the second kept), never the manager's.
    for _ in 0..2 {
        assert_eq!(plan_names(&client, &as_(&admin)).await, ["plans/acme-2024", "plans/globex-2024"]);
        assert_eq!(plan_names(&client, &as_(&wang)).await, ["plans/acme-2024"]);
    }
    let (hits, _) = client.cache_counts();
    assert!(hits >= 2, "the second round was answered from what the first kept: {hits} hits");

    // A plan created a moment ago is in the next request's read.
    seed.plan(PlanSpec::new("acme-2025", "Acme 2025", "acme", 2025).base("1000.00")).await.unwrap();
    assert_eq!(plan_names(&client, &as_(&wang)).await, ["plans/acme-2024", "plans/acme-2025"]);

    // A renamed unit too.
    let fwd = as_(&admin);
    assert_eq!(
        client.unit(&fwd, &attain_kit::id::Id::parse("unit", "region-a").unwrap()).await.unwrap().display_name,
        "Region A"
    );
    rename(&app, "region-a", "Region A North").await;
    let fwd = as_(&admin);
    assert_eq!(
        client.unit(&fwd, &attain_kit::id::Id::parse("unit", "region-a").unwrap()).await.unwrap().display_name,
        "Region A North"
    );
}

both_backends!(kept_answers_follow_the_caller_and_the_data);

/// `units` keeps each unit on its own: a later batch naming some of the
/// same units reads only the others, in the order asked; another caller's
/// batch is its own; a rename is in the next request's read.
async fn units_are_kept_one_by_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let seed = Seed::new(app.channel.clone(), token("ops", Role::Admin, ""));
    seed.units(&[
        Unit::new("acme", "", Company, "Acme"),
        Unit::new("region-a", "acme", Region, "Region A"),
        Unit::new("region-b", "acme", Region, "Region B"),
    ])
    .await
    .unwrap();
    let client = TargetClient::new(app.channel.clone());
    let id = |s: &str| attain_kit::id::Id::parse("unit", s).unwrap();
    let names = |units: Vec<attain_target_client::UnitInfo>| -> Vec<String> {
        units.into_iter().map(|u| format!("{}={}", u.id.as_str(), u.display_name)).collect()
    };
    let (admin, wang) = (bearer("ops", Role::Admin, ""), bearer("wang", Role::Manager, "region-a"));

    let first = client.units(&as_(&admin), &[id("region-a"), id("region-b")]).await.unwrap();
    assert_eq!(names(first), ["region-a=Region A", "region-b=Region B"]);
    let (hits, _) = client.cache_counts();
    let again = client.units(&as_(&admin), &[id("acme"), id("region-b"), id("region-b")]).await.unwrap();
    assert_eq!(names(again), ["acme=Acme", "region-b=Region B", "region-b=Region B"]);
    let (after, _) = client.cache_counts();
    assert!(after >= hits + 2, "region-b came from what the first batch kept: {hits} → {after} hits");

    // The admin's region B is not the manager's to read.
    assert!(client.units(&as_(&wang), &[id("region-a")]).await.is_ok());
    let refused = client.units(&as_(&wang), &[id("region-a"), id("region-b")]).await;
    assert!(refused.is_err(), "region B was served to region A's manager: {refused:?}");

    // Renamed: the next request reads the new name.
    rename(&app, "region-b", "Region B South").await;
    let renamed = client.units(&as_(&admin), &[id("region-a"), id("region-b")]).await.unwrap();
    assert_eq!(names(renamed), ["region-a=Region A", "region-b=Region B South"]);
}

both_backends!(units_are_kept_one_by_one);

/// `expected` keeps each unit's expectation on its own: a later batch
/// naming some of the same units asks only for the others, answers in the
/// order asked, keeps a unit without a target as having none; another
/// caller's batch is its own; an adjusted target is in the next request.
async fn expectations_are_kept_one_by_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let seed = Seed::new(app.channel.clone(), token("ops", Role::Admin, ""));
    seed.units(&[
        Unit::new("acme", "", Company, "Acme"),
        Unit::new("region-a", "acme", Region, "Region A"),
        Unit::new("region-b", "acme", Region, "Region B"),
        Unit::new("region-c", "acme", Region, "Region C"),
    ])
    .await
    .unwrap();
    seed.plan(PlanSpec::new("acme-2024", "Acme 2024", "acme", 2024).base("1200.00")).await.unwrap();
    // Regions A and B get targets; C none.
    seed.split("acme-2024", "acme", Split::manual(&[("region-a", "800.00"), ("region-b", "400.00")])).await.unwrap();
    let client = TargetClient::new(app.channel.clone());
    let id = |s: &str| attain_kit::id::Id::parse("unit", s).unwrap();
    let (admin, wang) = (bearer("ops", Role::Admin, ""), bearer("wang", Role::Manager, "region-a"));
    let plan = client.plans(&as_(&admin)).await.unwrap().into_iter().find(|p| p.name == "plans/acme-2024").unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
    let expected = |who: &str, units: &[&str]| {
        let (client, plan, who) = (client.clone(), plan.clone(), who.to_owned());
        let units: Vec<_> = units.iter().map(|u| id(u)).collect();
        async move {
            let (e, _, progress) = client.expected(&as_(&who), &plan, &units, "2024", day, Default::default()).await?;
            let mut targets: Vec<String> =
                e.into_iter().map(|(u, x)| format!("{}={}", u.as_str(), x.period_target)).collect();
            targets.sort();
            Ok::<_, attain_kit::ServiceError>((targets, progress))
        }
    };
    let (first, progress) = expected(&admin, &["region-a", "region-c"]).await.unwrap();
    assert_eq!(first, ["region-a=800.00"]);
    assert!(progress > rust_decimal::Decimal::ZERO);
    let (hits, _) = client.cache_counts();
    let (again, progress_again) = expected(&admin, &["region-c", "region-a", "region-a"]).await.unwrap();
    assert_eq!(again, ["region-a=800.00"]);
    assert_eq!(progress_again, progress, "the period's part is kept beside the units");
    let (after, _) = client.cache_counts();
    assert!(after >= hits + 3, "both units and the period came from what the first batch kept: {hits} → {after}");
    let (with_b, _) = expected(&admin, &["region-b", "region-a"]).await.unwrap();
    assert_eq!(with_b, ["region-a=800.00", "region-b=400.00"]);

    // The admin's region B is not the manager's to read.
    assert_eq!(expected(&wang, &["region-a"]).await.unwrap().0, ["region-a=800.00"]);
    assert!(expected(&wang, &["region-a", "region-b"]).await.is_err(), "region B served to region A's manager");

    // Re-split: the next request reads the new targets.
    seed.split("acme-2024", "acme", Split::manual(&[("region-a", "700.00"), ("region-b", "500.00")])).await.unwrap();
    let (resplit, _) = expected(&admin, &["region-a", "region-b"]).await.unwrap();
    assert_eq!(resplit, ["region-a=700.00", "region-b=500.00"]);
}

both_backends!(expectations_are_kept_one_by_one);
