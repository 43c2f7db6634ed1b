//! `jixiao.toml`: the watched root, the departments and their contacts, the finance office, the
//! state database, folder names and intervals. Checked at start-up with messages that name the key.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::cycle::Calendar;
use crate::departments::{self, Department, Finance};
use crate::forms::definitions::Definitions;
use crate::inbox::{Folders, WatchSettings};
use crate::runtime::Clock;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The watched root: one sub-folder per department. Relative paths are relative to the
    /// configuration file.
    pub(crate) root: PathBuf,
    /// Database, archive copies and issued letters: a folder departments cannot reach.
    pub(crate) state_dir: PathBuf,
    /// Where the summary workbook is written.
    #[serde(default = "default_reports")]
    pub reports_dir: PathBuf,
    /// The finance office's folder for decision files (approvals); never a department's.
    #[serde(default = "default_decisions")]
    pub(crate) decisions_dir: PathBuf,
    /// Form definitions folder; the built-in definitions when absent.
    #[serde(default)]
    pub(crate) forms_dir: Option<PathBuf>,
    #[serde(default)]
    pub(crate) folders: Folders,
    #[serde(default)]
    pub(crate) watch: WatchSettings,
    /// `[summary]`: the summary workbook's refresh interval and mail schedule.
    #[serde(default)]
    pub summary: crate::summary::SummarySettings,
    pub finance: Finance,
    #[serde(default, rename = "departments")]
    pub departments: Vec<Department>,
    /// Each form's due date per year.
    #[serde(default)]
    pub(crate) deadlines: Vec<crate::cycle::Deadline>,
    #[serde(default)]
    pub(crate) reminders: crate::cycle::ReminderSettings,
    /// The issuing office, its 机关代字, 抄送 and signature, budget use by grade.
    #[serde(default)]
    pub(crate) letters: crate::letters::LetterSettings,
    /// Letter templates folder; the built-in `letters/` when absent.
    #[serde(default)]
    pub(crate) letters_dir: Option<PathBuf>,
    /// Mail delivery; with no `[mail.smtp]`, messages are written as `.eml` files.
    #[serde(default)]
    pub(crate) mail: crate::mail::MailSettings,
    /// `[limits]`: what the worker that reads one file may spend on it.
    #[serde(default)]
    pub(crate) limits: crate::worker::WorkerLimits,
    /// `[web]`: the web console. With it, the daemon serves the console; without it, only
    /// `jixiao serve` does.
    #[serde(default)]
    pub(crate) web: Option<WebSettings>,
    /// Where the file was read from (for messages and relative paths).
    #[serde(skip)]
    pub(crate) file: PathBuf,
}

fn default_decisions() -> PathBuf {
    PathBuf::from("决定")
}

fn default_reports() -> PathBuf {
    PathBuf::from("reports")
}

