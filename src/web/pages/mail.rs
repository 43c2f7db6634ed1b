//! 邮件: the outbox — every message the service queued, where it stands, why it failed — and
//! retrying a message, as `jixiao outbox retry` does (`mail::outbox::retry`): a failed message is
//! queued again addressed to the recipients the configuration names now (same Message-ID and
//! content), a queued one is tried at once, a sent one is never sent again. The running daemon's
//! sender picks a retried message up within its poll interval (2 s).

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::mail::outbox::{self, Recipients, Retried};
use crate::mail::{MailError, OutboxRow, Status};
use crate::store;
use crate::store::accounts::Role;
use crate::web::auth::{Posted, Said, Who};
use crate::web::page::{
    Id, WebError, form_urlencoded_component, page_number, render, see_other, v,
};
use crate::web::{App, Shared};

/// This page's templates.
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("mail.html", include_str!("../templates/mail.html")),
    (
        "mail_message.html",
        include_str!("../templates/mail_message.html"),
    ),
];

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/mail", get(page))
        .route("/mail/{id}", get(message))
        .route("/mail/{id}/retry", post(retry))
}

/// Messages per page of the list.
const PER_PAGE: usize = 100;

const STATUSES: [Status; 4] = [
    Status::Queued,
    Status::Sending,
    Status::Sent,
    Status::Failed,
];

/// What kind of message it is, in the finance office's words.
fn kind_label(kind: &str) -> &str {
    match kind {
        "receipt" => "收件回执",
        "duplicate" => "重复报送通知",
        "unreadable" => "无法识别文件通知",
        "reminder" => "催报通知",
        "summary" => "汇总表",
        "return_notice" => "退回修改通知",
        "target_review" => "绩效目标审核意见",
        "monitoring_opinion" => "绩效监控意见",
        "evaluation_feedback" => "绩效评价结果反馈函",
        other => other,
    }
}

/// A time as the pages show it (the `time` filter takes RFC 3339), in this machine's zone.
fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local).to_rfc3339()
}

/// A message as the pages show it.
#[derive(Serialize)]
struct MessageView {
    id: i64,
    kind: String,
    kind_label: String,
    reference: String,
    status: Status,
    status_label: &'static str,
    department: Option<String>,
    department_name: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
    attachments: Vec<String>,
    attempts: u32,
    last_error: Option<String>,
    created_at: String,
    next_attempt_at: Option<String>,
    sent_at: Option<String>,
    message_id: Option<String>,
}

fn view(app: &App, r: &OutboxRow) -> MessageView {
    MessageView {
        id: r.id,
        kind_label: kind_label(&r.kind).to_string(),
        kind: r.kind.clone(),
        reference: r.reference.clone(),
        status: r.status,
        status_label: r.status.label(),
        department_name: r.department.as_deref().map(|c| {
            app.cfg
                .department_by_code(c)
                .map_or(c, |d| &d.name)
                .to_string()
        }),
        department: r.department.clone(),
        to: r.to.clone(),
        cc: r.cc.clone(),
        subject: r.subject.clone(),
        attachments: r.attachments.clone(),
        attempts: r.attempts,
        last_error: r.last_error.clone(),
        created_at: local(r.created_at),
        next_attempt_at: r.next_attempt_at.map(local),
        sent_at: r.sent_at.map(local),
        message_id: r.message_id.clone(),
    }
}

fn mail_error(e: MailError) -> WebError {
    match e {
        MailError::NotFound(_) => WebError::NotFound,
        e => WebError::Internal(e.into()),
    }
}

#[derive(Deserialize, Default)]
struct Filter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    page: String,
}

async fn page(
    State(app): State<Shared>,
    who: Who,
    Query(f): Query<Filter>,
) -> Result<Html<String>, WebError> {
    let status = STATUSES.into_iter().find(|s| s.as_str() == f.status.trim());
    let department = Some(f.department.trim().to_string()).filter(|d| !d.is_empty());
    let asked = page_number(&f.page);
    let dept = department.clone();
    let (rows, total, counts, page) = app
        .db(move |app, conn| {
            let list = |page: usize| {
                crate::store::outbox::list_page(
                    conn,
                    status,
                    dept.as_deref(),
                    PER_PAGE,
                    (page - 1) * PER_PAGE,
                )
            };
            let mut page = asked;
            let (mut rows, total) = list(page)?;
            // A page past the end shows the last one.
            let pages = total.div_ceil(PER_PAGE).max(1);
            if page > pages {
                page = pages;
                rows = list(page)?.0;
            }
            let shown: Vec<MessageView> = rows.iter().map(|r| view(app, r)).collect();
            let counts = outbox::counts(conn).map_err(mail_error)?;
            Ok((shown, total, counts, page))
        })
        .await?;
    let shown_counts: Vec<_> = STATUSES
        .iter()
        .map(|s| {
            let n = counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n);
            context! { status => s.as_str(), label => s.label(), n }
        })
        .collect();
    let all: i64 = counts.iter().map(|(_, n)| *n).sum();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let departments: Vec<_> = app
        .cfg
        .departments
        .iter()
        .map(|d| context! { code => d.code.clone(), name => d.name.clone() })
        .collect();
    render(
        &app,
        &who,
        "mail",
        "mail.html",
        context! {
            rows => v(&rows),
            counts => shown_counts,
            all,
            total,
            page,
            pages,
            departments,
            status => status.map(Status::as_str).unwrap_or(""),
            department_q => form_urlencoded_component(department.as_deref().unwrap_or_default()),
            department => department.unwrap_or_default(),
        },
    )
}

