//! 试一试 (administrators): upload a form to see its check result and the letter it would get,
//! with the definitions and templates the service loaded — the way to try an edited form
//! definition or letter template. The upload is judged like any file the daemon takes: in a
//! worker process, within the configured limits, against the chosen department (or any
//! configured one) and the project's approved declaration. Nothing is recorded (no submission,
//! letter, number or mail); only the upload itself goes into the audit log. The letter preview
//! and the annotated workbook are kept in memory for the session that made them, to download.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{Html, Response};
use axum::routing::get;
use minijinja::context;
use serde::Serialize;

use crate::check::CheckResult;
use crate::forms::FormKind;
use crate::letters::{LetterInput, LetterKind, Original};
use crate::rules::identity::Sender;
use crate::store::accounts::Role;
use crate::web::auth::Who;
use crate::web::page::{WebError, download, render, see_other, v};
use crate::web::{App, Shared};
use crate::workbook::{Limits, OpenError};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] =
    &[("trial.html", include_str!("../templates/trial.html"))];

/// The largest file judged: the daemon's limit.
fn max_file_bytes() -> u64 {
    Limits::default().max_file_bytes
}

/// The largest request read: a file somewhat over the limit is read to its end (and discarded)
/// so that its sender gets the page saying it is too large, not a connection reset.
fn body_limit() -> usize {
    (max_file_bytes() * 4) as usize
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/trial",
            get(page)
                .post(upload)
                .layer(DefaultBodyLimit::max(body_limit())),
        )
        .route("/trial/letter", get(letter))
        .route("/trial/annotated", get(annotated))
}

/// The last upload of a session, as shown and downloaded.
#[derive(Clone)]
struct Trial {
    at: String,
    file_name: String,
    size: u64,
    /// The department it was judged as sent by; none: any configured one.
    department: Option<String>,
    result: Option<CheckResult>,
    /// Why it was not judged (too large).
    refused: Option<String>,
    letter: Option<Letter>,
    annotated: Option<(String, Vec<u8>)>,
}

#[derive(Clone)]
struct Letter {
    kind: LetterKind,
    title: String,
    doc_number: String,
    file_name: String,
    docx: Vec<u8>,
}

/// The sessions' last uploads (a session's token hash → its upload), the latest last.
static TRIALS: Mutex<VecDeque<(String, Trial)>> = Mutex::new(VecDeque::new());
/// Uploads kept at most (each holds a letter and a workbook in memory).
const KEPT: usize = 8;

fn keep(session: &str, trial: Trial) {
    let mut all = TRIALS.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|(s, _)| s != session);
    while all.len() >= KEPT {
        all.pop_front();
    }
    all.push_back((session.to_string(), trial));
}

