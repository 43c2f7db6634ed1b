//! The audit log: what people did through the console (and the command line's decisions are in
//! their own history). Every approval, revocation, sign-off, mail retry, upload and login is one
//! row, shown on the pages.

use rusqlite::{Connection, params};

/// One thing a person did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub user: String,
    /// `login`, `logout`, `approve`, `revoke`, `sign`, `retry`, `trial`, ….
    pub action: String,
    /// The action in words, for the pages.
    pub action_label: String,
    /// What it was about: `submission:12`, `outbox:3`, `project:…`, `user:张三`.
    pub subject: String,
    pub detail: String,
}

pub fn record(
    conn: &Connection,
    at: &str,
    user: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO audit_log (at, user, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, user, action, subject, detail],
    )?;
    Ok(conn.last_insert_rowid())
}

/// An action in words (an action recorded in words already stays as it is).
pub fn label(action: &str) -> &str {
    match action {
        "login" => "登录",
        "login_failed" => "登录失败",
        "login_throttled" => "登录受限",
        "logout" => "退出",
        "approve" => "批复",
        "revoke" => "撤销批复",
        "sign" => "签发",
        "retry" => "重新发送邮件",
        "trial" => "试一试",
        "user_add" => "开设账号",
        "user_passwd" => "重设密码",
        "user_role" => "更改角色",
        "user_disable" => "停用账号",
        "user_enable" => "启用账号",
        other => other,
    }
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        at: r.get(1)?,
        user: r.get(2)?,
        action_label: label(&r.get::<_, String>(3)?).to_string(),
        action: r.get(3)?,
        subject: r.get(4)?,
        detail: r.get(5)?,
    })
}

/// The latest entries, newest first.
pub fn recent(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare(
        "SELECT id, at, user, action, subject, detail FROM audit_log ORDER BY id DESC LIMIT ?1",
    )?;
    stmt.query_map(params![limit as i64], row)?.collect()
}

/// The latest entries of one action, newest first.
pub fn of_action(conn: &Connection, action: &str, limit: usize) -> rusqlite::Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, user, action, subject, detail FROM audit_log WHERE action = ?1 \
         ORDER BY id DESC LIMIT ?2",
    )?;
    stmt.query_map(params![action, limit as i64], row)?
        .collect()
}

/// The entries about one subject (or several, e.g. every submission of a project), newest first.
pub fn about(conn: &Connection, subjects: &[String]) -> rusqlite::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, at, user, action, subject, detail FROM audit_log WHERE subject = ?1",
    )?;
    for s in subjects {
        out.extend(
            stmt.query_map(params![s], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        );
    }
    out.sort_by_key(|e| std::cmp::Reverse(e.id));
    Ok(out)
}
