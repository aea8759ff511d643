//! A refused roster or calendar file, explained to the registrar in the page's language: which
//! row and column, what is wrong and how to put it right.

use axum::http::StatusCode;

use crate::support::{ROSTER, TestApp};

#[tokio::test]
async fn a_refused_roster_import_is_explained_in_chinese_or_in_english() {
    let app = TestApp::new().await;
    let bad = ROSTER.replace("2002-05-01", "2002-13-01").replace("C110152303,113-2,第一", "C110152303,113-2,火星");
    let mut registrar = app.staff("registrar").await;

    let r = registrar.upload("/console/import", bad.as_bytes()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text();
    for words in [
        "檔案中有 2 處錯誤，未匯入任何資料。請依下列說明逐一更正後，重新上傳整個檔案：",
        "第 3 列「birth_date」欄（出生日期）：「2002-13-01」不是正確的日期，請用西元年月日，寫成 YYYY-MM-DD",
        "第 4 列「campus」欄（校區）：「火星」不是本校的校區，請填寫下列其中之一：建工、第一。",
    ] {
        assert!(page.contains(words), "{words} missing: {page}");
    }
    assert!(!page.contains("is not") && !page.contains("line 3"), "no English on a Chinese page: {page}");

    registrar.lang = Some("en");
    let r = registrar.upload("/console/import", bad.as_bytes()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text();
    for words in [
        "The file has 2 problems; nothing was imported. Fix each one as described below and upload the whole file again:",
        "Row 3, column birth_date (date of birth): ",
        "2002-13-01",
        " is not a valid date; write it as YYYY-MM-DD, e.g. 2002-05-17.",
        "Row 4, column campus (campus): ",
        " is not one of our campuses; write one of: 建工, 第一.",
    ] {
        assert!(page.contains(words), "{words} missing: {page}");
    }
    assert!(!page.contains("不是本校的校區") && !page.contains("第 3 列"), "no Chinese problems on an English page");
    assert!(app.store.graduate_terms("C110152302").await.unwrap().len() == 1, "the graduates imported before stay");
}

#[tokio::test]
async fn a_refused_header_is_explained_without_a_row() {
    let app = TestApp::new().await;
    let registrar = app.staff("registrar").await;
    let no_campus = ROSTER.replacen("campus,", "", 1);
    let r = registrar.upload("/console/import", no_campus.as_bytes()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("檔案有誤，未匯入任何資料："), "{}", r.text());
    assert!(r.text().contains("標題列缺少必要欄位：campus。"), "{}", r.text());
}

#[tokio::test]
async fn a_refused_calendar_file_is_explained_in_chinese_or_in_english() {
    let app = TestApp::new().await;
    let mut registrar = app.staff("registrar").await;
    let bad = "date,kind,note\n2026-12-30,vacation,校慶\n2026-02-30,holiday,x\n";

    let r = registrar.upload("/console/calendar/import", bad.as_bytes()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text();
    for words in [
        "行事曆檔案有誤，未匯入任何日期：",
        "第 2 列的類別「vacation」無法判讀，請填「放假」、「補假」或「補班」",
        "第 3 列的日期「2026-02-30」不正確",
    ] {
        assert!(page.contains(words), "{words} missing: {page}");
    }
    assert!(!page.contains("unknown kind"), "no English on a Chinese page: {page}");

    registrar.lang = Some("en");
    let r = registrar.upload("/console/calendar/import", bad.as_bytes()).await;
    let page = r.text();
    for words in ["The calendar file has errors; no day was imported:", "Row 2: the kind ", "Row 3: "] {
        assert!(page.contains(words), "{words} missing: {page}");
    }
    assert!(!page.contains("無法判讀"), "no Chinese problems on an English page");
}