impl Config {
    /// What signing a held letter needs of the service: the configuration's parts and what it
    /// loaded.
    pub(crate) fn office<'a>(
        &'a self,
        letters: &'a crate::letters::Letters,
        defs: &'a Definitions,
    ) -> crate::cycle::signoff::Office<'a> {
        crate::cycle::signoff::Office {
            finance: &self.finance,
            departments: &self.departments,
            settings: &self.letters,
            letters,
            defs,
            root: &self.root,
        }
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration {}", path.display()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Config> {
        let mut cfg: Config = crate::util::parse_toml(text, &path.display().to_string())?;
        cfg.file = path.to_path_buf();
        // Paths are made absolute: file-system events report absolute paths.
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
        let base = base.as_path();
        for p in [
            &mut cfg.root,
            &mut cfg.state_dir,
            &mut cfg.reports_dir,
            &mut cfg.decisions_dir,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        for f in [&mut cfg.forms_dir, &mut cfg.letters_dir]
            .into_iter()
            .flatten()
        {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        if cfg.mail.outbox_dir.is_relative() {
            cfg.mail.outbox_dir = base.join(&cfg.mail.outbox_dir);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let file = self.file.display();
        if self.departments.is_empty() {
            bail!("{file}: no [[departments]]: list at least one department");
        }
        let mut codes = HashSet::new();
        let mut folders = HashSet::new();
        for (i, d) in self.departments.iter().enumerate() {
            let key = format!("departments[{i}]");
            if d.name.trim().is_empty() {
                bail!("{file}: {key}.name is empty");
            }
            if d.code.is_empty()
                || !d
                    .code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!(
                    "{file}: {key}.code \"{}\" must be letters, digits, - or _",
                    d.code
                );
            }
            if !codes.insert(d.code.clone()) {
                bail!("{file}: {key}.code \"{}\" is used twice", d.code);
            }
            check_folder_name(&d.folder)
                .with_context(|| format!("{file}: {key}.folder \"{}\"", d.folder))?;
            if !folders.insert(d.folder.clone()) {
                bail!("{file}: {key}.folder \"{}\" is used twice", d.folder);
            }
            for e in &d.emails {
                check_email(e).with_context(|| format!("{file}: {key}.emails"))?;
            }
        }
        for e in &self.finance.emails {
            check_email(e).with_context(|| format!("{file}: finance.emails"))?;
        }
        for (key, name) in [
            ("folders.accepted", &self.folders.accepted),
            ("folders.returned", &self.folders.returned),
            ("folders.templates", &self.folders.templates),
        ] {
            check_folder_name(name).with_context(|| format!("{file}: {key} \"{name}\""))?;
        }
        let f = &self.folders;
        if f.accepted == f.returned || f.accepted == f.templates || f.returned == f.templates {
            bail!("{file}: folders.accepted, folders.returned and folders.templates must differ");
        }
        if self.watch.stable_ms == 0 {
            bail!("{file}: watch.stable_ms must be more than 0");
        }
        if self.watch.poll && self.watch.poll_ms == 0 {
            bail!("{file}: watch.poll_ms must be more than 0");
        }
        self.summary
            .validate()
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        for (i, d) in self.deadlines.iter().enumerate() {
            if d.kind().is_none() {
                bail!(
                    "{file}: deadlines[{i}].form \"{}\" must be target_declaration, performance_report or self_evaluation",
                    d.form
                );
            }
        }
        self.letters
            .validate()
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        self.mail
            .validate()
            .map_err(|e| anyhow::anyhow!("{file}: [mail]: {e}"))?;
        self.check_office_folders()
    }

    /// The folders the finance office owns, by key: each lies outside `root` after resolving
    /// links, the decision and report folders do not hold this file, and no two mix contents.
    fn office_folders(&self) -> Vec<(&'static str, &Path)> {
        let mut out = vec![
            ("state_dir", self.state_dir.as_path()),
            ("reports_dir", self.reports_dir.as_path()),
            ("decisions_dir", self.decisions_dir.as_path()),
            ("mail.outbox_dir", self.mail.outbox_dir.as_path()),
        ];
        if let Some(f) = &self.forms_dir {
            out.push(("forms_dir", f));
        }
        if let Some(l) = &self.letters_dir {
            out.push(("letters_dir", l));
        }
        out
    }

    /// A department's folder is its identity and what it puts there is taken as its submission:
    /// a folder of the office reachable from `root` (directly or through a link) would let a
    /// department write decisions, read the archive or receive the summary as its own form.
    fn check_office_folders(&self) -> anyhow::Result<()> {
        let file = self.file.display();
        let parent = self
            .file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
        let shown = |p: &Path| {
            p.strip_prefix(&base)
                .ok()
                .filter(|r| !r.as_os_str().is_empty())
                .unwrap_or(p)
                .display()
                .to_string()
        };
        let root = resolve(&self.root);
        let folders: Vec<(&str, &Path, PathBuf)> = self
            .office_folders()
            .into_iter()
            .map(|(k, p)| (k, p, resolve(p)))
            .collect();
        for (key, path, real) in &folders {
            if real.starts_with(&root) {
                bail!(
                    "{file}: {key} \"{}\" leads into root ({}) after resolving links: {} is inside {}; \
                     every folder of the finance office must lie outside the departments' folders",
                    shown(path),
                    shown(&self.root),
                    real.display(),
                    root.display()
                );
            }
        }
        let config = resolve(&self.file);
        for (key, path, real) in &folders {
            let wrong = match *key {
                // Decision files are moved out of their folder once read; a summary workbook is
                // written over whatever has its name.
                "decisions_dir" | "reports_dir" => config.starts_with(real),
                _ => false,
            };
            if wrong {
                bail!(
                    "{file}: {key} \"{}\" holds this configuration file; give it a folder of its own",
                    shown(path)
                );
            }
        }
        // Decision files are every file in decisions_dir, and root's files are the departments':
        // neither may share a folder with anything else. The folders jixiao writes into must
        // differ, and nothing it writes may land among the forms or letter templates it reads.
        let writes = [
            "state_dir",
            "reports_dir",
            "decisions_dir",
            "mail.outbox_dir",
        ];
        for (i, (a, pa, ra)) in folders.iter().enumerate() {
            if *a == "decisions_dir" && (root.starts_with(ra) || ra.starts_with(&root)) {
                bail!(
                    "{file}: decisions_dir \"{}\" holds root ({}); give it a folder of its own",
                    shown(pa),
                    shown(&self.root)
                );
            }
            for (b, pb, rb) in &folders[i + 1..] {
                // decisions_dir holds nothing else and lies in no folder jixiao writes.
                let decisions = |d: &Path, k: &str, o: &Path| {
                    o.starts_with(d) || (writes.contains(&k) && d.starts_with(o))
                };
                let mixes = if *a == "decisions_dir" {
                    decisions(ra, b, rb)
                } else if *b == "decisions_dir" {
                    decisions(rb, a, ra)
                } else {
                    writes.contains(a) && writes.contains(b) && ra == rb
                };
                if mixes {
                    bail!(
                        "{file}: {a} \"{}\" and {b} \"{}\" are the same folder or one holds the other \
                         ({} and {} after resolving links); give each a folder of its own",
                        shown(pa),
                        shown(pb),
                        ra.display(),
                        rb.display()
                    );
                }
            }
        }
        Ok(())
    }

    /// The department whose folder is `name`.
    pub(crate) fn department_by_folder(&self, name: &str) -> Option<&Department> {
        departments::by_folder(&self.departments, name)
    }

    pub(crate) fn department_by_code(&self, code: &str) -> Option<&Department> {
        departments::by_code(&self.departments, code)
    }

    /// The year cycle's settings: deadlines, reminder days, the departments that owe forms.
    pub fn calendar(&self) -> Calendar<'_> {
        Calendar {
            deadlines: &self.deadlines,
            reminders: &self.reminders,
            departments: &self.departments,
            revision_days: self.letters.revision_days,
        }
    }

    /// What the summary workbook is made from, now.
    pub fn summary_scope<'a>(
        &'a self,
        defs: &'a Definitions,
        clock: &dyn Clock,
    ) -> crate::summary::Scope<'a> {
        crate::summary::Scope {
            departments: &self.departments,
            finance: &self.finance,
            calendar: self.calendar(),
            defs,
            temp_dir: Some(&self.state_dir),
            now: clock.now(),
            today: clock.today(),
        }
    }

    pub fn database(&self) -> PathBuf {
        self.state_dir.join("jixiao.db")
    }

    /// Whether a first-level sub-folder of a department's folder is one the daemon writes.
    pub(crate) fn is_output_folder(&self, name: &str) -> bool {
        name == self.folders.accepted
            || name == self.folders.returned
            || name == self.folders.templates
    }

    pub(crate) fn archive_dir(&self) -> PathBuf {
        self.state_dir.join("archive")
    }
}

