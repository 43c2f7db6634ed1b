//! 待签发: letters held for a reviewer's opinion and signature (`[letters] sign_off`). The list
//! shows the letters waiting (oldest first, with the days they wait) and those signed lately; a
//! letter's page shows it as it will go out, with the reviewer's words typed so far (预览), and
//! signs it (签发): `cycle::signoff` issues the number and queues the mail only then.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use chrono::DateTime;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::cycle::signoff::{self, SignError};
use crate::letters::{LetterKind, ReviewerOpinions};
use crate::store::accounts::Role;
use crate::store::held::{self, Held, HeldStatus};
use crate::web::Shared;
use crate::web::auth::{Posted, Who};
use crate::web::page::{WebError, download, form_urlencoded_component, render, see_other, v};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("signoff.html", include_str!("../templates/signoff.html")),
    (
        "signoff_letter.html",
        include_str!("../templates/signoff_letter.html"),
    ),
];

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/signoff", get(list))
        .route("/signoff/{id}", get(letter))
        .route("/signoff/{id}/preview.docx", get(preview_docx))
        .route("/signoff/{id}/preview", post(preview))
        .route("/signoff/{id}/sign", post(sign))
}

/// How many signed letters the list shows.
const SIGNED_SHOWN: usize = 30;

/// A held letter as a row of the list.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    held: Held,
    department_name: String,
    form_name: &'static str,
    /// Whole days since it was held.
    waiting_days: i64,
}

fn row(app: &crate::web::App, held: Held) -> Row {
    let now = app.clock.now();
    let waiting_days = DateTime::parse_from_rfc3339(&held.held_at)
        .map(|t| (now.fixed_offset() - t).num_days().max(0))
        .unwrap_or(0);
    Row {
        department_name: crate::departments::name_of(&app.cfg.departments, &held.department)
            .to_string(),
        form_name: held
            .form
            .as_deref()
            .and_then(crate::forms::FormKind::from_id)
            .map_or("", |k| k.name()),
        waiting_days,
        held,
    }
}

async fn list(State(app): State<Shared>, who: Who) -> Result<Html<String>, WebError> {
    let (waiting, signed, holds) = app
        .db(|app, conn| {
            let waiting: Vec<Row> = held::waiting(conn)?
                .into_iter()
                .map(|h| row(app, h))
                .collect();
            let signed: Vec<Row> = held::signed_recently(conn, SIGNED_SHOWN)?
                .into_iter()
                .map(|h| row(app, h))
                .collect();
            let holds: Vec<&'static str> = LetterKind::ALL
                .into_iter()
                .filter(|k| app.cfg.letters.holds(*k))
                .map(LetterKind::name)
                .collect();
            Ok((waiting, signed, holds))
        })
        .await?;
    render(
        &app,
        &who,
        "signoff",
        "signoff.html",
        context! { waiting => v(&waiting), signed => v(&signed), holds => v(&holds) },
    )
}

/// The reviewer's words as typed (query of a preview, or the posted form).
#[derive(Debug, Default, Deserialize)]
struct Words {
    #[serde(default)]
    relevance: String,
    #[serde(default)]
    feasibility: String,
    #[serde(default)]
    opinion: String,
}

impl Words {
    fn opinions(&self) -> ReviewerOpinions {
        ReviewerOpinions {
            relevance: self.relevance.clone(),
            feasibility: self.feasibility.clone(),
            opinion: self.opinion.clone(),
        }
    }