fn last(session: &str) -> Option<Trial> {
    let all = TRIALS.lock().unwrap_or_else(|p| p.into_inner());
    all.iter()
        .find(|(s, _)| s == session)
        .map(|(_, t)| t.clone())
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

async fn page(State(app): State<Shared>, who: Who) -> Result<Html<String>, WebError> {
    let allowed = who.role() >= Role::Admin;
    let trial = if allowed {
        last(&who.session.token_hash)
    } else {
        None
    };
    let recent = if allowed {
        let mut entries = app
            .db(|_, conn| Ok(crate::store::browse::trials(conn, RECENT)?))
            .await?;
        for e in &mut entries {
            if let Some(name) = e.subject.strip_prefix(TRIAL_SUBJECT) {
                e.subject = name.to_string();
            }
        }
        entries
    } else {
        Vec::new()
    };
    let departments: Vec<Choice> = app
        .cfg
        .departments
        .iter()
        .map(|d| Choice {
            value: d.code.clone(),
            label: d.name.clone(),
        })
        .collect();
    let trial = trial.map(|t| {
        context! {
            at => t.at,
            file_name => t.file_name,
            size => t.size,
            department => t.department,
            refused => t.refused,
            result => t.result.as_ref().map(v),
            form_name => t.result.as_ref().and_then(|r| r.form).map(FormKind::name),
            accepted => t.result.as_ref().is_some_and(CheckResult::accepted),
            letter => t.letter.as_ref().map(|l| context! {
                kind => l.kind.name(),
                title => l.title.clone(),
                doc_number => l.doc_number.clone(),
                file_name => l.file_name.clone(),
            }),
            annotated => t.annotated.as_ref().map(|(n, _)| n.clone()),
        }
    });
    render(
        &app,
        &who,
        "trial",
        "trial.html",
        context! {
            title => "试一试",
            allowed,
            departments => v(&departments),
            trial,
            limit_mb => max_file_bytes() / (1024 * 1024),
            recent => v(&recent),
        },
    )
}

/// The audit subject of an upload: this and the file's name.
const TRIAL_SUBJECT: &str = "trial:";

/// Earlier uploads listed on the page.
const RECENT: usize = 20;

/// What was posted: the token, the department chosen and the file.
#[derive(Default)]
struct Upload {
    csrf: String,
    department: String,
    file_name: String,
    bytes: Vec<u8>,
    /// The file's whole size (only the first bytes over the limit are kept).
    size: u64,
    has_file: bool,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, WebError> {
    let too_large = || {
        WebError::BadRequest(format!(
            "上传的内容过大（上限{} MB），未能读取。请只上传一张绩效表。",
            max_file_bytes() / (1024 * 1024)
        ))
    };
    let mut up = Upload::default();
    let limit = max_file_bytes();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(too_large());
            }
            Err(e) => return Err(WebError::BadRequest(format!("上传的内容有误：{e}"))),
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                up.has_file = true;
                up.file_name = field.file_name().unwrap_or("").to_string();
                let mut field = field;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            up.size += chunk.len() as u64;
                            // Over the limit: read on to the end, keep nothing more.
                            if up.bytes.len() as u64 <= limit {
                                up.bytes.extend_from_slice(&chunk);
                            }
                        }
                        Ok(None) => break,
                        Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                            return Err(too_large());
                        }
                        Err(e) => {
                            return Err(WebError::BadRequest(format!("上传的内容有误：{e}")));
                        }
                    }
                }
            }
            "csrf" | "department" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| WebError::BadRequest(format!("上传的内容有误：{e}")))?;
                if name == "csrf" {
                    up.csrf = text;
                } else {
                    up.department = text;
                }
            }
            _ => {}
        }
    }
    Ok(up)
}

async fn upload(
    State(app): State<Shared>,
    who: Who,
    multipart: Multipart,
) -> Result<Response, WebError> {
    who.require(Role::Admin)?;
    let up = read_upload(multipart).await?;
    who.check_csrf(&up.csrf)?;
    if !up.has_file || (up.file_name.is_empty() && up.bytes.is_empty()) {
        return Err(WebError::BadRequest("请选择要试审的文件。".into()));
    }
    let code = up.department.trim().to_string();
    if !code.is_empty() && app.cfg.department_by_code(&code).is_none() {
        return Err(WebError::BadRequest(format!("没有代码为“{code}”的部门。")));
    }
    let session = who.session.token_hash.clone();
    let trial = app
        .db(move |app, conn| {
            let file_name = crate::util::one_line(
                std::path::Path::new(&up.file_name)
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .as_deref()
                    .unwrap_or("上传的文件"),
            );
            let subject = format!("{TRIAL_SUBJECT}{file_name}");
            let trial = match judge(app, conn, &code, &file_name, up.bytes, up.size) {
                Ok(trial) => trial,
                Err(e) => {
                    // A try that failed is recorded too, with why.
                    let why = match &e {
                        WebError::BadRequest(m) => m.clone(),
                        _ => "处理失败（见服务日志）".to_string(),
                    };
                    who.audit(app, conn, "trial", &subject, &format!("未完成：{why}"))?;
                    return Err(e);
                }
            };
            let detail = match (&trial.result, &trial.refused) {
                (_, Some(why)) => format!("未审：{why}"),
                (Some(r), None) if r.accepted() => match (&r.review, &r.score) {
                    (Some(rv), _) => format!("受理，审核结论：{}", rv.conclusion),
                    (None, Some(sc)) => format!("受理，核定{}分（{}）", sc.computed, sc.grade),
                    _ => "受理".to_string(),
                },
                (Some(r), None) => format!("退回：{}个问题", r.errors.len()),
                (None, None) => String::new(),
            };
            // The subject names the file, under a prefix of its own: a file named like another
            // subject (`submission:12`) is not taken for it.
            who.audit(app, conn, "trial", &subject, &detail)?;
            Ok(trial)
        })
        .await?;
    keep(&session, trial);
    Ok(see_other("/trial"))
}