/// Where a path leads once links are resolved: the nearest existing ancestor canonicalized, with
/// the part not yet created appended (its `..` taken off lexically, as creating it would).
fn resolve(path: &Path) -> PathBuf {
    use std::path::Component;
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parts: Vec<Component> = path.components().collect();
    for k in (1..=parts.len()).rev() {
        let existing: PathBuf = parts[..k].iter().collect();
        let Ok(mut out) = std::fs::canonicalize(&existing) else {
            continue;
        };
        for c in &parts[k..] {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(name) => out.push(name),
                _ => {}
            }
        }
        return out;
    }
    path
}

/// A folder name must be one plain path component.
fn check_folder_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.');
    if !ok {
        bail!("must be a plain folder name (no slashes, not hidden)");
    }
    Ok(())
}

/// An address must be one the outbox accepts: the same check, so an address that passes here
/// never fails the transaction that records a letter.
fn check_email(e: &str) -> anyhow::Result<()> {
    crate::mail::check_address(e)?;
    Ok(())
}

/// `[web]` in jixiao.toml: where the console listens. With this table present the daemon serves
/// the console; `jixiao serve` serves it alone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// `127.0.0.1:8480` by default: only this machine. Put a reverse proxy in front for TLS and
    /// for other machines (README, "The web console").
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Mark the session cookie `Secure`. Also set for a request that came through a proxy which
    /// says it was HTTPS (`X-Forwarded-Proto: https`).
    #[serde(default)]
    pub secure_cookies: bool,
    /// How long a login lasts.
    #[serde(default = "default_session_hours")]
    pub session_hours: u32,
}

