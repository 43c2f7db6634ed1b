//! Shared helpers of the web console's tests: an example setup in a temporary folder, accounts of
//! each role, the real binary serving the console (`jixiao serve`, or `jixiao watch` with `[web]`)
//! on a free port, and a cookie-keeping HTTP client that logs in and posts forms with the page's
//! CSRF token.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
pub const BIN: &str = env!("CARGO_BIN_EXE_jixiao");

/// The password every test account gets.
pub const PASSWORD: &str = "测试密码-2026";

/// An example setup (`jixiao init`) with three accounts: `查看员` (viewer), `审核员` (reviewer),
/// `管理员` (admin).
pub struct Setup {
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let setup = Setup { dir };
        setup.jixiao(&["init", "."]);
        // The example setup serves the console on 127.0.0.1:8480; tests take any free port.
        setup.edit_config("listen = \"127.0.0.1:8480\"", "listen = \"127.0.0.1:0\"");
        // A file that is no workbook is answered after 2 s instead of the two minutes a copy over
        // a slow share may need (the console's tests do not test settling).
        setup.edit_config("unreadable_retry_ms = 10000", "unreadable_retry_ms = 500");
        setup.edit_config("settle_ms = 120000", "settle_ms = 2000");
        for (name, role) in [
            ("查看员", "viewer"),
            ("审核员", "reviewer"),
            ("管理员", "admin"),
        ] {
            setup.add_user(name, role, PASSWORD);
        }
        setup
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.root().join("jixiao.toml")
    }

    /// Appends TOML to jixiao.toml (e.g. `[letters]` keys must go into their table: use
    /// [`Setup::edit_config`] for those).
    pub fn append_config(&self, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.config())
            .unwrap();
        writeln!(f, "\n{text}").unwrap();
    }

    /// Replaces text in jixiao.toml; panics when `from` is not there.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.config()).unwrap();
        assert!(text.contains(from), "jixiao.toml has no {from:?}");
        std::fs::write(self.config(), text.replacen(from, to, 1)).unwrap();
    }

    /// Runs `jixiao ARGS` in the setup's folder; panics unless it succeeds; returns stdout.
    pub fn jixiao(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(self.root())
            .env("JIXIAO_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "jixiao {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn add_user(&self, name: &str, role: &str, password: &str) {
        let mut child = Command::new(BIN)
            .args(["user", "add", name, "--role", role, "--password-stdin"])
            .current_dir(self.root())
            .env("JIXIAO_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        assert!(child.wait().unwrap().success());
    }

    /// Copies a fixture (path under tests/fixtures) into a department's folder (`农业农村厅`,
    /// `教育厅`) under `name`.
    pub fn drop_form(&self, fixture: &str, department_folder: &str, name: &str) -> PathBuf {
        let to = self.root().join("收件").join(department_folder).join(name);
        std::fs::copy(Path::new(FIXTURES).join(fixture), &to).unwrap();
        to
    }

    /// Processes everything waiting (`jixiao watch --once`).
    pub fn process(&self) {
        self.jixiao(&["watch", "--once"]);
    }

    /// The state database, for checking what an action recorded.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.root().join("state/jixiao.db")).unwrap()
    }

    /// `jixiao serve` on a free port.
    pub fn serve(&self) -> Server {
        Server::start(self, &["serve", "--listen", "127.0.0.1:0"])
    }

    /// `jixiao watch` serving the console (`[web] listen` on a free port, as [`Setup::new`] set).
    pub fn watch_with_console(&self) -> Server {
        Server::start(self, &["watch"])
    }
}

/// The binary serving the console; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    /// The lines it logged so far (after the `listening` line, read on demand).
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    fn start(setup: &Setup, args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(setup.root())
            .env("JIXIAO_LOG", "info")
            .env("JIXIAO_LOG_STYLE", "plain")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("url=").nth(1) {
                    let _ = tx.send(url.trim().trim_end_matches('/').to_string());
                }
                keep.lock().unwrap().push(line);
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the console did not say where it listens");
        Server { child, url, log }
    }

    /// What it logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until it has logged a line containing `text`.
    pub fn wait_for_log(&self, text: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.log().iter().any(|l| l.contains(text)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// A client not logged in.
    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    /// A client logged in as `name` with [`PASSWORD`].
    pub fn login(&self, name: &str) -> Client {
        let c = self.client();
        let res = c.login(name, PASSWORD);
        assert_eq!(res.status, 200, "login as {name}: {}", res.body);
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM, so a daemon stops its worker and sender; then make sure.
        unsafe {
            libc_kill(self.child.id() as i32, 15);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// An answer: status, final URL (after redirects), headers and body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub url: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Page {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        hidden(&self.body, "csrf").expect("the page has no CSRF token")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

/// The value of the hidden input `name` in `html`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let start = html.find(&needle)? + needle.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// The address of the first link whose attributes hold `marker` (e.g. `rel="next"`) and whose
/// address holds `within`, unescaped.
pub fn link(html: &str, marker: &str, within: &str) -> Option<String> {
    html.split("<a ")
        .skip(1)
        .map(|a| &a[..a.find('>').unwrap_or(a.len())])
        .filter(|attrs| attrs.contains(marker))
        .filter_map(|attrs| {
            let start = attrs.find("href=\"")? + 6;
            let end = attrs[start..].find('"')?;
            Some(unescape(&attrs[start..start + end]))
        })
        .find(|href| href.contains(within))
}

/// Text as a browser reads it from HTML escaped the way the console's templates escape it.
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser-like HTTP client: keeps cookies, follows redirects.
pub struct Client {
    pub base: String,
    pub http: reqwest::blocking::Client,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_string(),
            http: reqwest::blocking::Client::builder()
                .cookie_store(true)
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    fn page(res: reqwest::blocking::Response) -> Page {
        let status = res.status().as_u16();
        let url = res.url().to_string();
        let headers = res.headers().clone();
        let bytes = res.bytes().unwrap().to_vec();
        Page {
            status,
            url,
            headers,
            body: String::from_utf8_lossy(&bytes).to_string(),
            bytes,
        }
    }

    pub fn get(&self, path: &str) -> Page {
        Self::page(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .unwrap(),
        )
    }

    /// Posts a form as it is (no CSRF token added).
    pub fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::page(
            self.http
                .post(format!("{}{path}", self.base))
                .form(fields)
                .send()
                .unwrap(),
        )
    }

    /// Posts a form with the CSRF token of the page `from` (as a browser would).
    pub fn post(&self, from: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(from).csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all)
    }

    /// Posts a file upload (multipart) with the CSRF token of the page `from`.
    pub fn upload(
        &self,
        from: &str,
        path: &str,
        field: &str,
        file_name: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> Page {
        let token = self.get(from).csrf();
        let mut form = reqwest::blocking::multipart::Form::new().text("csrf", token);
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        form = form.part(
            field.to_string(),
            reqwest::blocking::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        Self::page(
            self.http
                .post(format!("{}{path}", self.base))
                .multipart(form)
                .send()
                .unwrap(),
        )
    }

    /// Logs in through the login page.
    pub fn login(&self, name: &str, password: &str) -> Page {
        let login = self.get("/login");
        let token = hidden(&login.body, "token").expect("the login page has a token");
        self.post_raw(
            "/login",
            &[
                ("token", &token),
                ("next", "/"),
                ("name", name),
                ("password", password),
            ],
        )
    }
}
