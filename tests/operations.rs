//! Running jixiao as an office's service, from outside: how every command finds the setup,
//! `status` for an operator (and `--json` for monitoring), logs fit for a log file, output into
//! a closed pipe, a department added later, the example's defaults and every `--help` line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

/// The binary in `dir`, with no configuration given by the environment.
fn jixiao(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jixiao"));
    cmd.current_dir(dir)
        .env_remove("JIXIAO_CONFIG")
        .env_remove("JIXIAO_LOG_STYLE")
        .env("JIXIAO_LOG", "info")
        .stdin(Stdio::null());
    cmd
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Ran {
    let out = cmd.output().unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A folder where `jixiao watch --once` made the example setup in `./jixiao-data`.
fn first_use() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(jixiao(tmp.path()).args(["watch", "--once"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(tmp.path().join("jixiao-data/jixiao.toml").is_file());
    tmp
}

#[test]
fn every_command_finds_the_example_setup_and_says_which_it_uses() {
    let tmp = first_use();
    let dir = tmp.path();
    for args in [
        vec!["status"],
        vec!["history", "无此项目"],
        vec!["approve", "无此项目"],
        vec!["outbox"],
        vec!["consolidate", "--year", "2026"],
    ] {
        let r = run(jixiao(dir).args(&args));
        assert!(
            r.code == 0 || r.code == 1,
            "{args:?} failed: {}{}",
            r.stdout,
            r.stderr
        );
        assert!(
            r.stderr
                .lines()
                .any(|l| l.contains("using the configuration")
                    && l.contains("jixiao-data/jixiao.toml")),
            "{args:?} does not say which configuration it uses: {}",
            r.stderr
        );
    }
    assert!(
        dir.join("jixiao-data/reports/绩效汇总-2026.xlsx").is_file(),
        "consolidate wrote the summary where the found configuration says"
    );

    // ./jixiao.toml comes before ./jixiao-data/jixiao.toml, JIXIAO_CONFIG before both and
    // --config before everything.
    let here = dir.join("jixiao.toml");
    std::fs::write(
        &here,
        std::fs::read_to_string(dir.join("jixiao-data/jixiao.toml"))
            .unwrap()
            .replace("root = \"收件\"", "root = \"jixiao-data/收件\"")
            .replace("state_dir = \"state\"", "state_dir = \"jixiao-data/state\""),
    )
    .unwrap();
    let r = run(jixiao(dir).arg("status"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("using the configuration ./jixiao.toml"),
        "{}",
        r.stderr
    );
    let other = tempfile::tempdir().unwrap();
    let r = run(jixiao(other.path())
        .arg("status")
        .env("JIXIAO_CONFIG", dir.join("jixiao-data/jixiao.toml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("(JIXIAO_CONFIG)"), "{}", r.stderr);
    let r = run(jixiao(dir)
        .args(["status", "--config", "nowhere.toml"])
        .env("JIXIAO_CONFIG", "jixiao.toml"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nowhere.toml"), "{}", r.stderr);

    // Nothing found: a message that says where it looked, and no example setup made.
    let r = run(jixiao(other.path()).arg("status"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("JIXIAO_CONFIG") && r.stderr.contains("jixiao-data/jixiao.toml"),
        "{}",
        r.stderr
    );
    assert!(!other.path().join("jixiao-data").exists());
}

#[test]
fn watch_uses_the_setup_it_finds_and_creates_the_example_only_when_none() {
    let tmp = first_use();
    let dir = tmp.path();
    // A second run uses the example setup made by the first, from ./jixiao-data.
    let r = run(jixiao(dir).args(["watch", "--once"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("created an example setup"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("using the configuration ./jixiao-data/jixiao.toml"),
        "{}",
        r.stderr
    );
    // Given one through JIXIAO_CONFIG, watch makes no example setup in the working folder.
    let other = tempfile::tempdir().unwrap();
    let r = run(jixiao(other.path())
        .args(["watch", "--once"])
        .env("JIXIAO_CONFIG", dir.join("jixiao-data/jixiao.toml")));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!other.path().join("jixiao-data").exists());
}

#[test]
fn consolidate_refuses_a_year_that_cannot_be_one() {
    let tmp = first_use();
    for year in ["26", "0", "99999"] {
        let r = run(jixiao(tmp.path()).args(["consolidate", "--year", year]));
        assert_eq!(r.code, 2, "year {year}: {}", r.stdout);
        assert!(r.stderr.contains("2000"), "{}", r.stderr);
    }
    let reports = tmp.path().join("jixiao-data/reports");
    let written: Vec<_> = std::fs::read_dir(&reports)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn status_json_answers_an_operator_without_the_smtp_password() {
    let tmp = first_use();
    let dir = tmp.path();
    let data = dir.join("jixiao-data");
    let inbox = data.join("收件/农业农村厅");
    std::fs::copy(
        fixture("examples/退回示例-资金合计不符.xlsx"),
        inbox.join("退回示例-资金合计不符.xlsx"),
    )
    .unwrap();
    std::fs::write(data.join("收件/说明.txt"), "不在任何部门的文件夹里").unwrap();
    let r = run(jixiao(dir).args(["watch", "--once"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Then a real SMTP setup whose password is not in the environment: the daemon needs it,
    // status does not.
    let cfg = data.join("jixiao.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "outbox_dir = \"outbox\"",
        "outbox_dir = \"outbox\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = 9\nusername = \"jixiao\"\npassword_env = \"JIXIAO_TEST_NO_SUCH_PASSWORD\"\nfrom = \"绩效管理处 <jixiao@czt.jl.example.cn>\"",
    );
    std::fs::write(&cfg, text).unwrap();

    // A file the daemon was reading twice when it died.
    let db = rusqlite::Connection::open(data.join("state/jixiao.db")).unwrap();
    db.execute(
        "INSERT INTO judging (department, sha256, inbox_path, tries, updated_at) \
         VALUES ('jyt', 'ab', '教育厅/大文件.xlsx', 2, '2026-11-30T10:00:00.000+08:00')",
        [],
    )
    .unwrap();
    drop(db);

    let r = run(jixiao(dir)
        .args(["status", "--json"])
        .env_remove("JIXIAO_TEST_NO_SUCH_PASSWORD"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["daemon"]["running"], false);
    assert!(v["config"].as_str().unwrap().ends_with("jixiao.toml"));
    assert_eq!(v["submissions"]["rejected"], 1, "{v}");
    let pending = v["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{v}");
    assert_eq!(pending[0]["kind"], "reading");
    assert_eq!(pending[0]["what"], "教育厅/大文件.xlsx");
    assert_eq!(pending[0]["attempts"], 2);
    assert_eq!(
        pending[0]["last_error"],
        "the daemon stopped while reading it"
    );
    let refused = v["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{v}");
    assert!(refused[0]["path"].as_str().unwrap().contains("说明.txt"));
    assert!(v["mail"]["queued"].is_u64(), "{v}");
    assert!(v["mail"]["failed"].as_array().unwrap().is_empty(), "{v}");
    assert!(v["disk"]["free_bytes"].as_u64().unwrap() > 0);
    assert!(
        v["disk"]["total_bytes"].as_u64().unwrap() >= v["disk"]["free_bytes"].as_u64().unwrap()
    );
    assert!(
        v["summary"]["path"].as_str().unwrap().ends_with(".xlsx"),
        "{v}"
    );
    assert!(v["summary"]["current"].is_boolean(), "{v}");
    assert_eq!(v["recent"].as_array().unwrap().len(), 1);

    // The human form says the same.
    let r = run(jixiao(dir).arg("status"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("daemon: not running"), "{}", r.stdout);
    assert!(
        r.stdout.contains("reading jyt 教育厅/大文件.xlsx")
            && r.stdout
                .contains("2 tries): the daemon stopped while reading it"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("free space"), "{}", r.stdout);
    assert!(r.stdout.contains("summary workbook"), "{}", r.stdout);

    // A workbook written now is current until the next submission.
    let r = run(jixiao(dir).arg("consolidate"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&run(jixiao(dir).args(["status", "--json"])).stdout).unwrap();
    assert_eq!(v["summary"]["exists"], true, "{v}");
    assert_eq!(v["summary"]["current"], true, "{v}");
}

#[test]
fn status_says_when_the_daemon_runs() {
    use std::io::BufRead;
    let tmp = first_use();
    let dir = tmp.path();
    let mut child = jixiao(dir)
        .arg("watch")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("ready: watching for forms") {
            break;
        }
    }
    let r = run(jixiao(dir).args(["status", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // A second daemon refuses before it prints where forms go.
    let second = run(jixiao(dir).arg("watch"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert_eq!(v["daemon"]["running"], true, "{v}");
    assert_ne!(second.code, 0);
    assert!(second.stderr.contains("another jixiao watch is running"));
    assert!(
        !second.stderr.contains("jixiao is watching"),
        "{}",
        second.stderr
    );
}

#[test]
fn logs_have_no_colour_codes_and_a_file_name_cannot_split_a_line() {
    let tmp = first_use();
    let dir = tmp.path();
    let inbox = dir.join("jixiao-data/收件/农业农村厅");
    let forged = "x\n2026-01-01T00:00:00Z  INFO jixiao: forged.xlsx";
    std::fs::copy(
        fixture("examples/退回示例-资金合计不符.xlsx"),
        inbox.join(forged),
    )
    .unwrap();
    let r = run(jixiao(dir).args(["watch", "--once"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    assert!(
        r.stderr.contains("x\\n2026-01-01"),
        "the name is logged escaped: {}",
        r.stderr
    );
    assert!(
        !r.stderr
            .lines()
            .any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "{}",
        r.stderr
    );
    // Colour only when asked for.
    let r = run(jixiao(dir)
        .args(["watch", "--once"])
        .env("JIXIAO_LOG_STYLE", "color"));
    assert!(r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let tmp = first_use();
    let dir = tmp.path();
    // The reader closed its end before anything was written: the first write fails (EPIPE).
    let mut child = jixiao(dir)
        .arg("status")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
    let mut child = jixiao(dir)
        .args(["outbox"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn a_department_added_later_gets_its_blank_forms_at_the_next_start() {
    let tmp = first_use();
    let dir = tmp.path();
    let cfg = dir.join("jixiao-data/jixiao.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(
        "\n[[departments]]\nname = \"吉林省水利厅\"\ncode = \"slt\"\nfolder = \"水利厅\"\nemails = [\"jixiao@slt.jl.example.cn\"]\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let r = run(jixiao(dir).args(["watch", "--once"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let blank = dir.join("jixiao-data/收件/水利厅/空白表样");
    let names: Vec<String> = std::fs::read_dir(&blank)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names.iter().any(|n| n.contains("绩效目标申报表")),
        "{names:?}"
    );
}

#[test]
fn the_example_sender_says_it_is_an_example_and_message_ids_use_its_domain() {
    let tmp = first_use();
    let dir = tmp.path();
    let cfg = std::fs::read_to_string(dir.join("jixiao-data/jixiao.toml")).unwrap();
    assert!(!cfg.contains("localhost"));
    assert!(cfg.contains("example.invalid"), "{cfg}");
    let inbox = dir.join("jixiao-data/收件/农业农村厅");
    std::fs::copy(
        fixture("examples/退回示例-资金合计不符.xlsx"),
        inbox.join("a.xlsx"),
    )
    .unwrap();
    // Without an SMTP server the daemon writes its mail as .eml files.
    let mut child = jixiao(dir)
        .arg("watch")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let outbox = dir.join("jixiao-data/outbox");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let eml = loop {
        let found = std::fs::read_dir(&outbox).ok().and_then(|d| {
            d.flatten()
                .find(|e| e.path().extension().is_some_and(|x| x == "eml"))
        });
        if let Some(e) = found {
            break e.path();
        }
        assert!(std::time::Instant::now() < deadline, "no .eml written");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&std::fs::read(eml).unwrap()).into_owned();
    let header = |name: &str| {
        text.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(header("from").contains("@example.invalid"), "{text}");
    assert!(header("message-id").contains("@example.invalid>"), "{text}");
}

/// The option and argument lines of a `--help` text that have no description.
fn undescribed(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let mut bare = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let item = line.starts_with("  ")
            && (trimmed.starts_with('-') || trimmed.starts_with('<') || trimmed.starts_with('['));
        if !item {
            continue;
        }
        let described_here = trimmed.split("  ").filter(|p| !p.trim().is_empty()).count() >= 2;
        let indent = line.len() - trimmed.len();
        let described_below = lines.get(i + 1).is_some_and(|next| {
            let t = next.trim_start();
            !t.is_empty() && next.len() - t.len() > indent
        });
        if !described_here && !described_below {
            bare.push(line.to_string());
        }
    }
    bare
}

#[test]
fn every_option_and_argument_has_a_help_line() {
    let tmp = tempfile::tempdir().unwrap();
    let commands: &[&[&str]] = &[
        &[],
        &["check"],
        &["init"],
        &["watch"],
        &["status"],
        &["history"],
        &["approve"],
        &["revoke"],
        &["consolidate"],
        &["templates"],
        &["letter"],
        &["outbox"],
        &["outbox", "retry"],
        &["outbox", "deliver"],
    ];
    for args in commands {
        let r = run(jixiao(tmp.path()).args(*args).arg("--help"));
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        let bare = undescribed(&r.stdout);
        assert!(bare.is_empty(), "{args:?} --help: no text for {bare:?}");
    }
    let r = run(jixiao(tmp.path()).arg("--version"));
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("jixiao "), "{}", r.stdout);
}

#[test]
fn the_packaged_configuration_keeps_everything_under_var_lib_jixiao() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/jixiao.toml");
    let cfg = jixiao::config::Config::load(&path).unwrap();
    assert_eq!(cfg.database(), Path::new("/var/lib/jixiao/state/jixiao.db"));
    assert_eq!(cfg.reports_dir, Path::new("/var/lib/jixiao/reports"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("outbox_dir = \"/var/lib/jixiao/outbox\""),
        "the service cannot write under /etc"
    );
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/jixiao.service"),
    )
    .unwrap();
    assert!(unit.contains("\nExecStart=/usr/bin/jixiao --config /etc/jixiao/jixiao.toml watch\n"));
    assert!(unit.contains("\nUser=jixiao\n") && unit.contains("\nTimeoutStopSec=30\n"));
}

/// The packaged `/etc/jixiao/jixiao.toml` is the example setup with its folders under
/// `/var/lib/jixiao`: every other setting is the example's, so the two cannot drift apart.
#[test]
fn the_packaged_configuration_is_the_example_with_its_folders_in_var_lib() {
    let packaged = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/jixiao.toml"),
    )
    .unwrap();
    let mut packaged: toml::Table = toml::from_str(&packaged).unwrap();
    let mut example: toml::Table = toml::from_str(jixiao::config::EXAMPLE).unwrap();
    for key in ["root", "state_dir", "reports_dir", "decisions_dir"] {
        let path = packaged.remove(key).unwrap();
        let path = path.as_str().unwrap();
        assert!(path.starts_with("/var/lib/jixiao/"), "{key} = {path}");
        example.remove(key);
    }
    let outbox = |t: &mut toml::Table| {
        t.get_mut("mail")
            .and_then(|m| m.as_table_mut())
            .and_then(|m| m.remove("outbox_dir"))
    };
    assert_eq!(
        outbox(&mut packaged).as_ref().and_then(|v| v.as_str()),
        Some("/var/lib/jixiao/outbox")
    );
    outbox(&mut example);
    assert_eq!(packaged, example);
}