fn default_listen() -> String {
    "127.0.0.1:8480".to_string()
}

fn default_session_hours() -> u32 {
    12
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            listen: default_listen(),
            secure_cookies: false,
            session_hours: default_session_hours(),
        }
    }
}

/// The example setup written by `jixiao init` and used by `jixiao watch` on a fresh machine.
pub const EXAMPLE: &str = r#"# jixiao configuration. Paths are relative to this file.

# The shared folder: one sub-folder per department. A department puts its forms into its folder;
# the folder is its identity.
root = "收件"
# Database, archive copies and issued letters. Keep it out of the departments' reach.
state_dir = "state"
# The finance office's summary workbook.
reports_dir = "reports"
# Decision files of the finance office (approving a 修改后通过 declaration). Not a department's.
decisions_dir = "决定"
# forms_dir = "forms"          # form definitions; the built-in ones when absent
# letters_dir = "letters"      # letter templates; the built-in ones when absent

[folders]
accepted = "已受理"             # accepted originals and the letters answering them
returned = "已退回"             # returned originals with the reasons
templates = "空白表样"          # the blank forms to fill in

[watch]
stable_ms = 2000               # a file is taken when unchanged for this long
rescan_secs = 60               # full rescan to catch missed events
poll = false                   # true on SMB/CIFS or NFS shares, which give no events
poll_ms = 2000
unreadable_retry_ms = 10000    # a file that cannot be read is read again after this long
settle_ms = 120000             # and returned only once it has read the same for this long

[finance]
name = "吉林省财政厅绩效管理处"
emails = ["jixiao@czt.jl.example.cn"]
copy_letters = true

# [limits]                     # what reading one file may cost (in a worker process)
# memory_mb = 1024
# seconds = 8

[letters]
office = "吉林省财政厅"          # 发文机关标志, in red on page 1
agency = "吉财绩函"             # 机关代字: 吉财绩函〔2026〕12号
signature = "吉林省财政厅"
cc = ["省审计厅"]               # 抄送
contact = "联系单位：吉林省财政厅预算绩效管理处"
# contact_person = "张三"        # then every letter closes 联系人：张三；联系电话：…
# contact_phone = "0431-88886666"
revision_days = 10             # days a department has to send a corrected form
# sign_off = ["target_review"]   # kinds held until a reviewer signs them off (console: 待签发)
# [letters.kinds.return_notice] # a kind of letter under its own 机关代字, e.g. as a 通知
# agency = "吉财绩通"
# doc_type = "通知"

