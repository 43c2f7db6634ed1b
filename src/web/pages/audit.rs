//! 操作记录: the audit log — every login, approval, revocation, sign-off, retry and upload made
//! through the console, newest first.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use minijinja::context;
use serde::Deserialize;

use crate::store::audit;
use crate::web::Shared;
use crate::web::auth::Who;
use crate::web::page::{WebError, render, v};

pub(super) const TEMPLATES: &[(&str, &str)] =
    &[("audit.html", include_str!("../templates/audit.html"))];

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/audit", get(page))
}

#[derive(Deserialize)]
struct Filter {
    #[serde(default)]
    limit: String,
}

/// How many entries the page lists unless told otherwise.
const DEFAULT_LIMIT: usize = 200;

async fn page(
    State(app): State<Shared>,
    who: Who,
    Query(f): Query<Filter>,
) -> Result<Html<String>, WebError> {
    let limit = f
        .limit
        .trim()
        .parse::<usize>()
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, 5000);
    let entries = app
        .db(move |_, conn| Ok(audit::recent(conn, limit)?))
        .await?;
    render(
        &app,
        &who,
        "audit",
        "audit.html",
        context! { entries => v(&entries), limit },
    )
}
