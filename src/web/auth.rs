//! Who is asking: accounts (argon2id passwords), sessions (a random token in an HttpOnly,
//! SameSite=Strict cookie; only its SHA-256 is stored), a CSRF token on every form, and login
//! throttling (5 failures of a name, or 30 from one address, within 15 minutes refuse further
//! tries for the rest of that time). Logins and logouts are in the audit log.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use minijinja::context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::page::{WebError, is_local_path, render_plain, see_other};
use super::{App, Shared};
use crate::store::accounts::{self, Role, Session};
use crate::store::audit;

const SESSION_COOKIE: &str = "jixiao_session";
const LOGIN_COOKIE: &str = "jixiao_login";
/// Failed logins counted over this many minutes.
const WINDOW_MINUTES: i64 = 15;
const MAX_FAILURES_PER_NAME: u32 = 5;
const MAX_FAILURES_PER_ADDRESS: u32 = 30;
/// The shortest password `jixiao user add` and `passwd` accept.
pub(crate) const MIN_PASSWORD_CHARS: usize = 8;

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes) and a random salt.
pub(crate) fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no random numbers: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?
        .to_string())
}

/// Whether `password` matches the stored hash.
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of nothing anyone types, checked for unknown names so that they take as long as known
/// ones.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("jixiao: no such account").unwrap_or_default())
}

fn random_token() -> Result<String, WebError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| WebError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(hex::encode(b))
}

fn sha(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two tokens without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether the browser reached us over HTTPS (directly configured, or as the proxy says).
fn secure(app: &App, headers: &HeaderMap) -> bool {
    app.web.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(name: &str, value: &str, max_age: i64, path: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie text is ASCII")
}

/// What the console says after an action: what was done, or why it was not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Said {
    pub(crate) ok: bool,
    pub(crate) text: String,
}

impl Said {
    pub(crate) fn done(text: impl Into<String>) -> Said {
        Said {
            ok: true,
            text: text.into(),
        }
    }

    pub(crate) fn refused(text: impl Into<String>) -> Said {
        Said {
            ok: false,
            text: text.into(),
        }
    }

    /// As the pages show it: `done` or `error`.
    pub(crate) fn view(said: Option<&Said>) -> minijinja::Value {
        context! {
            done => said.filter(|s| s.ok).map(|s| s.text.clone()),
            error => said.filter(|s| !s.ok).map(|s| s.text.clone()),
        }
    }
}

/// The logged-in person of a request. Extracting it from a request without a live session
/// answers with the login page (and back here after).
#[derive(Debug, Clone)]
pub(crate) struct Who {
    pub(crate) session: Session,
}

impl Who {
    pub(crate) fn name(&self) -> &str {
        &self.session.user.name
    }

    pub(crate) fn role(&self) -> Role {
        self.session.user.role
    }

    /// Refuses unless the account's role is at least `role`.
    pub(crate) fn require(&self, role: Role) -> Result<(), WebError> {
        if self.role() >= role {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!(
                "账号“{}”的角色是{}，这项操作需要{}角色。",
                self.name(),
                self.role().label(),
                role.label()
            )))
        }
    }

    /// Says `said` on the next page this session sees: kept with the session, never in an
    /// address (where anyone could write a message of their own into a link).
    pub(crate) fn tell(&self, conn: &rusqlite::Connection, said: &Said) -> rusqlite::Result<()> {
        let text = serde_json::to_string(said).ok();
        accounts::set_message(conn, &self.session.token_hash, text.as_deref())
    }

    /// What the console said after this session's last action, forgotten once read.
    pub(crate) fn told(&self, conn: &rusqlite::Connection) -> rusqlite::Result<Option<Said>> {
        let Some(text) = &self.session.message else {
            return Ok(None);
        };
        accounts::set_message(conn, &self.session.token_hash, None)?;
        Ok(serde_json::from_str(text).ok())
    }

    /// Refuses unless `token` is this session's CSRF token.
    pub(crate) fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if same(token, &self.session.csrf) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    /// What the templates see as `who`.
    pub(crate) fn view(&self) -> minijinja::Value {
        let role = self.role();
        context! {
            name => self.name(),
            role => role.as_str(),
            role_label => role.label(),
            csrf => self.session.csrf.clone(),
            can_review => role >= Role::Reviewer,
            is_admin => role >= Role::Admin,
        }
    }

    /// Writes an audit entry for something this person did.
    pub(crate) fn audit(
        &self,
        app: &App,
        conn: &rusqlite::Connection,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> rusqlite::Result<i64> {
        audit::record(conn, &app.now_text(), self.name(), action, subject, detail)
    }
}