# The web console (总览, 报送记录, 待批复, 待签发, 邮件, …), served by the daemon. Only this machine
# can reach it; put a reverse proxy in front for TLS and other machines (README). Accounts:
# `jixiao user add NAME --role admin`. Remove this table to turn the console off.
[web]
listen = "127.0.0.1:8480"
# secure_cookies = true          # behind a TLS proxy (also said by X-Forwarded-Proto: https)
# session_hours = 12

[mail]
# With no [mail.smtp], every message is written as an .eml file into outbox_dir, from the
# example address 绩效管理系统（示例地址） <jixiao@example.invalid>: set [mail.smtp] from to the
# office's own address before sending real mail (Message-IDs then use its domain).
outbox_dir = "outbox"
# [mail.smtp]
# host = "smtp.czt.jl.example.cn"
# security = "starttls"          # none | starttls | tls
# username = "jixiao"
# password_env = "JIXIAO_SMTP_PASSWORD"   # the password comes from this environment variable
# from = "吉林省财政厅绩效管理处 <jixiao@czt.jl.example.cn>"

# Each form's due date per year. Departments listed below owe a declaration; every project with
# an approved declaration owes a performance report and a self-evaluation. No reminder is sent
# until deadlines are set here, e.g.:
# [[deadlines]]
# year = 2027
# form = "target_declaration"     # target_declaration | performance_report | self_evaluation
# due = "2027-03-31"

[reminders]
days_before = [7, 1]           # reminders (催报通知) before the deadline
days_after = [1, 7]            # and after it, to departments still owing the form

[[departments]]
name = "吉林省农业农村厅"
aliases = ["省农业农村厅"]
code = "nyt"
folder = "农业农村厅"
emails = ["jixiao@nyt.jl.example.cn"]

