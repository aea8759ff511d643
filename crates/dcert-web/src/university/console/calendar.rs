//! The working-day calendar: holidays and make-up days, one by one or from a CSV.

use dcert_core::calendar::CalendarCsvError;

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
            let errors = errors.0.iter().map(|e| calendar_problem(ctx.t, e)).collect();
            calendar_view(&state, &ctx, &staff, errors).await
        }
    }
}

/// A bad line of a calendar file in the page's language (`console.calendar.problem.<code>`): the
/// row, what is wrong and how to put it right.
pub(super) fn calendar_problem(t: Texts, error: &CalendarCsvError) -> String {
    use CalendarCsvError as E;
    let key = format!("console.calendar.problem.{}", error.code());
    match error {
        E::NoHeader => t.s(&key).to_owned(),
        E::MissingHeaderColumn { line, column } | E::MissingColumn { line, column } => t.f(&key, &[line, column]),
        E::UnexpectedHeaderColumn { line, column } => t.f(&key, &[line, column]),
        E::ExtraFields { line, found, expected } => t.f(&key, &[line, found, expected]),
        E::BadDate { line, problem } => t.f(&key, &[line, &problem.found()]),
        E::UnknownKind { line, found } => t.f(&key, &[line, found]),
        E::DuplicateDate { line, date, first_line } => t.f(&key, &[line, date, first_line]),
        E::Syntax { line, .. } => t.f1(&key, line),
    }
}

#[cfg(test)]
mod tests {
    use dcert_core::calendar::{CalendarCsvError, parse_calendar_csv};

    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn every_calendar_code_is_worded_in_the_catalogue() {
        for code in CalendarCsvError::CODES {
            assert!(Texts::has(&format!("console.calendar.problem.{code}")), "console.calendar.problem.{code}");
        }
    }

    #[test]
    fn a_bad_calendar_line_is_worded_in_both_languages() {
        let errors = parse_calendar_csv("date,kind,note\n2025-01-01,vacation,x\n2025/01/02,holiday,y\n").unwrap_err();
        let zh: Vec<String> = errors.0.iter().map(|e| calendar_problem(Texts::new(Lang::Zh), e)).collect();
        assert_eq!(
            zh,
            [
                "第 2 列的類別「vacation」無法判讀，請填「放假」、「補假」或「補班」（也可用 holiday 或 workday）。",
                "第 3 列的日期「2025/01/02」不正確，請用西元年月日，寫成 YYYY-MM-DD，例如 2026-01-01。",
            ]
        );
        let en = calendar_problem(Texts::new(Lang::En), &errors.0[1]);
        assert_eq!(en, "Row 3: \"2025/01/02\" is not a valid date; write it as YYYY-MM-DD, e.g. 2026-01-01.");
    }
}
