//! 总览: for a year: every department × the three forms, the summary's counts, charts.

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use minijinja::context;

use crate::web::Shared;
use crate::web::auth::Who;
use crate::web::page::{WebError, render};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] = &[];

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/", get(page))
}

async fn page(State(app): State<Shared>, who: Who) -> Result<Html<String>, WebError> {
    render(
        &app,
        &who,
        "overview",
        "placeholder.html",
        context! { title => "总览" },
    )
}