impl FromRequestParts<Shared> for Who {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Self::Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let login = || WebError::Login { next: next.clone() };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(login());
        };
        let hash = sha(&token);
        let now = Utc::now().to_rfc3339();
        let session = app
            .db(move |_, conn| Ok(accounts::session(conn, &hash, &now)?))
            .await?;
        match session {
            Some(session) => Ok(Who { session }),
            None => Err(login()),
        }
    }
}

/// A form posted by a logged-in person from one of the console's pages: its CSRF token is
/// checked before anything else; the fields are `T`.
pub(crate) struct Posted<T> {
    pub(crate) who: Who,
    pub(crate) form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// The largest form body accepted (uploads have their own limit).
const FORM_LIMIT: usize = 256 * 1024;

impl<T: serde::de::DeserializeOwned> FromRequest<Shared> for Posted<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, app: &Shared) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let who = Who::from_request_parts(&mut parts, app).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| WebError::BadRequest("表单内容过大。".into()))?;
        let token: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField {
            csrf: String::new(),
        });
        who.check_csrf(&token.csrf)?;
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| WebError::BadRequest(format!("表单内容有误：{e}")))?;
        Ok(Posted { who, form })
    }
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        // A login form is a few hundred bytes: a larger body is refused unread.
        .route(
            "/login",
            get(login_page)
                .post(login)
                .layer(axum::extract::DefaultBodyLimit::max(16 * 1024)),
        )
        .route("/logout", post(logout))
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default)]
    next: String,
}

async fn login_page(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    login_form(&app, &headers, &q.next, None, "")
}

/// The login page with a fresh login token (a cookie and the same value in the form).
fn login_form(
    app: &App,
    headers: &HeaderMap,
    next: &str,
    message: Option<&str>,
    name: &str,
) -> Result<Response, WebError> {
    let token = random_token()?;
    let next = if is_local_path(next) { next } else { "/" };
    let html = render_plain(
        app,
        "login.html",
        context! { token => token.clone(), next, message, name, office => app.cfg.finance.name.clone() },
    )?;
    let mut res = html.into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &token, 3600, "/login", secure(app, headers)),
    );
    Ok(res)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

enum Outcome {
    Ok { token: String },
    Wrong,
    Throttled,
}

/// The longest account name (`jixiao user add` refuses longer ones): a longer name is refused
/// before anything is recorded of it.
pub(crate) const MAX_NAME_CHARS: usize = 64;

/// Password checks running at once (argon2id: 19 MiB and tens of milliseconds each); other
/// logins wait their turn.
static CHECKING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The address a login comes from: the peer's, or — when the peer is this machine, as a reverse
/// proxy in front of the console is — the last address of its `X-Forwarded-For`, which the proxy
/// set. Elsewhere the header is anyone's to write, and ignored.
fn client_address(peer: &SocketAddr, headers: &HeaderMap) -> String {
    let forwarded = || {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
            .next_back()
    };
    match peer.ip() {
        ip if ip.is_loopback() => forwarded().unwrap_or(ip).to_string(),
        ip => ip.to_string(),
    }
}

async fn login(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    // The form must come from our login page: its token equals the cookie set with it.
    let cookie_token = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if f.token.is_empty() || !same(&f.token, &cookie_token) {
        return Err(WebError::Csrf);
    }
    let name = f.name.trim().to_string();
    let ip = client_address(&peer, &headers);
    let hours = i64::from(app.web.session_hours.max(1));
    let outcome = if name.chars().count() > MAX_NAME_CHARS {
        Outcome::Wrong
    } else {
        attempt(&app, name, ip, f.password, hours).await?
    };
    match outcome {
        Outcome::Ok { token } => {
            let next = if is_local_path(&f.next) {
                f.next.as_str()
            } else {
                "/"
            };
            let mut res = see_other(next);
            let secure = secure(&app, &headers);
            let h = res.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &token, hours * 3600, "/", secure),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_COOKIE, "", 0, "/login", secure),
            );
            Ok(res)
        }
        Outcome::Wrong => {
            let mut res = login_form(
                &app,
                &headers,
                &f.next,
                Some("用户名或密码不正确。"),
                f.name.trim(),
            )?;
            *res.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(res)
        }
        Outcome::Throttled => {
            let mut res = login_form(
                &app,
                &headers,
                &f.next,
                Some(&format!(
                    "登录失败次数过多，请{WINDOW_MINUTES}分钟后再试。如忘记密码，请管理员用 jixiao user passwd 重设。"
                )),
                f.name.trim(),
            )?;
            *res.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
            Ok(res)
        }
    }
}

