//! The web console's doors: every page wants a login, accounts are checked with throttling,
//! every form needs its CSRF token, cookies are HttpOnly and SameSite=Strict, the audit log
//! records logins, and the pages carry headers that keep scripts and framing out.

mod web_support;

use web_support::{PASSWORD, Setup};

/// Every page the console has.
const PAGES: &[&str] = &[
    "/",
    "/submissions",
    "/approvals",
    "/signoff",
    "/mail",
    "/reminders",
    "/summary",
    "/trial",
    "/audit",
];

#[test]
fn logged_out_every_page_is_the_login_page() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    for path in PAGES {
        let page = c.get(path);
        assert_eq!(page.status, 200, "{path}");
        assert!(page.url.contains("/login"), "{path} → {}", page.url);
        assert!(page.body.contains("name=\"password\""), "{path}");
    }
    // A deep link comes back after the login.
    let page = c.get("/audit?limit=5");
    assert!(
        page.url.ends_with("/login?next=%2Faudit%3Flimit%3D5"),
        "{}",
        page.url
    );
    // A POST without a session is not done either.
    let page = c.post_raw("/logout", &[]);
    assert!(page.url.contains("/login"), "{}", page.url);
}

#[test]
fn logging_in_sets_a_strict_http_only_cookie_and_every_page_answers() {
    let setup = Setup::new();
    let server = setup.serve();
    let login = server.client().get("/login");
    let cookie = login.header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    let csp = login.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    for who in ["查看员", "审核员", "管理员"] {
        let c = server.login(who);
        for path in PAGES {
            let page = c.get(path);
            assert_eq!(page.status, 200, "{who} {path}: {}", page.body);
            assert!(
                page.body.contains(who),
                "{who} {path}: the page names who is logged in"
            );
            assert_eq!(page.header("cache-control"), "no-store", "{path}");
        }
    }
    let audit = server.login("查看员").get("/audit");
    assert!(
        audit.body.contains("审核员") && audit.body.contains("login"),
        "{}",
        audit.body
    );
}

#[test]
fn behind_a_tls_proxy_the_cookie_is_secure() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    let res = c
        .http
        .get(format!("{}/login", c.base))
        .header("X-Forwarded-Proto", "https")
        .send()
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[test]
fn a_wrong_password_is_refused_and_guessing_is_throttled() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    let page = c.login("审核员", "不是这个密码");
    assert_eq!(page.status, 401);
    assert!(page.body.contains("用户名或密码不正确"), "{}", page.body);
    // An unknown name is answered the same way.
    let page = c.login("没有这个人", PASSWORD);
    assert_eq!(page.status, 401);
    for _ in 0..4 {
        assert_eq!(c.login("审核员", "还是不对").status, 401);
    }
    // Five failures: even the right password is refused for now.
    let page = c.login("审核员", PASSWORD);
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("登录失败次数过多"), "{}", page.body);
    // Another account is not locked by it.
    assert_eq!(c.login("查看员", PASSWORD).status, 200);
    let audit = server.login("管理员").get("/audit");
    assert!(audit.body.contains("login_failed") && audit.body.contains("login_throttled"));
}

#[test]
fn a_login_form_not_from_the_login_page_is_refused() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    let page = c.post_raw(
        "/login",
        &[
            ("name", "审核员"),
            ("password", PASSWORD),
            ("token", "forged"),
            ("next", "/"),
        ],
    );
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(!page.url.ends_with('/') || page.url.contains("login"));
}

#[test]
fn a_post_without_the_csrf_token_is_refused() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.login("管理员");
    let page = c.post_raw("/logout", &[]);
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("不是从本系统的页面提交的"),
        "{}",
        page.body
    );
    let page = c.post_raw("/logout", &[("csrf", "0123456789abcdef")]);
    assert_eq!(page.status, 403);
    // Still logged in; with the page's token it logs out.
    assert!(!c.get("/audit").url.contains("/login"));
    let page = c.post("/audit", "/logout", &[]);
    assert!(page.url.contains("/login"), "{}", page.url);
    assert!(c.get("/audit").url.contains("/login"));
}

#[test]
fn after_login_only_a_local_next_is_followed() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    let login = c.get("/login?next=//evil.example/");
    let token = web_support::hidden(&login.body, "token").unwrap();
    let page = c.post_raw(
        "/login",
        &[
            ("token", &token),
            ("next", "//evil.example/"),
            ("name", "查看员"),
            ("password", PASSWORD),
        ],
    );
    assert!(page.url.starts_with(&server.url), "{}", page.url);
    // Browsers drop a tab from an address: `/<tab>/evil.example` would be `//evil.example`.
    for next in ["/\t/evil.example/", "/\\evil.example/", "/\n/evil.example/"] {
        let c = server.client();
        let login = c.get("/login");
        let token = web_support::hidden(&login.body, "token").unwrap();
        let page = c.post_raw(
            "/login",
            &[
                ("token", &token),
                ("next", next),
                ("name", "查看员"),
                ("password", PASSWORD),
            ],
        );
        assert_eq!(page.url, format!("{}/", server.url), "{next:?}");
    }
}

