//! Importing graduates from the student information system's CSV, all or nothing.

use super::*;

// ----- import -----

#[derive(Template)]
#[template(path = "console/import.html")]
pub(super) struct ImportPage {
    c: Chrome,
    errors: Vec<String>,
    summary: Option<String>,
    columns: String,
    optional: String,
    campuses: String,
}

pub(super) async fn import_view(
    state: &AppState,
    ctx: &Ctx,
    staff: &Staff,
    errors: Vec<String>,
    summary: Option<String>,
) -> PageResult {
    let campuses =
        state.store.campuses().await?.into_iter().map(|c| format!("{} ({})", c.code, c.name_zh)).collect::<Vec<_>>();
    let mut r = page(ImportPage {
        c: chrome(ctx, state, staff),
        columns: roster::COLUMNS.join(", "),
        optional: roster::OPTIONAL_COLUMNS.join(", "),
        campuses: campuses.join(", "),
        summary,
        errors: errors.clone(),
    })?;
    if !errors.is_empty() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub(super) async fn import_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Import).await?;
    import_view(&state, &ctx, &staff, Vec::new(), None).await
}

/// Reads a multipart form: the CSRF field and one file.
pub(super) async fn upload(ctx: &Ctx, mut multipart: Multipart) -> Result<Vec<u8>, AppError> {
    let mut csrf = None;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| AppError::BadRequest(e.body_text()))? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(|e| AppError::BadRequest(e.body_text()))?),
            Some("file") => file = Some(field.bytes().await.map_err(|e| AppError::BadRequest(e.body_text()))?.to_vec()),
            _ => {}
        }
    }
    ctx.check_csrf(csrf.as_deref().unwrap_or(""))?;
    file.filter(|f| !f.is_empty()).ok_or_else(|| AppError::BadRequest(ctx.t.s("console.upload.missing").into()))
}

pub(super) async fn import(State(state): State<AppState>, ctx: Ctx, multipart: Multipart) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Import).await?;
    let bytes = upload(&ctx, multipart).await?;
    let campuses = state.store.campuses().await?;
    let codes: Vec<&str> = campuses.iter().map(|c| c.code.as_str()).collect();
    let rows = match roster::parse_roster(&bytes, &state.site.school_names(), &codes, &roster::Limits::default()) {
        Ok(rows) => rows,
        Err(e) => return import_view(&state, &ctx, &staff, e.problems(), None).await,
    };
    let audit = |s: &ImportSummary| audit_of(&ctx, &staff, "import_graduates", "graduates".into(), s.to_string());
    let s = state.store.import_graduates(&rows, now().unix(), audit).await?;
    let summary = ctx.t.f("console.import.done", &[&s.inserted, &s.updated, &s.unchanged]);
    import_view(&state, &ctx, &staff, Vec::new(), Some(summary)).await
}
