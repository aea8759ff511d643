//! The working-day calendar: holidays and make-up days, one by one or from a CSV.

use super::*;

// ----- calendar -----

pub(super) struct DayRow {
    date: String,
    shown: String,
    weekday: &'static str,
    workday: bool,
    note: String,
}

#[derive(Template)]
#[template(path = "console/calendar.html")]
pub(super) struct CalendarPage {
    c: Chrome,
    days: Vec<DayRow>,
    can_edit: bool,
    example_from: String,
    example_due: String,
    errors: Vec<String>,
}

pub(super) fn weekday(t: Texts, d: Date) -> &'static str {
    const KEYS: [&str; 7] =
        ["weekday.mon", "weekday.tue", "weekday.wed", "weekday.thu", "weekday.fri", "weekday.sat", "weekday.sun"];
    t.s(KEYS[usize::from(d.weekday()) % 7])
}

pub(super) async fn calendar_view(state: &AppState, ctx: &Ctx, staff: &Staff, errors: Vec<String>) -> PageResult {
    let t = ctx.t;
    let cal = working_calendar(&state.store).await?;
    let from = today();
    let days = cal
        .overrides()
        .filter(|d| d.date >= from.add_days(-366))
        .map(|d| DayRow {
            date: d.date.to_string(),
            shown: t.short_date(&d.date),
            weekday: weekday(t, d.date),
            workday: d.workday,
            note: d.note.clone(),
        })
        .collect();
    let mut r = page(CalendarPage {
        c: chrome(ctx, state, staff),
        days,
        can_edit: permits(staff.role, Action::EditCalendar),
        example_from: t.date(&from),
        example_due: t.date(&cal.due_date(from)),
        errors: errors.clone(),
    })?;
    if !errors.is_empty() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub(super) async fn calendar_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::ViewCalendar).await?;
    calendar_view(&state, &ctx, &staff, Vec::new()).await
}

#[derive(Deserialize)]
pub(super) struct DayForm {
    date: String,
    kind: String,
    note: String,
}

pub(super) async fn calendar_add(State(state): State<AppState>, Posted(ctx, form): Posted<DayForm>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditCalendar).await?;
    let date: Date = form.date.trim().parse().map_err(|_| AppError::BadRequest(ctx.t.s("console.bad_date").into()))?;
    let day = DayOverride { date, workday: form.kind == "workday", note: form.note.trim().chars().take(100).collect() };
    let detail = format!("{} {} {}", day.date, day.kind(), day.note);
    let entry = audit_of(&ctx, &staff, "calendar_set", format!("day:{date}"), detail);
    state.store.upsert_calendar(std::slice::from_ref(&day), &entry).await?;
    Ok(redirect("/console/calendar"))
}

#[derive(Deserialize)]
pub(super) struct DateForm {
    date: String,
}

pub(super) async fn calendar_delete(State(state): State<AppState>, Posted(ctx, form): Posted<DateForm>) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditCalendar).await?;
    let date: Date = form.date.trim().parse().map_err(|_| AppError::BadRequest(ctx.t.s("console.bad_date").into()))?;
    let entry = audit_of(&ctx, &staff, "calendar_delete", format!("day:{date}"), String::new());
    state.store.delete_calendar_day(date, &entry).await?;
    Ok(redirect("/console/calendar"))
}

pub(super) async fn calendar_import(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let staff = require(&ctx, &state.store, Action::EditCalendar).await?;
    let bytes = upload(&ctx, multipart).await?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(_) => return calendar_view(&state, &ctx, &staff, vec![ctx.t.s("console.not_utf8").into()]).await,
    };
    match dcert_core::calendar::parse_calendar_csv(text) {
        Ok(days) => {
            let detail = format!("{} days", days.len());
            let entry = audit_of(&ctx, &staff, "calendar_import", "calendar".into(), detail);
            state.store.upsert_calendar(&days, &entry).await?;
            Ok(redirect("/console/calendar"))
        }
        Err(errors) => {
            let errors = errors.0.iter().map(|e| e.to_string()).collect();
            calendar_view(&state, &ctx, &staff, errors).await
        }
    }
}