/// (name, ip) of the failed logins recorded, and how many `login_failed` audit entries.
fn failures(setup: &Setup) -> (Vec<(String, String)>, i64) {
    let db = setup.db();
    let rows = db
        .prepare("SELECT name, ip FROM login_failures ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let audited = db
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (rows, audited)
}

#[test]
fn guesses_made_at_once_are_each_counted_before_they_are_checked() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    let login = c.get("/login");
    let token = web_support::hidden(&login.body, "token").unwrap();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let guesses: Vec<_> = (0..12)
            .map(|n| {
                let (c, token) = (&c, &token);
                s.spawn(move || {
                    let guess = format!("猜的密码{n}");
                    c.post_raw(
                        "/login",
                        &[("token", token), ("name", "审核员"), ("password", &guess)],
                    )
                    .status
                })
            })
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap()).collect()
    });
    // Five guesses were checked; the others were refused unchecked, whatever their timing.
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
    let (rows, audited) = failures(&setup);
    assert_eq!((rows.len(), audited), (5, 5));
}

#[test]
fn a_name_no_account_can_have_is_refused_without_being_recorded() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    let login = c.get("/login");
    let token = web_support::hidden(&login.body, "token").unwrap();
    let long = "名".repeat(65);
    let page = c.post_raw(
        "/login",
        &[("token", &token), ("name", &long), ("password", "x")],
    );
    assert_eq!(page.status, 401);
    assert_eq!(failures(&setup), (Vec::new(), 0));
    // A body far larger than a login form is refused unread.
    let huge = "名".repeat(20_000);
    let page = c.post_raw(
        "/login",
        &[("token", &token), ("name", &huge), ("password", "x")],
    );
    assert_eq!(page.status, 413);
    assert_eq!(failures(&setup), (Vec::new(), 0));
}

#[test]
fn behind_the_proxy_failures_count_against_the_address_it_forwards() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.client();
    // Each answer is a login form with a new token (and its cookie).
    let token =
        std::cell::RefCell::new(web_support::hidden(&c.get("/login").body, "token").unwrap());
    let guess = |name: &str, forwarded: &str| {
        let res = c
            .http
            .post(format!("{}/login", server.url))
            .header("X-Forwarded-For", forwarded)
            .form(&[
                ("token", token.borrow().as_str()),
                ("name", name),
                ("password", "错的"),
            ])
            .send()
            .unwrap();
        let status = res.status().as_u16();
        *token.borrow_mut() = web_support::hidden(&res.text().unwrap(), "token").unwrap();
        status
    };
    // 30 failures from one office's address (under several names, 5 each at most) …
    for n in 0..30 {
        assert_eq!(guess(&format!("某人{}", n / 5), "203.0.113.9"), 401, "{n}");
    }
    assert_eq!(guess("某人9", "203.0.113.9"), 429);
    // … do not lock out the others behind the same proxy.
    assert_eq!(guess("某人9", "198.51.100.7"), 401);
    let (rows, _) = failures(&setup);
    assert_eq!(rows.last().unwrap().1, "198.51.100.7");
    assert_eq!(rows[0].1, "203.0.113.9");
    // A forged first address in the header does not hide the one the proxy appended.
    assert_eq!(guess("某人10", "10.9.9.9, 203.0.113.9"), 429);
}

#[test]
fn a_changed_password_ends_the_sessions_and_a_disabled_account_cannot_log_in() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.login("审核员");
    let mut child = std::process::Command::new(web_support::BIN)
        .args(["user", "passwd", "审核员", "--password-stdin"])
        .current_dir(setup.root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "新的密码-2027").unwrap();
    assert!(child.wait().unwrap().success());
    assert!(c.get("/").url.contains("/login"), "the old session ended");
    assert_eq!(server.client().login("审核员", PASSWORD).status, 401);
    assert_eq!(server.client().login("审核员", "新的密码-2027").status, 200);

    setup.jixiao(&["user", "disable", "查看员"]);
    assert_eq!(server.client().login("查看员", PASSWORD).status, 401);
    let list = setup.jixiao(&["user", "list"]);
    assert!(
        list.contains("查看员\tviewer") && list.contains("turned off"),
        "{list}"
    );
}

#[test]
fn user_add_refuses_short_passwords_and_taken_names() {
    let setup = Setup::new();
    let out = std::process::Command::new(web_support::BIN)
        .args([
            "user",
            "add",
            "新人",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .current_dir(setup.root())
        .stdin(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = {
        let mut child = std::process::Command::new(web_support::BIN)
            .args([
                "user",
                "add",
                "新人",
                "--role",
                "viewer",
                "--password-stdin",
            ])
            .current_dir(setup.root())
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(child.stdin.take().unwrap(), "short").unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("too short"));
    let out = std::process::Command::new(web_support::BIN)
        .args([
            "user",
            "add",
            "审核员",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .current_dir(setup.root())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
}

#[test]
fn the_daemon_serves_the_console_when_web_is_configured() {
    let setup = Setup::new();
    let server = setup.watch_with_console();
    assert!(server.wait_for_log(
        "ready: watching for forms",
        std::time::Duration::from_secs(30)
    ));
    let c = server.login("查看员");
    assert_eq!(c.get("/audit").status, 200);
}

#[test]
fn an_odd_address_gets_the_consoles_own_answer() {
    let setup = Setup::new();
    let server = setup.serve();
    let c = server.login("审核员");
    for path in [
        "/mail/abc",
        "/signoff/abc",
        "/signoff/abc/preview.docx",
        "/submissions/abc",
        "/mail/99999999999999999999",
    ] {
        let page = c.get(path);
        assert_eq!(page.status, 404, "{path}: {}", page.body);
        assert!(
            page.body.contains("没有这个页面或记录"),
            "{path}: {}",
            page.body
        );
    }
    let page = c.get("/audit?limit=abc");
    assert_eq!(page.status, 200, "{}", page.body);
}
