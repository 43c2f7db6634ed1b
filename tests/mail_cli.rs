//! Mail through the `jixiao` binary: `jixiao outbox` (list, retry, deliver), STARTTLS and implicit
//! TLS with authentication against the test SMTP server, and a process killed between the server
//! accepting a message and the outbox recording it.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use jixiao::mail::Status;
use jixiao::runtime::ABORT_AFTER_ACCEPT_ENV;
use support::smtp::{Reply, SmtpServer, Stage, TlsMode, tls_config};
use support::*;

const PASSWORD_ENV: &str = "JIXIAO_TEST_SMTP_PASSWORD";

fn jixiao(args: &[&str], env: &[(&str, &str)]) -> Output {
    jixiao_in(&std::env::temp_dir(), args, env)
}

fn jixiao_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jixiao"));
    c.current_dir(dir).args(args).env("JIXIAO_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// The `[mail]` table for the test server, in a configuration file as the daemon will have it.
fn mail_config(st: &State, port: u16, security: &str, extra: &str) -> std::path::PathBuf {
    let path = st.path("jixiao.toml");
    write(
        &path,
        &format!(
            r#"# other tables of the daemon's configuration are ignored by `outbox deliver`
[mail]
message_id_domain = "czt.jl.gov.cn"

[mail.smtp]
host = "127.0.0.1"
port = {port}
security = "{security}"
from = "{FROM}"
hello_name = "jixiao.test"
connect_timeout_secs = 2
command_timeout_secs = 5
{extra}

[mail.retry]
first_delay_secs = 1
max_delay_secs = 10
max_attempts = 5
"#
        ),
    );
    path
}

/// `jixiao outbox deliver`, run in the state's temporary folder (so that an aborted child leaves
/// any core file there).
fn deliver(db: &Path, config: &Path, env: &[(&str, &str)]) -> Output {
    jixiao_in(
        db.parent().unwrap(),
        &[
            "outbox",
            "deliver",
            "--state",
            db.to_str().unwrap(),
            "--mail-config",
            config.to_str().unwrap(),
        ],
        env,
    )
}

#[test]
fn killed_between_server_accept_and_state_record_sends_at_most_one_duplicate() {
    let server = SmtpServer::start();
    let mut st = State::new();
    let id = st.enqueue(&letter("S-kill"), t0());
    let config = mail_config(&st, server.port(), "none", "");

    // The process dies right after the server's 250, before the outbox records it.
    let out = deliver(&st.db, &config, &[(ABORT_AFTER_ACCEPT_ENV, "1")]);
    assert!(
        !out.status.success(),
        "the child aborted: {}",
        text(&out.stderr)
    );
    assert_eq!(server.received().len(), 1, "the server has the message");
    let row = st.row(id);
    assert_eq!(row.status, Status::Sending, "the state never learned it");

    // Restarted: the half-done message is sent again, with the same bytes and Message-ID.
    let out = deliver(&st.db, &config, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = server.received();
    assert_eq!(got.len(), 2, "exactly one duplicate");
    assert_eq!(got[0].data, got[1].data, "byte-identical");
    let a = parse(&got[0].data).message_id().unwrap().to_string();
    let b = parse(&got[1].data).message_id().unwrap().to_string();
    assert_eq!(a, b);
    let row = st.row(id);
    assert_eq!(row.status, Status::Sent);
    assert_eq!(row.message_id.as_deref(), Some(format!("<{a}>").as_str()));

    // And never again.
    let out = deliver(&st.db, &config, &[]);
    assert!(out.status.success());
    assert_eq!(server.received().len(), 2);
}

#[test]
fn starttls_with_authentication() {
    let (tls, ca) = tls_config();
    let login = Some(("jxc".to_string(), "口令-secret".to_string()));
    let server = SmtpServer::start_on(0, TlsMode::Starttls(tls), login);
    let mut st = State::new();
    write(&st.path("ca.pem"), &ca);
    let id = st.enqueue(&letter("S-starttls"), t0());
    let extra = format!(
        "username = \"jxc\"\npassword_env = \"{PASSWORD_ENV}\"\nca_file = \"{}\"",
        st.path("ca.pem").display()
    );
    let config = mail_config(&st, server.port(), "starttls", &extra);

    // Without the password in the environment: a configuration error, nothing sent.
    let out = deliver(&st.db, &config, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(PASSWORD_ENV),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(server.sessions(), 0);

    let out = deliver(&st.db, &config, &[(PASSWORD_ENV, "口令-secret")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls, "sent after STARTTLS");
    assert_eq!(got[0].auth_user.as_deref(), Some("jxc"));
    assert_eq!(parse(&got[0].data).subject(), Some(SUBJECT));
    assert_eq!(st.row(id).status, Status::Sent);
}

#[test]
fn implicit_tls_with_authentication_and_a_wrong_password_is_retried_not_lost() {
    let (tls, ca) = tls_config();
    let login = Some(("jxc".to_string(), "right".to_string()));
    let server = SmtpServer::start_on(0, TlsMode::Implicit(tls), login);
    let mut st = State::new();
    write(&st.path("ca.pem"), &ca);
    let id = st.enqueue(&letter("S-tls"), t0());
    let extra = format!(
        "username = \"jxc\"\npassword_env = \"{PASSWORD_ENV}\"\nca_file = \"{}\"",
        st.path("ca.pem").display()
    );
    let config = mail_config(&st, server.port(), "tls", &extra);

    let out = deliver(&st.db, &config, &[(PASSWORD_ENV, "wrong")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let row = st.row(id);
    assert_eq!(
        row.status,
        Status::Queued,
        "an AUTH refusal is our configuration, not the message"
    );
    assert!(row.last_error.unwrap().contains("535"));

    // The administrator corrects the password and sends it now rather than after the backoff.
    let db = st.db.display().to_string();
    let out = jixiao_in(
        st.dir.path(),
        &["outbox", "--state", &db, "retry", &id.to_string()],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = deliver(&st.db, &config, &[(PASSWORD_ENV, "right")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert_eq!(st.row(id).status, Status::Sent);
}

#[test]
fn tls_to_a_server_with_an_untrusted_certificate_is_not_sent() {
    let (tls, _ca) = tls_config();
    let server = SmtpServer::start_on(0, TlsMode::Implicit(tls), None);
    let mut st = State::new();
    let id = st.enqueue(&letter("S-untrusted"), t0());
    let config = mail_config(&st, server.port(), "tls", "");
    let out = deliver(&st.db, &config, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(server.received().is_empty());
    let row = st.row(id);
    assert_eq!(row.status, Status::Queued);
    assert!(
        row.last_error
            .unwrap()
            .to_lowercase()
            .contains("certificate")
    );
}

#[test]
fn outbox_lists_and_retries() {
    let server = SmtpServer::start();
    server.script(
        Stage::Rcpt,
        Reply::Line("550 5.1.1 mailbox unavailable".into()),
        Some(1),
    );
    let mut st = State::new();
    let failed = st.enqueue(&letter("S-failed"), t0());
    let sent = st.enqueue(&letter("S-sent"), t0());
    let config = mail_config(&st, server.port(), "none", "");
    let out = deliver(&st.db, &config, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed message makes the exit code 1"
    );
    assert!(
        text(&out.stdout).contains("已发送1封"),
        "{}",
        text(&out.stdout)
    );
    let queued = st.enqueue(&letter("S-queued"), chrono::Utc::now() + secs(3600));
    let db = st.db.to_str().unwrap();

    let out = jixiao(&["outbox", "--state", db], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&out.stdout);
    assert!(
        list.contains(&format!("#{failed}")) && list.contains("发送失败"),
        "{list}"
    );
    assert!(list.contains("550 5.1.1 mailbox unavailable"), "{list}");
    assert!(
        list.contains(&format!("#{sent}")) && list.contains("已发送"),
        "{list}"
    );
    assert!(
        list.contains(&format!("#{queued}")) && list.contains("待发送"),
        "{list}"
    );
    assert!(list.contains(LETTER_NAME), "{list}");
    assert!(
        list.contains("共3封：待发送1封，已发送1封，发送失败1封"),
        "{list}"
    );

    let out = jixiao(
        &["outbox", "--state", db, "--status", "failed", "--json"],
        &[],
    );
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], failed);
    assert_eq!(rows[0]["status"], "failed");
    assert_eq!(rows[0]["reference"], "S-failed");
    assert_eq!(rows[0]["attachments"][0], LETTER_NAME);

    let out = jixiao(
        &["outbox", "retry", &failed.to_string(), "--state", db],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(st.row(failed).status, Status::Queued);
    let out = deliver(&st.db, &config, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(st.row(failed).status, Status::Sent);
    assert_eq!(server.received().len(), 2);

    let out = jixiao(&["outbox", "retry", "999", "--state", db], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("999"));
    let missing = st.path("missing.db");
    let out = jixiao(&["outbox", "--state", missing.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!missing.exists(), "listing never creates a database");
}

/// A daemon's configuration in the state's folder: one department (`nyt`), the finance office
/// at `finance`, mail to the test server with `smtp_extra` in `[mail.smtp]`.
fn daemon_config(st: &State, port: u16, finance: &str, smtp_extra: &str) -> std::path::PathBuf {
    let path = st.path("daemon.toml");
    write(
        &path,
        &format!(
            r#"root = "收件"
state_dir = "state"

[finance]
name = "吉林省财政厅绩效管理处"
emails = ["{finance}"]
copy_letters = true

[[departments]]
name = "吉林省农业农村厅"
code = "nyt"
folder = "农业农村厅"
emails = ["zhangming@nyt.jl.gov.cn"]

[mail]
message_id_domain = "czt.jl.gov.cn"

[mail.smtp]
host = "127.0.0.1"
port = {port}
security = "none"
from = "{FROM}"
hello_name = "jixiao.test"
connect_timeout_secs = 2
command_timeout_secs = 5
{smtp_extra}

[mail.retry]
first_delay_secs = 1
max_delay_secs = 10
max_attempts = 5
"#
        ),
    );
    std::fs::create_dir_all(st.path("state")).unwrap();
    path
}

/// The state database of [`daemon_config`], with a letter to the department queued at `at`.
fn daemon_state(st: &State, finance: &str, at: chrono::DateTime<chrono::Utc>) -> (Db, i64) {
    let mut db = Db(jixiao::store::open(&st.path("state").join("jixiao.db")).unwrap());
    let mut msg = letter("S-daemon");
    msg.to = vec!["zhangming@nyt.jl.gov.cn".into()];
    msg.cc = vec![finance.into()];
    msg.department = Some("nyt".into());
    msg.kind = "target_review".into();
    let tx = db.0.transaction().unwrap();
    let id = jixiao::mail::outbox::enqueue(&tx, &msg, at).unwrap();
    tx.commit().unwrap();
    (db, id)
}

struct Db(rusqlite::Connection);

impl Db {
    fn row(&self, id: i64) -> jixiao::mail::OutboxRow {
        jixiao::mail::outbox::get(&self.0, id).unwrap()
    }
}

#[test]
fn a_refused_copy_address_is_fixed_in_the_configuration_and_the_retry_goes_there() {
    let server = SmtpServer::start();
    // The first recipient is taken, the second (the finance office's copy) refused.
    server.script(Stage::Rcpt, Reply::Slow(std::time::Duration::ZERO), Some(1));
    server.script(
        Stage::Rcpt,
        Reply::Line("550 5.1.1 no such mailbox".into()),
        Some(1),
    );
    let st = State::new();
    let config = daemon_config(&st, server.port(), "jxc@old.czt.jl.gov.cn", "");
    let (db, id) = daemon_state(&st, "jxc@old.czt.jl.gov.cn", chrono::Utc::now());
    let cfg = config.to_str().unwrap();
    let out = jixiao_in(st.dir.path(), &["outbox", "deliver", "--config", cfg], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(db.row(id).status, Status::Failed);
    let message_id = db.row(id).message_id.unwrap();

    // The administrator corrects finance.emails and retries the letter.
    let fixed = std::fs::read_to_string(&config)
        .unwrap()
        .replace("jxc@old.czt.jl.gov.cn", "jxc@czt.jl.gov.cn");
    write(&config, &fixed);
    let out = jixiao_in(
        st.dir.path(),
        &["outbox", "retry", &id.to_string(), "--config", cfg],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("已按当前配置重新排队") && said.contains("抄送：jxc@czt.jl.gov.cn"),
        "{said}"
    );
    let out = jixiao_in(st.dir.path(), &["outbox", "--config", cfg], &[]);
    let list = text(&out.stdout);
    assert!(
        list.contains("zhangming@nyt.jl.gov.cn") && list.contains("抄送：jxc@czt.jl.gov.cn"),
        "{list}"
    );
    assert!(!list.contains("old.czt"), "{list}");

    let out = jixiao_in(st.dir.path(), &["outbox", "deliver", "--config", cfg], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].rcpt_to,
        ["zhangming@nyt.jl.gov.cn", "jxc@czt.jl.gov.cn"]
    );
    let m = parse(&got[0].data);
    assert_eq!(addresses(m.cc()), ["jxc@czt.jl.gov.cn"]);
    assert_eq!(Some(message_id.trim_matches(['<', '>'])), m.message_id());
    assert_eq!(m.subject(), Some(SUBJECT));

    // Sent: retrying it again is refused and sends nothing.
    let out = jixiao_in(
        st.dir.path(),
        &["outbox", "retry", &id.to_string(), "--config", cfg],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("sent already"),
        "{}",
        text(&out.stderr)
    );
    let out = jixiao_in(st.dir.path(), &["outbox", "deliver", "--config", cfg], &[]);
    assert!(out.status.success());
    assert_eq!(server.received().len(), 1);
    assert_eq!(db.row(id).status, Status::Sent);
}

#[test]
fn status_and_outbox_need_no_smtp_password_only_sending_does() {
    let server = SmtpServer::start();
    let st = State::new();
    let unset = "JIXIAO_TEST_PASSWORD_NOT_SET";
    let extra = format!("username = \"jxc\"\npassword_env = \"{unset}\"");
    let config = daemon_config(&st, server.port(), "jxc@czt.jl.gov.cn", &extra);
    let (db, id) = daemon_state(&st, "jxc@czt.jl.gov.cn", chrono::Utc::now());
    let cfg = config.to_str().unwrap();
    for args in [
        &["status", "--config", cfg][..],
        &["outbox", "--config", cfg][..],
        &["outbox", "--status", "queued", "--config", cfg][..],
    ] {
        let out = jixiao_in(st.dir.path(), args, &[]);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let out = jixiao_in(st.dir.path(), &["outbox", "--config", cfg], &[]);
    assert!(text(&out.stdout).contains(&format!("#{id}")));
    let out = jixiao_in(st.dir.path(), &["outbox", "deliver", "--config", cfg], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(unset), "{}", text(&out.stderr));
    assert_eq!(server.sessions(), 0);
    assert_eq!(db.row(id).status, Status::Queued);
}

/// A `jixiao watch` child process, stopped with SIGTERM when dropped.
struct Daemon(std::process::Child);

impl Daemon {
    fn start(dir: &Path, config: &Path) -> Daemon {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_jixiao"))
            .current_dir(dir)
            .args(["watch", "--config", config.to_str().unwrap()])
            .env("JIXIAO_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("ready: watching for forms") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("the daemon says it is ready");
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn while_the_daemon_runs_outbox_deliver_is_refused_and_retry_is_sent_by_the_daemon() {
    let server = SmtpServer::start();
    let st = State::new();
    let config = daemon_config(&st, server.port(), "jxc@czt.jl.gov.cn", "");
    // Deferred for an hour after a temporary failure.
    let later = chrono::Utc::now() + chrono::Duration::seconds(3600);
    let (db, id) = daemon_state(&st, "jxc@czt.jl.gov.cn", later);
    let cfg = config.to_str().unwrap();
    let daemon = Daemon::start(st.dir.path(), &config);

    let out = jixiao_in(st.dir.path(), &["outbox", "deliver", "--config", cfg], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("jixiao watch is running"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(db.row(id).status, Status::Queued);
    assert!(server.received().is_empty());

    // A person wants it sent now: the running daemon sends it, without being restarted.
    let out = jixiao_in(
        st.dir.path(),
        &["outbox", "retry", &id.to_string(), "--config", cfg],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while server.received().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(server.received().len(), 1);
    drop(daemon);
    assert_eq!(db.row(id).status, Status::Sent);
}

#[test]
fn a_failed_message_of_an_unknown_department_keeps_its_recipients_on_retry() {
    let server = SmtpServer::start();
    server.script(
        Stage::Rcpt,
        Reply::Line("550 5.1.1 no such mailbox".into()),
        Some(1),
    );
    let st = State::new();
    let config = daemon_config(&st, server.port(), "jxc@czt.jl.gov.cn", "");
    let (db, id) = daemon_state(&st, "jxc@czt.jl.gov.cn", chrono::Utc::now());
    // Queued before messages remembered their department.
    db.0.execute(
        "UPDATE mail_outbox SET department = NULL WHERE id = ?1",
        [id],
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let out = jixiao_in(st.dir.path(), &["outbox", "deliver", "--config", cfg], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let fixed = std::fs::read_to_string(&config).unwrap().replace(
        "emails = [\"jxc@czt.jl.gov.cn\"]",
        "emails = [\"jxc2@czt.jl.gov.cn\"]",
    );
    write(&config, &fixed);
    let out = jixiao_in(
        st.dir.path(),
        &["outbox", "retry", &id.to_string(), "--config", cfg],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("收件人不变"),
        "{}",
        text(&out.stdout)
    );
    let row = db.row(id);
    assert_eq!(row.status, Status::Queued);
    let shown = serde_json::to_value(&row).unwrap();
    assert_eq!(shown["to"][0], "zhangming@nyt.jl.gov.cn");
    assert_eq!(shown["cc"][0], "jxc@czt.jl.gov.cn");
}