    /// The words as a query string, to come back to the page with them.
    fn query(&self) -> String {
        [
            ("relevance", &self.relevance),
            ("feasibility", &self.feasibility),
            ("opinion", &self.opinion),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", form_urlencoded_component(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// The letter page's query: the words typed so far and what happened.
#[derive(Debug, Default, Deserialize)]
struct LetterQuery {
    #[serde(flatten)]
    words: Words,
    /// `signed` after signing.
    #[serde(default)]
    done: Option<String>,
    /// `missing` (words not written) or `signed` (signed meanwhile by someone else).
    #[serde(default)]
    error: Option<String>,
}

fn sign_error(e: SignError) -> WebError {
    match e {
        SignError::NotHeld(_) => WebError::NotFound,
        SignError::Missing(m) => WebError::BadRequest(m.to_string()),
        SignError::UnknownDepartment(code) => WebError::BadRequest(format!(
            "这封函件的部门（{code}）已不在 jixiao.toml 的部门列表中，无法生成或签发。"
        )),
        other => WebError::Internal(anyhow::Error::from(other)),
    }
}

async fn letter(
    State(app): State<Shared>,
    who: Who,
    Path(id): Path<i64>,
    Query(q): Query<LetterQuery>,
) -> Result<Html<String>, WebError> {
    let opinions = q.words.opinions();
    let (row, text, audit) = app
        .db(move |app, conn| {
            let Some(h) = held::of_submission(conn, id)? else {
                return Err(WebError::NotFound);
            };
            let text = if h.status == HeldStatus::Held {
                let office = app.cfg.office(&app.letters, &app.defs);
                let (_, text, _) =
                    signoff::preview(conn, &office, id, &opinions, app.clock.today())
                        .map_err(sign_error)?;
                Some(text)
            } else {
                None
            };
            let audit = crate::store::audit::about(conn, &[format!("submission:{id}")])?;
            Ok((row(app, h), text, audit))
        })
        .await?;
    let kind = LetterKind::from_id(&row.held.kind);
    let error = match q.error.as_deref() {
        Some("missing") => kind
            .and_then(|k| q.words.opinions().missing(k))
            .map(str::to_string),
        Some("signed") => Some("这封函件已由他人签发，未再次签发。".to_string()),
        _ => None,
    };
    let words_query = q.words.query();
    render(
        &app,
        &who,
        "signoff",
        "signoff_letter.html",
        context! {
            h => v(&row),
            text => v(&text),
            review => kind == Some(LetterKind::TargetReview),
            words => context! {
                relevance => q.words.relevance,
                feasibility => q.words.feasibility,
                opinion => q.words.opinion,
            },
            words_query,
            done => q.done.as_deref() == Some("signed"),
            error,
            audit => v(&audit),
        },
    )
}

async fn preview_docx(
    State(app): State<Shared>,
    _who: Who,
    Path(id): Path<i64>,
    Query(words): Query<Words>,
) -> Result<Response, WebError> {
    let opinions = words.opinions();
    let letter = app
        .db(move |app, conn| {
            let office = app.cfg.office(&app.letters, &app.defs);
            let (_, _, letter) = signoff::preview(conn, &office, id, &opinions, app.clock.today())
                .map_err(sign_error)?;
            Ok(letter)
        })
        .await?;
    Ok(download(
        &letter.docx_file_name,
        crate::mail::DOCX,
        letter.docx,
    ))
}

/// 预览: back to the letter's page with the words typed (nothing is recorded).
async fn preview(Path(id): Path<i64>, posted: Posted<Words>) -> Result<Response, WebError> {
    posted.who.require(Role::Reviewer)?;
    let q = posted.form.query();
    Ok(see_other(&if q.is_empty() {
        format!("/signoff/{id}")
    } else {
        format!("/signoff/{id}?{q}")
    }))
}

/// 签发: issues the number, writes the letter with the reviewer's words and queues its mail.
async fn sign(
    State(app): State<Shared>,
    Path(id): Path<i64>,
    posted: Posted<Words>,
) -> Result<Response, WebError> {
    posted.who.require(Role::Reviewer)?;
    let Posted { who, form } = posted;
    app.db(move |app, conn| {
        let office = app.cfg.office(&app.letters, &app.defs);
        let now = app.clock.now();
        match signoff::sign(conn, &office, id, &form.opinions(), who.name(), now) {
            Ok(_) => Ok(see_other(&format!("/signoff/{id}?done=signed"))),
            Err(SignError::Missing(_)) => {
                let q = form.query();
                Ok(see_other(&format!(
                    "/signoff/{id}?error=missing{}{q}",
                    if q.is_empty() { "" } else { "&" }
                )))
            }
            Err(SignError::AlreadySigned { .. }) => {
                Ok(see_other(&format!("/signoff/{id}?error=signed")))
            }
            Err(e) => Err(sign_error(e)),
        }
    })
    .await
}