[[departments]]
name = "吉林省教育厅"
aliases = ["省教育厅"]
code = "jyt"
folder = "教育厅"
emails = ["jixiao@jyt.jl.example.cn"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_is_valid() {
        let cfg = Config::parse(EXAMPLE, Path::new("/srv/jixiao/jixiao.toml")).unwrap();
        assert_eq!(cfg.root, Path::new("/srv/jixiao/收件"));
        assert_eq!(cfg.departments.len(), 2);
        assert!(cfg.departments[0].is_named("省农业农村厅"));
        assert!(!cfg.departments[0].is_named("吉林省教育厅"));
    }

    #[test]
    fn errors_name_the_key() {
        let bad = EXAMPLE.replace("folder = \"教育厅\"", "folder = \"../etc\"");
        let err = format!(
            "{:#}",
            Config::parse(&bad, Path::new("j.toml")).unwrap_err()
        );
        assert!(err.contains("departments[1].folder"), "{err}");
        let bad = EXAMPLE.replace("stable_ms = 2000", "stable_ms = \"soon\"");
        let err = format!(
            "{:#}",
            Config::parse(&bad, Path::new("j.toml")).unwrap_err()
        );
        assert!(err.starts_with("j.toml:"), "{err}");
        let bad = EXAMPLE.replace("jixiao@jyt.jl.example.cn", "not-an-address");
        let err = format!(
            "{:#}",
            Config::parse(&bad, Path::new("j.toml")).unwrap_err()
        );
        assert!(err.contains("departments[1].emails"), "{err}");
        // Regression: an address the configuration took but the outbox refused made every
        // submission of that department fail to record.
        let bad = EXAMPLE.replace("jixiao@jyt.jl.example.cn", "a@b.cn@c.cn");
        assert!(Config::parse(&bad, Path::new("j.toml")).is_err());
        let bad = EXAMPLE.replace("state_dir = \"state\"", "state_dir = \"收件/state\"");
        let err = format!(
            "{:#}",
            Config::parse(&bad, Path::new("j.toml")).unwrap_err()
        );
        assert!(err.contains("state_dir"), "{err}");
    }

    /// Writes the example with `replace` applied into a temporary folder and loads it.
    fn load_with(dir: &Path, from: &str, to: &str) -> anyhow::Result<Config> {
        let path = dir.join("jixiao.toml");
        std::fs::write(&path, EXAMPLE.replace(from, to)).unwrap();
        Config::load(&path)
    }

    fn err(r: anyhow::Result<Config>) -> String {
        format!("{:#}", r.unwrap_err())
    }

    #[test]
    fn reports_dir_inside_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = err(load_with(
            dir.path(),
            "reports_dir = \"reports\"",
            "reports_dir = \"收件/农业农村厅\"",
        ));
        assert!(
            e.contains("reports_dir \"收件/农业农村厅\" leads into root (收件)"),
            "{e}"
        );
    }

    #[test]
    fn decisions_dir_holding_the_configuration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = err(load_with(
            dir.path(),
            "decisions_dir = \"决定\"",
            "decisions_dir = \".\"",
        ));
        assert!(e.contains("decisions_dir"), "{e}");
        assert!(e.contains("holds this configuration file"), "{e}");
        let e = err(load_with(
            dir.path(),
            "reports_dir = \"reports\"",
            "reports_dir = \"\"",
        ));
        assert!(e.contains("reports_dir"), "{e}");
    }

    #[test]
    fn a_linked_decisions_dir_into_a_department_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dept = dir.path().join("收件").join("农业农村厅");
        std::fs::create_dir_all(&dept).unwrap();
        std::os::unix::fs::symlink(&dept, dir.path().join("决定")).unwrap();
        let e = err(load_with(dir.path(), "", ""));
        assert!(
            e.contains("decisions_dir \"决定\" leads into root (收件) after resolving links"),
            "{e}"
        );
        // A folder not created yet under a link is resolved through its nearest existing ancestor.
        std::fs::remove_file(dir.path().join("决定")).unwrap();
        std::os::unix::fs::symlink(&dept, dir.path().join("link")).unwrap();
        let e = err(load_with(
            dir.path(),
            "state_dir = \"state\"",
            "state_dir = \"link/new/state\"",
        ));
        assert!(
            e.contains("state_dir \"link/new/state\" leads into root"),
            "{e}"
        );
        let e = err(load_with(
            dir.path(),
            "outbox_dir = \"outbox\"",
            "outbox_dir = \"x/../收件/y\"",
        ));
        assert!(e.contains("mail.outbox_dir"), "{e}");
        assert!(load_with(dir.path(), "", "").is_ok());
    }

    #[test]
    fn office_folders_that_would_mix_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = err(load_with(
            dir.path(),
            "outbox_dir = \"outbox\"",
            "outbox_dir = \"决定\"",
        ));
        assert!(
            e.contains("decisions_dir") && e.contains("mail.outbox_dir"),
            "{e}"
        );
        let e = err(load_with(
            dir.path(),
            "decisions_dir = \"决定\"",
            "decisions_dir = \"state/决定\"",
        ));
        assert!(
            e.contains("state_dir") && e.contains("decisions_dir"),
            "{e}"
        );
        let e = err(load_with(
            dir.path(),
            "reports_dir = \"reports\"",
            "reports_dir = \"state\"",
        ));
        assert!(e.contains("state_dir") && e.contains("reports_dir"), "{e}");
        let e = err(load_with(
            dir.path(),
            "# letters_dir = \"letters\"",
            "letters_dir = \"决定/letters\"",
        ));
        assert!(e.contains("letters_dir"), "{e}");
        // Templates beside the configuration, with the state below them, are fine.
        assert!(
            load_with(
                dir.path(),
                "# letters_dir = \"letters\"",
                "letters_dir = \".\""
            )
            .is_ok()
        );
        let e = err(load_with(
            dir.path(),
            "decisions_dir = \"决定\"",
            "decisions_dir = \"收件/..\"",
        ));
        assert!(e.contains("decisions_dir"), "{e}");
    }
}
