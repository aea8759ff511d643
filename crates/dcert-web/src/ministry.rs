//! The Ministry's side as far as the university needs it today: the signed trust list at a
//! stable address, the issuance registry's record counts, and `/healthz`. The public
//! verification site and the signed issuance-records API are built on this.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use dcert_store::Store;

/// What the Ministry's site serves.
#[derive(Clone)]
pub struct MinistryState {
    /// The Ministry's registry database.
    pub store: Store,
    /// The signed trust list, as published.
    pub trust_list: Arc<Vec<u8>>,
}

/// The Ministry's site.
pub fn ministry_router(state: MinistryState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/trust.json", get(trust_list))
        .with_state(state)
}

async fn healthz(State(state): State<MinistryState>) -> Response {
    match state.store.registry_records("healthz").await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: the registry database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

async fn trust_list(State(state): State<MinistryState>) -> Response {
    ([(CONTENT_TYPE, "application/json"), (CACHE_CONTROL, "max-age=300")], state.trust_list.as_ref().clone())
        .into_response()
}

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"zh-Hant-TW\"><head><meta charset=\"utf-8\">\
         <title>教育部電子證書驗證系統</title></head>\
         <body><main><h1>教育部電子證書驗證系統</h1><p lang=\"en\">Ministry of Education certificate registry</p>\
         <ul><li><a href=\"/trust.json\">發證單位信任清單 Trust list (signed JSON)</a></li></ul>\
         <p>離線驗證 Offline verification: <code>dcert verify --trust trust.json FILE.pdf</code></p>\
         </main></body></html>",
    )
}
