//! 待签发: letters held for a reviewer's opinion and signature (`[letters] sign_off`). The list
//! shows the letters waiting (oldest first, with the days they wait) and those signed lately; a
//! letter's page shows it as it will go out, with the reviewer's words typed so far (预览), and
//! signs it (签发): `cycle::signoff` issues the number and queues the mail only then.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
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
use crate::web::page::{Id, WebError, download, render, see_other, v};

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
        .route(
            "/signoff/{id}/preview.docx",
            get(preview_docx_unsigned).post(preview_docx),
        )
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

/// The reviewer's words as typed (the posted form).
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
}

/// The letter page's query: what happened.
#[derive(Debug, Default, Deserialize)]
struct LetterQuery {
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
    Id(id): Id,
    Query(q): Query<LetterQuery>,
) -> Result<Html<String>, WebError> {
    let error = match q.error.as_deref() {
        Some("signed") => Some(Shown::AlreadySigned),
        _ => None,
    };
    show(
        &app,
        &who,
        id,
        Words::default(),
        q.done.as_deref() == Some("signed"),
        error,
    )
    .await
}

/// Why a letter was not signed, as its page says.
enum Shown {
    /// The reviewer's opinions were not all written.
    Missing,
    AlreadySigned,
}

/// A held letter's page, with the reviewer's words typed so far in its form and in the letter
/// shown. The words are posted, never put in an address: an opinion may be long, and is not
/// for the browser's history or a proxy's log.
async fn show(
    app: &Shared,
    who: &Who,
    id: i64,
    words: Words,
    done: bool,
    error: Option<Shown>,
) -> Result<Html<String>, WebError> {
    let opinions = words.opinions();
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
    let error = match error {
        Some(Shown::Missing) => kind
            .and_then(|k| words.opinions().missing(k))
            .map(str::to_string),
        Some(Shown::AlreadySigned) => Some("这封函件已由他人签发，未再次签发。".to_string()),
        None => None,
    };
    render(
        app,
        who,
        "signoff",
        "signoff_letter.html",
        context! {
            h => v(&row),
            text => v(&text),
            review => kind == Some(LetterKind::TargetReview),
            words => context! {
                relevance => words.relevance,
                feasibility => words.feasibility,
                opinion => words.opinion,
            },
            done,
            error,
            audit => v(&audit),
        },
    )
}

/// The letter as it would go out, as a .docx: with the words posted from its page (下载预览),
/// or with none.
async fn preview_docx(
    State(app): State<Shared>,
    Id(id): Id,
    posted: Posted<Words>,
) -> Result<Response, WebError> {
    docx_of(&app, id, posted.form).await
}

async fn preview_docx_unsigned(
    State(app): State<Shared>,
    _who: Who,
    Id(id): Id,
) -> Result<Response, WebError> {
    docx_of(&app, id, Words::default()).await
}

async fn docx_of(app: &Shared, id: i64, words: Words) -> Result<Response, WebError> {
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

/// 预览: the letter's page with the words typed (nothing is recorded).
async fn preview(
    State(app): State<Shared>,
    Id(id): Id,
    posted: Posted<Words>,
) -> Result<Html<String>, WebError> {
    posted.who.require(Role::Reviewer)?;
    let Posted { who, form } = posted;
    show(&app, &who, id, form, false, None).await
}

/// 签发: issues the number, writes the letter with the reviewer's words and queues its mail.
async fn sign(
    State(app): State<Shared>,
    Id(id): Id,
    posted: Posted<Words>,
) -> Result<Response, WebError> {
    posted.who.require(Role::Reviewer)?;
    let Posted { who, form } = posted;
    let opinions = form.opinions();
    let signer = who.name().to_string();
    let signed = app
        .db(move |app, conn| {
            let office = app.cfg.office(&app.letters, &app.defs);
            let now = app.clock.now();
            match signoff::sign(conn, &office, id, &opinions, &signer, now) {
                Ok(_) => Ok(Ok(())),
                Err(SignError::Missing(_)) => Ok(Err(Shown::Missing)),
                Err(SignError::AlreadySigned { .. }) => Ok(Err(Shown::AlreadySigned)),
                Err(e) => Err(sign_error(e)),
            }
        })
        .await?;
    match signed {
        Ok(()) => Ok(see_other(&format!("/signoff/{id}?done=signed"))),
        Err(Shown::AlreadySigned) => Ok(see_other(&format!("/signoff/{id}?error=signed"))),
        // Back to the page with the words typed, saying what is missing.
        Err(missing) => Ok(show(&app, &who, id, form, false, Some(missing))
            .await?
            .into_response()),
    }
}
