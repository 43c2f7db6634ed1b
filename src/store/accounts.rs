//! The web console's accounts and sessions, and the failed logins that throttle guessing.
//! Passwords are kept as argon2id hashes (PHC strings); a session's token is kept as its SHA-256,
//! so a copy of the database opens no session.

use rusqlite::{Connection, OptionalExtension, params};

/// What an account may do. Each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees every page; changes nothing.
    Viewer,
    /// Also approves and revokes declarations, signs held letters off, retries mail.
    Reviewer,
    /// Also tries forms and templates out (试一试).
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role's name on the pages.
    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "查看员",
            Role::Reviewer => "审核员",
            Role::Admin => "管理员",
        }
    }
}

impl rusqlite::types::FromSql for Role {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        crate::store::submissions::text_enum(v, Role::parse)
    }
}

/// An account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: String,
    pub disabled: bool,
}

fn user_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        password_hash: r.get(3)?,
        created_at: r.get(4)?,
        disabled: r.get(5)?,
    })
}

const USER_COLUMNS: &str = "id, name, role, password_hash, created_at, disabled";

pub fn user_by_name(conn: &Connection, name: &str) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
        params![name],
        user_row,
    )
    .optional()
}

pub fn users(conn: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
    stmt.query_map([], user_row)?.collect()
}

/// Adds an account; false when the name is taken.
pub fn add_user(
    conn: &Connection,
    name: &str,
    role: Role,
    password_hash: &str,
    now: &str,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO NOTHING",
        params![name, role.as_str(), password_hash, now],
    )?;
    Ok(n == 1)
}

/// Sets an account's password and ends its sessions; false when there is no such account.
pub fn set_password(conn: &Connection, name: &str, password_hash: &str) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE name = ?1",
        params![name, password_hash],
    )?;
    conn.execute(
        "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?1)",
        params![name],
    )?;
    Ok(n == 1)
}

/// Changes an account's role or turns it off (its sessions end); false when there is none.
pub fn update_user(
    conn: &Connection,
    name: &str,
    role: Option<Role>,
    disabled: Option<bool>,
) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE users SET role = COALESCE(?2, role), disabled = COALESCE(?3, disabled)
         WHERE name = ?1",
        params![name, role.map(Role::as_str), disabled],
    )?;
    if disabled == Some(true) || role.is_some() {
        conn.execute(
            "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?1)",
            params![name],
        )?;
    }
    Ok(n == 1)
}

/// A logged-in session: the account and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    pub token_hash: String,
    /// What the console said after the session's last action, not yet shown.
    pub message: Option<String>,
}

pub fn create_session(
    conn: &Connection,
    token_hash: &str,
    user_id: i64,
    csrf: &str,
    now: &str,
    expires: &str,
) -> rusqlite::Result<()> {
    // Expired sessions go whenever a new one starts.
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, user_id, csrf, now, expires],
    )?;
    Ok(())
}

/// The live session of a token hash: not expired, its account not turned off.
pub fn session(
    conn: &Connection,
    token_hash: &str,
    now: &str,
) -> rusqlite::Result<Option<Session>> {
    conn.query_row(
        "SELECT u.id, u.name, u.role, u.password_hash, u.created_at, u.disabled, s.csrf, s.message
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
        params![token_hash, now],
        |r| {
            Ok(Session {
                user: user_row(r)?,
                csrf: r.get(6)?,
                token_hash: token_hash.to_string(),
                message: r.get(7)?,
            })
        },
    )
    .optional()
}

/// Keeps (or, with none, forgets) what the console says to a session after an action.
pub fn set_message(
    conn: &Connection,
    token_hash: &str,
    message: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sessions SET message = ?2 WHERE token_hash = ?1",
        params![token_hash, message],
    )?;
    Ok(())
}

pub fn end_session(conn: &Connection, token_hash: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        params![token_hash],
    )?;
    Ok(())
}

pub fn note_failure(conn: &Connection, name: &str, ip: &str, now: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO login_failures (name, ip, at) VALUES (?1, ?2, ?3)",
        params![name, ip, now],
    )?;
    Ok(())
}

/// Failed logins since `since`: for the name, and from the address.
pub fn failures_since(
    conn: &Connection,
    name: &str,
    ip: &str,
    since: &str,
) -> rusqlite::Result<(u32, u32)> {
    let by_name = conn.query_row(
        "SELECT COUNT(*) FROM login_failures WHERE name = ?1 AND at > ?2",
        params![name, since],
        |r| r.get(0),
    )?;
    let by_ip = conn.query_row(
        "SELECT COUNT(*) FROM login_failures WHERE ip = ?1 AND at > ?2",
        params![ip, since],
        |r| r.get(0),
    )?;
    Ok((by_name, by_ip))
}

/// A successful login forgets the name's failures; old failures go too.
pub fn clear_failures(conn: &Connection, name: &str, before: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM login_failures WHERE name = ?1 OR at <= ?2",
        params![name, before],
    )?;
    Ok(())
}