/// The configuration as the file says now (the administrator may have corrected an address
/// since the service started), else as loaded at start.
fn current_config(app: &App) -> (Config, bool) {
    match Config::load(&app.cfg.file) {
        Ok(c) => (c, true),
        Err(e) => {
            tracing::warn!(file = %app.cfg.file.display(), error = %format!("{e:#}"), "console: the configuration cannot be read again; using the one loaded at start");
            (app.cfg.clone(), false)
        }
    }
}

fn recipients(cfg: &Config, row: &OutboxRow) -> Option<Recipients> {
    outbox::configured_recipients(&cfg.finance, &cfg.departments, row)
}

/// The submissions a message is about: its reference names them (`12`, or `12,13,stray-4` for
/// the notice listing files that are no form); reminders and the summary name none.
fn submissions_of(row: &OutboxRow) -> Vec<i64> {
    if matches!(row.kind.as_str(), "reminder" | "summary") {
        return Vec::new();
    }
    row.reference
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

async fn message(
    State(app): State<Shared>,
    who: Who,
    Id(id): Id,
) -> Result<Html<String>, WebError> {
    let reader = who.clone();
    let (msg, body, attachments, audit, submissions, current, fresh, said) = app
        .db(move |app, conn| {
            let said = reader.told(conn)?;
            let row = outbox::get(conn, id).map_err(mail_error)?;
            let contents = outbox::contents(conn, id).map_err(mail_error)?;
            let (body, attachments) = (contents.body, v(&contents.attachments));
            let audit = store::audit::about(conn, &[format!("outbox:{id}")])?;
            let (cfg, fresh) = current_config(app);
            let current = recipients(&cfg, &row).map(|r| {
                let same = r.to == row.to && r.cc == row.cc;
                context! { to => r.to, cc => r.cc, same }
            });
            Ok((
                view(app, &row),
                body,
                attachments,
                audit,
                submissions_of(&row),
                current,
                fresh,
                said,
            ))
        })
        .await?;
    render(
        &app,
        &who,
        "mail",
        "mail_message.html",
        context! {
            m => v(&msg),
            body,
            attachments,
            audit => v(&audit),
            submissions,
            current,
            fresh,
            config_file => app.cfg.file.display().to_string(),
            said => Said::view(said.as_ref()),
        },
    )
}

#[derive(Deserialize)]
struct Nothing {}

/// Retries a message as `jixiao outbox retry` does, under the account's name, with an audit
/// entry; back to the message with what was done or why not.
async fn retry(
    State(app): State<Shared>,
    Id(id): Id,
    posted: Posted<Nothing>,
) -> Result<Response, WebError> {
    let who = posted.who;
    who.require(Role::Reviewer)?;
    let teller = who.clone();
    let said = app
        .db(move |app, conn| {
            let row = outbox::get(conn, id).map_err(mail_error)?;
            let (cfg, _) = current_config(app);
            let current = recipients(&cfg, &row);
            let now = app.clock.now().to_utc();
            let done = match outbox::retry(conn, id, now, current.as_ref()) {
                Ok(Retried::Hurried) => "已安排立即发送。".to_string(),
                Ok(Retried::Requeued) => "已重新排队，收件人不变。".to_string(),
                Ok(Retried::Readdressed(r)) => {
                    let cc = if r.cc.is_empty() {
                        String::new()
                    } else {
                        format!("，抄送：{}", r.cc.join(", "))
                    };
                    format!("已按当前配置重新排队，收件人：{}{cc}。", r.to.join(", "))
                }
                Err(MailError::AlreadySent(_)) => {
                    return Ok(Err("这封邮件已发送，不会重复发送。".to_string()));
                }
                Err(MailError::Busy(_)) => {
                    return Ok(Err("这封邮件正在发送，请稍后刷新查看结果。".to_string()));
                }
                Err(MailError::NoRecipients) => {
                    return Ok(Err(
                        "当前配置中没有这封邮件的收件地址，请先在 jixiao.toml 中填写。".to_string(),
                    ));
                }
                Err(e @ MailError::InvalidAddress { .. }) => {
                    return Ok(Err(format!("当前配置中的收件地址有误：{e}")));
                }
                Err(e) => return Err(mail_error(e)),
            };
            who.audit(app, conn, "retry", &format!("outbox:{id}"), &done)?;
            Ok(Ok(done))
        })
        .await?;
    let said = match said {
        Ok(done) => Said::done(done),
        Err(refused) => Said::refused(refused),
    };
    app.db(move |_, conn| Ok(teller.tell(conn, &said)?)).await?;
    Ok(see_other(&format!("/mail/{id}")))
}
