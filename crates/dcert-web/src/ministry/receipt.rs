//! `POST /receipt.pdf`: a verification receipt as a signed PDF page, in the visitor's language.
//!
//! The result page carries the signed JSON receipt in a form; the site checks that it signed it
//! (so the page can only ever show what the site found), words it, draws it on an A4 page with the
//! JSON attached, and signs the PDF with the status signer's key and certificate.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use dcert_core::receipt::{Receipt, ReceiptWords};
use serde::Deserialize;

use super::MinistryState;
use crate::auth;
use crate::http::{AppError, Chrome};
use crate::i18n::{Lang, Texts};

#[derive(Deserialize)]
pub(crate) struct ReceiptForm {
    csrf: String,
    receipt: String,
}

/// `POST /receipt.pdf`.
pub(crate) async fn receipt_pdf(
    c: Chrome,
    State(state): State<MinistryState>,
    Form(form): Form<ReceiptForm>,
) -> Result<Response, AppError> {
    if c.csrf.is_empty() || !auth::constant_time_eq(&c.csrf, &form.csrf) {
        return Err(AppError::Csrf);
    }
    let trust = state.trust();
    let (Some(signer), Some(fonts), Some(certificate)) =
        (state.status_signer.clone(), state.fonts.clone(), trust.list.content.status_signer_certificate.clone())
    else {
        return Err(AppError::unexpected("a receipt's PDF needs the status signer's key and the fonts"));
    };
    // Only a receipt this site signed is drawn: the page can show nothing it did not find.
    let receipt = dcert_core::receipt::verify(form.receipt.as_bytes(), &trust.list, None)
        .map_err(|_| AppError::BadRequest(c.t.s("moe.receipt.pdf.invalid").to_owned()))?;
    let words = words(c.t, &receipt, &trust.list, &signer.registry_url);
    let language = if c.t.lang == Lang::En { dcert_core::Language::En } else { dcert_core::Language::Zh };
    let pdf_signer = dcert_core::pdf::PdfSigner {
        key: signer.key.clone(),
        certificate: certificate.0,
        name: "Ministry of Education, Taiwan (教育部)".into(),
    };
    let json = form.receipt.into_bytes();
    let at = crate::http::now();
    let pdf = tokio::task::spawn_blocking(move || {
        dcert_core::receipt::to_pdf(&json, &words, language, &fonts, &pdf_signer, at)
    })
    .await
    .map_err(|e| AppError::internal("drawing a receipt", e))?
    .map_err(|e| AppError::internal("drawing a receipt", e))?;
    let name = format!("attachment; filename=\"dcert-receipt-{}.pdf\"", &receipt.file_sha256.to_string()[..8]);
    Ok((StatusCode::OK, [(CONTENT_TYPE, "application/pdf".to_owned()), (CONTENT_DISPOSITION, name)], pdf)
        .into_response())
}

#[derive(askama::Template)]
#[template(path = "ministry/receipt_check.html")]
struct ReceiptCheckPage {
    c: Chrome,
    outcome: &'static str,
    title: &'static str,
    lead: &'static str,
    reason: Option<String>,
    rows: Vec<(String, String)>,
}

/// The page of a receipt uploaded to the verification form: whether the Ministry signed it, and
/// what it says, in the visitor's language.
pub(crate) fn receipt_check(c: Chrome, state: &MinistryState, bytes: &[u8]) -> Response {
    let t = c.t;
    let trust = state.trust();
    let page = match dcert_core::receipt::verify_any(bytes, &trust.list, None) {
        Ok(receipt) => {
            let registry = trust.list.content.registry.clone();
            ReceiptCheckPage {
                c,
                outcome: "success",
                title: t.s("moe.receipt.check.valid"),
                lead: t.s("moe.receipt.check.valid.lead"),
                reason: None,
                rows: words(t, &receipt, &trust.list, &registry).rows,
            }
        }
        Err(e) => ReceiptCheckPage {
            c,
            outcome: "failure",
            title: t.s("moe.receipt.check.invalid"),
            lead: t.s("moe.receipt.check.invalid.lead"),
            reason: Some(t.s(receipt_error_key(&e)).to_owned()),
            rows: Vec::new(),
        },
    };
    match crate::http::page(page) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The catalogue key that words why a receipt was not believed.
fn receipt_error_key(e: &dcert_core::receipt::ReceiptError) -> &'static str {
    use dcert_core::receipt::ReceiptError as E;
    match e {
        E::Malformed(_) => "moe.receipt.error.malformed",
        E::NoSigner => "moe.receipt.error.no_signer",
        E::NotSigned | E::SignerNotValid => "moe.receipt.error.not_signed",
        E::OtherFile(_) => "moe.receipt.error.malformed",
    }
}

/// What the receipt's page says, in the language of `t`.
fn words(t: Texts, r: &Receipt, trust: &dcert_core::trust::TrustList, registry: &str) -> ReceiptWords {
    let worded =
        |key: String, fallback: &str| if Texts::has(&key) { t.s(&key).to_owned() } else { fallback.to_owned() };
    let mut rows =
        vec![(t.s("moe.receipt.pdf.outcome").to_owned(), worded(format!("moe.result.{}", r.outcome), &r.outcome))];
    if let Some(reason) = &r.reason {
        rows.push((t.s("moe.receipt.pdf.reason").to_owned(), worded(format!("moe.reason.{reason}"), reason)));
    }
    if let Some(id) = &r.issuer {
        let name = trust.issuer(id).map_or(id.as_str(), |i| {
            if t.lang == Lang::En { i.entry.name_en.as_str() } else { i.entry.name_zh.as_str() }
        });
        rows.push((t.s("moe.field.issuer").to_owned(), name.to_owned()));
    }
    rows.push((t.s("moe.receipt.pdf.sha256").to_owned(), r.file_sha256.to_string()));
    rows.push((t.s("moe.receipt.pdf.at").to_owned(), t.time(r.verified_at.unix())));
    for (name, result) in &r.checks {
        rows.push((worded(format!("moe.check.{name}"), name), worded(format!("moe.check.{result}"), result)));
    }
    if let Some(checkpoint) = &r.checkpoint {
        let mut lines = checkpoint.lines();
        let (origin, size) = (lines.next().unwrap_or_default(), lines.next().unwrap_or_default());
        rows.push((t.s("moe.receipt.pdf.log").to_owned(), t.f("moe.receipt.pdf.log.value", &[&origin, &size])));
    }
    let notes = vec![
        t.s("moe.receipt.pdf.signed").to_owned(),
        t.f1("moe.receipt.pdf.check", registry.trim_end_matches('/')),
        t.s("moe.receipt.pdf.then").to_owned(),
    ];
    ReceiptWords { title: t.s("moe.receipt.title").to_owned(), rows, notes }
}
