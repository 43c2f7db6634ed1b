//! Rendering pages: the templates (HTML-escaped), the frame every page shares, error pages and
//! the headers every answer carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Environment, Value, context};

use super::auth::Who;

/// The console's templates, compiled into the program (the pages are the product's, not an
/// office's to edit — letters are).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("login.html", include_str!("templates/login.html")),
    (
        "placeholder.html",
        include_str!("templates/placeholder.html"),
    ),
];

pub(crate) fn templates() -> anyhow::Result<Environment<'static>> {
    let mut env = Environment::new();
    // `.html` templates escape every value unless marked safe (minijinja's default by name).
    for (name, text) in TEMPLATES.iter().chain(super::pages::templates()) {
        env.add_template(name, text)
            .map_err(|e| anyhow::anyhow!("web template {name}: {e}"))?;
    }
    env.add_filter("time", |s: String| crate::text::chinese_time(&s));
    env.add_filter("day", |s: String| s.get(..10).unwrap_or(&s).to_string());
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    Ok(env)
}

/// Any serialisable value as a template value: `context! { rows => v(&rows) }`.
pub(crate) fn v<T: serde::Serialize>(x: T) -> Value {
    Value::from(minijinja::value::Serde(x))
}

/// The pages in the navigation bar: (path, name, key).
pub(crate) const NAV: &[(&str, &str, &str)] = &[
    ("/", "总览", "overview"),
    ("/submissions", "报送记录", "submissions"),
    ("/approvals", "待批复", "approvals"),
    ("/signoff", "待签发", "signoff"),
    ("/mail", "邮件", "mail"),
    ("/reminders", "催报", "reminders"),
    ("/summary", "汇总表", "summary"),
    ("/trial", "试一试", "trial"),
    ("/audit", "操作记录", "audit"),
];

/// Renders `template` inside the frame, for the logged-in `who`, with `page` marking the active
/// navigation entry. The template sees `who` (name, role, role_label, csrf, can_review,
/// is_admin), `nav`, `active`, `office` and what `ctx` holds.
pub(crate) fn render(
    app: &super::App,
    who: &Who,
    active: &str,
    template: &str,
    ctx: Value,
) -> Result<Html<String>, WebError> {
    let nav: Vec<Value> = NAV
        .iter()
        .map(|&(path, name, key)| context! { path, name, key })
        .collect();
    let full = context! {
        who => who.view(),
        nav,
        active,
        office => app.cfg.finance.name.clone(),
        ..ctx
    };
    render_plain(app, template, full)
}

/// Renders a template with exactly `ctx` (the login page, errors).
pub(crate) fn render_plain(
    app: &super::App,
    template: &str,
    ctx: Value,
) -> Result<Html<String>, WebError> {
    let tmpl = app
        .templates
        .get_template(template)
        .map_err(|e| WebError::Internal(e.into()))?;
    tmpl.render(ctx)
        .map(Html)
        .map_err(|e| WebError::Internal(anyhow::anyhow!("rendering {template}: {e:#}")))
}

/// What went wrong with a request, as the person sees it.
#[derive(Debug)]
pub(crate) enum WebError {
    /// Not logged in: to the login page, then back to `next`.
    Login {
        next: String,
    },
    /// Logged in, but the role does not allow it.
    Forbidden(String),
    /// The form was not sent from this console's page (no or a wrong CSRF token).
    Csrf,
    NotFound,
    BadRequest(String),
    Internal(anyhow::Error),
}

impl From<rusqlite::Error> for WebError {
    fn from(e: rusqlite::Error) -> Self {
        WebError::Internal(e.into())
    }
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        WebError::Internal(e)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            WebError::Login { next } => {
                let to = if is_local_path(&next) && next != "/" {
                    format!("/login?next={}", form_urlencoded_component(&next))
                } else {
                    "/login".to_string()
                };
                return Redirect::to(&to).into_response();
            }
            WebError::Forbidden(m) => (StatusCode::FORBIDDEN, "无权操作", m),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "请求无效",
                "这个表单不是从本系统的页面提交的，或页面已过期。请回到页面刷新后重试。".into(),
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "页面不存在",
                "没有这个页面或记录。".into(),
            ),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, "请求有误", m),
            WebError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "console: internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "内部错误",
                    "处理请求时出错，已记入日志。请稍后重试或联系系统管理员。".into(),
                )
            }
        };
        // A plain page that needs nothing (the templates may be what failed).
        let body = format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title>\
             <link rel=\"stylesheet\" href=\"/static/jixiao.css\"></head><body class=\"error\">\
             <main><h1>{t}</h1><p>{m}</p><p><a href=\"/\">返回总览</a></p></main></body></html>",
            t = escape(title),
            m = escape(&message)
        );
        (status, Html(body)).into_response()
    }
}

/// HTML-escapes text put into a page outside the templates.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path on this site (`/submissions?x=1`), never another site (`//evil`, `https://…`).
pub(crate) fn is_local_path(p: &str) -> bool {
    // Browsers drop tabs and line breaks from an address and read `\` as `/`: `/\t/evil` would
    // be `//evil`. The console's own addresses are percent-encoded and have none of them.
    p.starts_with('/')
        && !p.starts_with("//")
        && !p
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

/// A record's number from the address (`/mail/12`): anything else is no such page — the
/// console's 404, not a bare 400.
pub(crate) struct Id(pub(crate) i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Id {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| WebError::NotFound)?;
        raw.parse().map(Id).map_err(|_| WebError::NotFound)
    }
}

/// A page number from an address: 1 when it is missing or not a number, and never so large that
/// the rows before it could not be counted.
pub(crate) fn page_number(text: &str) -> usize {
    text.trim()
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, 1_000_000)
}

/// A query of the fields that are not empty (trimmed, percent-encoded):
/// `query(&[("year", "2026"), ("q", "")])` is `year=2026`.
pub(crate) fn query(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", form_urlencoded_component(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
}

/// A page's address with the [`query`] of `fields`; the path alone when all are empty.
pub(crate) fn address(path: &str, fields: &[(&str, &str)]) -> String {
    match query(fields) {
        q if q.is_empty() => path.to_string(),
        q => format!("{path}?{q}"),
    }
}

/// A page number as a query field: none for the first page.
pub(crate) fn page_field(page: usize) -> String {
    if page > 1 {
        page.to_string()
    } else {
        String::new()
    }
}

/// Percent-encodes a query component.
pub(crate) fn form_urlencoded_component(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q[1..].to_string())
        .unwrap_or_default()
}

/// The headers every answer carries: no script or foreign resource may run or load, no framing,
/// no sniffing; pages are not cached (they show who is logged in and a CSRF token).
pub(crate) async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// A download: the bytes with their type and a file name (UTF-8, RFC 6266), never shown inline.
pub(crate) fn download(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// After a POST: back to a page (303, so a reload does not post again).
pub(crate) fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert!(is_local_path("/submissions?year=2026"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example/"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/a\r\nSet-Cookie: x"));
    }

    #[test]
    fn an_address_carries_only_the_fields_given() {
        assert_eq!(
            address(
                "/approvals",
                &[
                    ("year", " 2026 "),
                    ("q", ""),
                    ("q2", "农技 推广"),
                    ("page", &page_field(1))
                ]
            ),
            "/approvals?year=2026&q2=%E5%86%9C%E6%8A%80+%E6%8E%A8%E5%B9%BF"
        );
        assert_eq!(address("/mail", &[("page", &page_field(1))]), "/mail");
        assert_eq!(query(&[("page", &page_field(3))]), "page=3");
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(escape("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
    }
}
