//! Importing graduates from the student information system's CSV, all or nothing.

use super::*;
use crate::i18n::Lang;

// ----- import -----

#[derive(Template)]
#[template(path = "console/import.html")]
pub(super) struct ImportPage {
    c: Chrome,
    /// Why the file was refused, if it was: a sentence to head the problems.
    failed: String,
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
    refused: Option<&roster::RosterError>,
    summary: Option<String>,
) -> PageResult {
    let campuses =
        state.store.campuses().await?.into_iter().map(|c| format!("{} ({})", c.code, c.name_zh)).collect::<Vec<_>>();
    let (failed, errors) = match refused {
        Some(e) => (refused_heading(ctx.t, e), roster_problems(ctx.t, e)),
        None => (String::new(), Vec::new()),
    };
    let refused = !errors.is_empty();
    let mut r = page(ImportPage {
        c: chrome(ctx, state, staff),
        columns: roster::COLUMNS.join(", "),
        optional: roster::OPTIONAL_COLUMNS.join(", "),
        campuses: campuses.join(", "),
        summary,
        failed,
        errors,
    })?;
    if refused {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub(super) async fn import_page(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let staff = require(&ctx, &state.store, Action::Import).await?;
    import_view(&state, &ctx, &staff, None, None).await
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
        Err(e) => return import_view(&state, &ctx, &staff, Some(&e), None).await,
    };
    let audit = |s: &ImportSummary| audit_of(&ctx, &staff, "import_graduates", "graduates".into(), s.to_string());
    let s = state.store.import_graduates(&rows, now().unix(), audit).await?;
    let summary = ctx.t.f("console.import.done", &[&s.inserted, &s.updated, &s.unchanged]);
    import_view(&state, &ctx, &staff, None, Some(summary)).await
}

// ----- the problems of a refused roster, in the page's language -----

/// The sentence above the problems: how many rows are wrong, or that the file is.
fn refused_heading(t: Texts, error: &roster::RosterError) -> String {
    match error {
        roster::RosterError::Rows(rows) => {
            let counted = rows.iter().filter(|r| !matches!(r.problem, roster::RowProblem::TooManyProblems { .. }));
            t.f1("console.import.problem.rows", counted.count())
        }
        _ => t.s("console.import.failed").to_owned(),
    }
}

/// Every problem of a refused roster, worded from the catalogue (`console.import.problem.<code>`
/// for the file, `console.import.row.<code>` for a row, with the row and the column).
pub(super) fn roster_problems(t: Texts, error: &roster::RosterError) -> Vec<String> {
    use roster::RosterError as E;
    let key = format!("console.import.problem.{}", error.code());
    let megabytes = |bytes: usize| {
        let text = format!("{:.1}", bytes as f64 / (1024.0 * 1024.0));
        text.strip_suffix(".0").map_or_else(|| text.clone(), str::to_owned)
    };
    let sentence = match error {
        E::Rows(rows) => return rows.iter().map(|r| row_problem(t, r)).collect(),
        E::TooLarge { size, max } => t.f(&key, &[&megabytes(*size), &megabytes(*max)]),
        E::NotUtf8 { line } => t.f1(&key, line),
        E::MissingColumns(columns) | E::DuplicateColumns(columns) => t.f1(&key, list(t, columns)),
        E::TooManyRows { max } => t.f1(&key, max),
        E::Empty => t.s(&key).to_owned(),
    };
    vec![sentence]
}

/// One row's problem: where it is (the row, the column by its header name and what it holds) and
/// what is wrong, with how to put it right.
fn row_problem(t: Texts, error: &roster::RowError) -> String {
    use roster::RowProblem as P;
    let key = format!("console.import.row.{}", error.problem.code());
    let what = match &error.problem {
        P::Empty | P::ControlCharacter | P::Syntax { .. } => t.s(&key).to_owned(),
        P::TooLong { max } | P::TooManyProblems { max } => t.f1(&key, max),
        P::BadStudentNumber { found, max } => t.f(&key, &[found, max]),
        P::BadTerm { found } | P::BadDegreeLevel { found } | P::BadEmail { found } | P::BadMidTerm { found } => {
            t.f1(&key, found)
        }
        P::UnknownCampus { found, expected } => t.f(&key, &[found, &list(t, expected)]),
        P::BadDate { problem } => t.f1(&key, problem.found()),
        P::BirthNotBeforeGraduation { birth, graduation } => t.f(&key, &[birth, graduation]),
        P::MissingPair { given } => t.f1(&key, given),
        P::DuplicateStudent { student_number, term, first_line } => t.f(&key, &[student_number, term, first_line]),
        P::DuplicateDiploma { diploma_number, first_line } => t.f(&key, &[diploma_number, first_line]),
        P::TooManyFields { found, expected } => t.f(&key, &[found, expected]),
        P::Invalid { problem } => t.f1(&key, problem),
    };
    match error.column {
        Some(column) => {
            let label = t.s(&format!("console.import.column.{column}"));
            t.f("console.import.at_cell", &[&error.line, &column, &label, &what])
        }
        None => t.f("console.import.at_row", &[&error.line, &what]),
    }
}

/// Names in a sentence: 建工、燕巢 in Chinese, 建工, 燕巢 in English.
fn list(t: Texts, items: &[String]) -> String {
    items.join(match t.lang {
        Lang::Zh => "、",
        Lang::En => ", ",
    })
}

#[cfg(test)]
mod tests {
    use dcert_core::roster::{self, RosterError, RowError, RowProblem};

    use super::*;

    #[test]
    fn every_roster_code_and_column_is_worded_in_the_catalogue() {
        for code in RosterError::CODES {
            assert!(Texts::has(&format!("console.import.problem.{code}")), "console.import.problem.{code}");
        }
        for code in RowProblem::CODES {
            assert!(Texts::has(&format!("console.import.row.{code}")), "console.import.row.{code}");
        }
        for column in roster::COLUMNS.iter().chain(roster::OPTIONAL_COLUMNS) {
            assert!(Texts::has(&format!("console.import.column.{column}")), "console.import.column.{column}");
        }
    }

    #[test]
    fn a_row_problem_says_where_it_is_and_how_to_fix_it_in_both_languages() {
        let error = RowError {
            line: 3,
            column: Some("campus"),
            problem: RowProblem::UnknownCampus {
                found: "台北".into(), expected: vec!["建工".into(), "燕巢".into()]
            },
        };
        let refused = RosterError::Rows(vec![error]);
        let zh = roster_problems(Texts::new(Lang::Zh), &refused);
        assert_eq!(zh, ["第 3 列「campus」欄（校區）：「台北」不是本校的校區，請填寫下列其中之一：建工、燕巢。"]);
        let en = roster_problems(Texts::new(Lang::En), &refused);
        assert_eq!(
            en,
            ["Row 3, column campus (campus): \"台北\" is not one of our campuses; write one of: 建工, 燕巢."]
        );
        assert_eq!(
            refused_heading(Texts::new(Lang::Zh), &refused),
            "檔案中有 1 處錯誤，未匯入任何資料。請依下列說明逐一更正後，重新上傳整個檔案："
        );
    }

    #[test]
    fn a_file_problem_is_worded_without_a_row() {
        let missing = RosterError::MissingColumns(vec!["campus".into(), "diploma_number".into()]);
        let zh = roster_problems(Texts::new(Lang::Zh), &missing);
        assert!(zh[0].starts_with("標題列缺少必要欄位：campus、diploma_number。"), "{zh:?}");
        assert_eq!(refused_heading(Texts::new(Lang::En), &missing), "The file has errors; nothing was imported:");
        let big5 = roster_problems(Texts::new(Lang::Zh), &RosterError::NotUtf8 { line: 2 });
        assert!(big5[0].contains("CSV UTF-8"), "{big5:?}");
    }
}