/// Judges an upload as the daemon judges a file, and writes the letter it would get (without
/// a number). Reads the database only for the project's approved declaration.
fn judge(
    app: &App,
    conn: &rusqlite::Connection,
    code: &str,
    file_name: &str,
    bytes: Vec<u8>,
    size: u64,
) -> Result<Trial, WebError> {
    let department = app.cfg.department_by_code(code);
    let mut trial = Trial {
        at: app.now_text(),
        file_name: file_name.to_string(),
        size,
        department: department.map(|d| d.name.clone()),
        result: None,
        refused: None,
        letter: None,
        annotated: None,
    };
    let limit = max_file_bytes();
    if size > limit {
        trial.refused = Some(OpenError::TooLarge { size, limit }.to_string());
        return Ok(trial);
    }
    let mut worker = app
        .worker
        .lock()
        .map_err(|_| WebError::Internal(anyhow::anyhow!("the trial worker is poisoned")))?;
    let worker = worker.get_or_insert_with(|| crate::worker::Worker::new(app.launch.clone()));
    let mut checked = match worker.judge(file_name, &bytes) {
        Ok(c) => c,
        Err(crate::worker::Failure::Start(e)) => {
            return Err(WebError::Internal(
                anyhow::Error::new(e).context("starting the worker process"),
            ));
        }
        Err(failure) => crate::worker::too_complex(file_name, &failure, app.cfg.limits),
    };
    checked.require_sender(match department {
        Some(d) => Sender::Department(d),
        None => Sender::AnyOf(&app.cfg.departments),
    });
    // The department whose project it is: the one chosen, else the one its 主管部门 names.
    let sender = department.or_else(|| {
        let named = checked.result.project.as_ref()?.department.clone()?;
        app.cfg.departments.iter().find(|d| d.is_named(&named))
    });
    if let Some(d) = sender {
        crate::cycle::approvals::measure_against_approved(conn, &d.code, &mut checked, &app.defs)?;
    }
    let result = &checked.result;
    let annotated = match &checked.form {
        Some(form) if !result.accepted() => {
            worker.annotate(file_name, form, &result.errors, &bytes)
        }
        _ => None,
    };
    if let Some(kind) = LetterKind::for_result(result) {
        let addressee = sender
            .map(|d| d.name.clone())
            .or_else(|| result.project.as_ref().and_then(|p| p.department.clone()))
            .unwrap_or_else(|| "（主送单位）".to_string());
        let input = LetterInput {
            settings: &app.cfg.letters,
            defs: &app.defs,
            department: &addressee,
            file_name,
            result,
            form: checked.form.as_deref(),
            number: None,
            date: app.clock.today(),
            extra_findings: &[],
            original: Original::Annotated(annotated.as_deref()),
            reviewer: None,
        };
        let letter = app
            .letters
            .render(&input)
            .map_err(|e| WebError::Internal(anyhow::Error::new(e).context("writing the letter")))?;
        trial.letter = Some(Letter {
            kind,
            title: letter.title,
            doc_number: letter.doc_number_text,
            file_name: letter.docx_file_name,
            docx: letter.docx,
        });
        trial.annotated = letter.annotated_xlsx;
    }
    trial.result = Some(checked.result);
    Ok(trial)
}

async fn letter(who: Who) -> Result<Response, WebError> {
    who.require(Role::Admin)?;
    let l = last(&who.session.token_hash)
        .and_then(|t| t.letter)
        .ok_or(WebError::NotFound)?;
    Ok(download(&l.file_name, crate::mail::DOCX, l.docx))
}

async fn annotated(who: Who) -> Result<Response, WebError> {
    who.require(Role::Admin)?;
    let (name, bytes) = last(&who.session.token_hash)
        .and_then(|t| t.annotated)
        .ok_or(WebError::NotFound)?;
    Ok(download(&name, crate::mail::XLSX, bytes))
}