/// One login attempt, counted before its password is checked — so that attempts made at once
/// cannot pass the limits together — and forgiven when it succeeds. A name or address over its
/// limit is refused without a check; the failure that reaches a limit is recorded once as such.
async fn attempt(
    app: &Shared,
    name: String,
    ip: String,
    password: String,
    hours: i64,
) -> Result<Outcome, WebError> {
    let started = Utc::now();
    let since = (started - chrono::Duration::minutes(WINDOW_MINUTES)).to_rfc3339();
    let (n, i, s) = (name.clone(), ip.clone(), since.clone());
    let allowed = app
        .db(move |_, conn| {
            let tx = conn.transaction()?;
            let (by_name, by_ip) = accounts::failures_since(&tx, &n, &i, &s)?;
            if by_name >= MAX_FAILURES_PER_NAME || by_ip >= MAX_FAILURES_PER_ADDRESS {
                return Ok(None);
            }
            accounts::note_failure(&tx, &n, &i, &started.to_rfc3339())?;
            tx.commit()?;
            Ok(Some((by_name + 1, by_ip + 1)))
        })
        .await?;
    let Some((by_name, by_ip)) = allowed else {
        return Ok(Outcome::Throttled);
    };
    let n = name.clone();
    let user = app
        .db(move |_, conn| Ok(accounts::user_by_name(conn, &n)?.filter(|u| !u.disabled)))
        .await?;
    let (n, i) = (name, ip);
    let hash = user
        .as_ref()
        .map_or(dummy_hash().to_string(), |u| u.password_hash.clone());
    let ok = {
        let _turn = CHECKING
            .acquire()
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
        tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|e| WebError::Internal(e.into()))?
    };
    app.db(move |app, conn| {
        let now = Utc::now();
        let Some(user) = user.filter(|_| ok) else {
            audit::record(
                conn,
                &app.now_text(),
                &n,
                "login_failed",
                &format!("user:{n}"),
                &i,
            )?;
            if by_name == MAX_FAILURES_PER_NAME || by_ip == MAX_FAILURES_PER_ADDRESS {
                audit::record(
                    conn,
                    &app.now_text(),
                    &n,
                    "login_throttled",
                    &format!("user:{n}"),
                    &i,
                )?;
            }
            return Ok(Outcome::Wrong);
        };
        let token = random_token()?;
        let csrf = random_token()?;
        accounts::create_session(
            conn,
            &sha(&token),
            user.id,
            &csrf,
            &now.to_rfc3339(),
            &(now + chrono::Duration::hours(hours)).to_rfc3339(),
        )?;
        accounts::clear_failures(conn, &n, &since)?;
        audit::record(
            conn,
            &app.now_text(),
            &user.name,
            "login",
            &format!("user:{}", user.name),
            &i,
        )?;
        Ok(Outcome::Ok { token })
    })
    .await
}

#[derive(Deserialize)]
struct Nothing {}

async fn logout(
    State(app): State<Shared>,
    headers: HeaderMap,
    posted: Posted<Nothing>,
) -> Result<Response, WebError> {
    let who = posted.who;
    let hash = who.session.token_hash.clone();
    app.db(move |app, conn| {
        accounts::end_session(conn, &hash)?;
        who.audit(app, conn, "logout", &format!("user:{}", who.name()), "")?;
        Ok(())
    })
    .await?;
    let mut res = see_other("/login");
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, "/", secure(&app, &headers)),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("正确的密码123").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("正确的密码123", &h));
        assert!(!verify_password("正确的密码124", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; jixiao_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, LOGIN_COOKIE), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
