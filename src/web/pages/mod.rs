//! The console's pages, one module each; each has its routes and its templates.

mod approvals;
mod audit;
mod mail;
mod overview;
mod reminders;
mod signoff;
mod submissions;
mod summary;
mod trial;

use axum::Router;

use super::Shared;

/// Every page's templates.
pub(super) fn templates() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    [
        approvals::TEMPLATES,
        audit::TEMPLATES,
        mail::TEMPLATES,
        overview::TEMPLATES,
        reminders::TEMPLATES,
        signoff::TEMPLATES,
        submissions::TEMPLATES,
        summary::TEMPLATES,
        trial::TEMPLATES,
    ]
    .into_iter()
    .flatten()
}

/// Prepares what the pages keep (this year's figures) on a thread of its own.
pub(super) fn warm(app: Shared) {
    let _ = std::thread::Builder::new()
        .name("console-warm".into())
        .spawn(move || overview::warm(&app));
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .merge(approvals::routes())
        .merge(audit::routes())
        .merge(mail::routes())
        .merge(overview::routes())
        .merge(reminders::routes())
        .merge(signoff::routes())
        .merge(submissions::routes())
        .merge(summary::routes())
        .merge(trial::routes())
}
