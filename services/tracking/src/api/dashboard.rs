//! The dashboard's tracking sections in one call; the use case is
//! `app::dashboard`.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, paging::PageRequest};
use attain_proto::attain::tracking::v1 as pb;

use super::{TrackingApi, alerts::list_alerts_query, convert, gap::gap_attribution, unit_id};
use crate::app::{
    dashboard::{OPEN_ALERTS, Sections},
    measure::{Ask, Reading},
};

/// The sections named on the wire; none means all.
fn sections(names: &[String]) -> ServiceResult<Sections> {
    if names.is_empty() {
        return Ok(Sections::ALL);
    }
    let mut s = Sections {
        attainment: false,
        burn_up: false,
        gap_attribution: false,
        open_alerts: false,
        alert_summary: false,
        loss_reasons: false,
        compliance: false,
    };
    for (i, name) in names.iter().enumerate() {
        let on = match name.as_str() {
            "attainment" => &mut s.attainment,
            "burn_up" => &mut s.burn_up,
            "gap_attribution" => &mut s.gap_attribution,
            "open_alerts" => &mut s.open_alerts,
            "alert_summary" => &mut s.alert_summary,
            "loss_reasons" => &mut s.loss_reasons,
            "compliance" => &mut s.compliance,
            other => {
                return Err(ServiceError::invalid(
                    format!("sections[{i}]"),
                    format!(
                        "{other:?} is not a section (attainment, burn_up, gap_attribution, open_alerts, \
                         alert_summary, loss_reasons, compliance)"
                    ),
                ));
            }
        };
        *on = true;
    }
    Ok(s)
}

/// A plan's resource name, checked for shape ("plans/{plan_id}").
fn plan_name(field: &str, name: &str) -> ServiceResult<String> {
    match name.strip_prefix("plans/") {
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => {
            Ok(name.to_owned())
        }
        _ => Err(ServiceError::invalid(field, format!("{name:?} is not a plan name (plans/{{plan_id}})"))),
    }
}

impl TrackingApi {
    pub(crate) async fn get_dashboard_figures(
        &self,
        ctx: Ctx,
        r: pb::GetDashboardFiguresRequest,
    ) -> ServiceResult<pb::DashboardFigures> {
        let Ctx { who, fwd } = ctx;
        let want = sections(&r.sections)?;
        let ask = Ask {
            metric: attain_kit::wire::parse_metric("metric", r.metric)?,
            unit: unit_id("unit", &r.unit)?,
            period: r.period,
            as_of: (!r.as_of_date.is_empty()).then(|| convert::date("as_of_date", &r.as_of_date)).transpose()?,
            dims: Default::default(),
        };
        // The open alerts are ListAlerts' first page: its token goes on.
        let query = list_alerts_query(&r.unit, pb::AlertState::Open as i32, "");
        let page = PageRequest::parse(i32::try_from(OPEN_ALERTS).unwrap_or(100), "", &query, &who)?;
        let plan = (!r.plan.is_empty()).then(|| plan_name("plan", &r.plan)).transpose()?;
        let f = self.app.dashboard((&who, &fwd), ask, plan.as_deref(), want).await?;
        let Reading { plan, period, .. } = &f.reading;
        Ok(pb::DashboardFigures {
            attainment: f.drill_down.map(|(parent, rows)| pb::ListChildAttainmentsResponse {
                parent: Some(convert::attainment(&parent, plan, period)),
                children: rows.iter().map(|(days, m)| convert::attainment(m, plan, days)).collect(),
            }),
            burn_up: f.burn_up.as_ref().map(convert::burn_up),
            gap_attribution: f.gap.as_ref().map(gap_attribution).transpose()?,
            open_alerts: f.open_alerts.map(|mut alerts| {
                let next_page_token = page.finish(&mut alerts, |a| a.id.as_str().to_owned());
                pb::ListAlertsResponse {
                    alerts: alerts.iter().map(|a| convert::alert(a, f.currencies.of(a))).collect(),
                    next_page_token,
                }
            }),
            alert_summary: f.alert_summary.as_ref().map(|s| convert::alert_summary(s, &f.currencies)),
            loss_reasons: f
                .loss_reasons
                .as_deref()
                .map(|r| convert::loss_reasons(r, f.currencies.of_amounts(&f.reading.unit.path, &period.expression))),
            compliance: f.compliance.as_ref().map(attain_kit::wire::compliance),
        })
    }
}
