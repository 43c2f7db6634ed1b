//! The command line: `jixiao check`, `jixiao templates`, `jixiao letter`. `main.rs` parses and calls [`run`].

mod decide;
mod history;
mod setup;
mod status;
mod user;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::check::CheckResult;
use crate::check::Checked;
use crate::check::Status;
use crate::cli::decide::DecisionArgs;
use crate::config::Config;
use crate::departments;
use crate::forms::definitions::{Definitions, FormKind};
use crate::rules::identity::Sender;
use crate::rules::issue::Issue;
use crate::runtime::Runtime;
use crate::store::approvals::Action;
use crate::{Checker, Limits};

#[derive(Debug, Parser)]
#[command(
    name = "jixiao",
    version,
    about = "预算绩效管理：读取、审核、评分三张标准绩效表"
)]
pub struct Cli {
    /// Folder of form definitions (framework.toml and one file per form); the built-in copy of
    /// `forms/` when not given.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) forms: Option<PathBuf>,
    /// The configuration file. Without it, `watch`, `status`, `history`, `approve`,
    /// `consolidate` and `outbox` use $JIXIAO_CONFIG, else ./jixiao.toml, else
    /// ./jixiao-data/jixiao.toml. `check` and `letter` use one only when given: then 主管部门
    /// must name a configured department, and letters use its `[letters]` settings and templates.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Rehearse on another day (`2026-03-30`): deadlines, reminders and letters' dates go by
    /// it. The same as `JIXIAO_TODAY`.
    #[arg(long, global = true, value_name = "DATE")]
    pub(crate) today: Option<chrono::NaiveDate>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check forms: one line per problem (cell, field, message), or one JSON object per file.
    Check {
        /// Workbooks to check (.xlsx, .xls, .ods).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
        /// Print one JSON object per file, one per line.
        #[arg(long)]
        json: bool,
        /// Worker threads (default: all cores).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// With --config: the department (code) that sends the files; 主管部门 must name it.
        /// Without it, a file under a department's folder is that department's, and any other
        /// may name any configured department.
        #[arg(long, value_name = "CODE", requires = "config")]
        department: Option<String>,
    },
    /// Write a working example setup into DIR: a configuration, one folder per department and
    /// the blank forms in each.
    Init {
        /// The folder to write the setup into (made when missing); its jixiao.toml must not exist.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Run the watcher daemon: take every form put into a department's folder, check it, record
    /// it and answer it. Where no configuration is found (see --config), creates and uses an
    /// example setup in ./jixiao-data.
    Watch {
        /// Process what is waiting, then exit.
        #[arg(long)]
        once: bool,
    },
    /// For an operator: whether the daemon runs, what is pending and why, files not taken,
    /// failed mail, whether the summary workbook is current, free space, recent submissions.
    Status {
        /// How many recent submissions (and files not taken) to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print all of it as one JSON object, for monitoring.
        #[arg(long)]
        json: bool,
    },
    /// Every version of every form of a project, with results and letters.
    History {
        /// 项目编码 or 项目名称.
        #[arg(value_name = "PROJECT")]
        project: String,
    },
    /// Approve a declaration's targets, so later forms are measured against them: a declaration
    /// concluded 修改后通过, or a later version (an adjustment request) replacing the approved one.
    Approve {
        #[command(flatten)]
        decision: DecisionArgs,
    },
    /// Revoke the approval of a declaration: what was in force before it comes back.
    Revoke {
        #[command(flatten)]
        decision: DecisionArgs,
    },
    /// Write the finance office's summary workbook of a year (default: the current year) to
    /// `reports_dir/绩效汇总-{year}.xlsx` or to --out.
    Consolidate {
        /// The year of the forms, four digits (2000 to 2100); the current year when not given.
        #[arg(long, value_name = "YEAR")]
        year: Option<i32>,
        /// Where to write the workbook instead of `reports_dir/绩效汇总-{year}.xlsx`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also prepare the mail to the finance office (`finance.emails`).
        #[arg(long)]
        mail: bool,
    },
    /// Write the three blank forms, from the definitions, into a folder.
    Templates {
        /// The folder to write them into (made when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write a preview of the letter for one form (document number left blank), with the
    /// annotated workbook of a return notice, into a folder. Nothing is issued or numbered.
    Letter {
        /// The form (.xlsx, .xls, .ods).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The folder to write the letter (and annotated workbook) into (made when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// With --config: the department (code) the letter goes to; 主管部门 must name it.
        #[arg(long, value_name = "CODE", requires = "config")]
        department: Option<String>,
    },
    /// The mail outbox: list queued, failed and sent messages; `retry ID` queues one again.
    Outbox {
        /// The state database (default: the one of the configuration, see --config).
        #[arg(long, global = true, value_name = "PATH")]
        state: Option<PathBuf>,
        /// List only messages with this status.
        #[arg(long, value_enum)]
        status: Option<OutboxStatus>,
        /// Print one JSON object per message, one per line.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<OutboxAction>,
    },
    /// Serve the web console alone, without watching the folders: beside a daemon whose
    /// jixiao.toml has no `[web]` table, or to look at a copy of the state. (With `[web]`, `jixiao
    /// watch` serves it itself.) Stops on Ctrl-C or SIGTERM.
    Serve {
        /// The address to listen on instead of `[web] listen` (default 127.0.0.1:8480).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// The web console's accounts: add, passwd, role, disable, enable, list.
    User {
        #[command(subcommand)]
        action: user::UserAction,
    },
    /// Internal: the daemon's worker process, which reads the files it is given on standard
    /// input under hard limits (see the `worker` module). Not for use by hand.
    #[command(hide = true)]
    Worker {
        #[arg(long, default_value_t = crate::worker::WorkerLimits::default().memory_mb)]
        memory_mb: u64,
        #[arg(long, default_value_t = crate::worker::WorkerLimits::default().seconds)]
        seconds: u64,
    },
}

/// What `jixiao outbox` does besides listing.
#[derive(Debug, Subcommand)]
pub(crate) enum OutboxAction {
    /// Send message ID now: a queued one without waiting for its backoff; a failed one with its
    /// attempts afresh, addressed to the recipients the configuration names now (same
    /// Message-ID and content). A sent message is never sent again.
    Retry {
        /// The message's number, as `jixiao outbox` lists it (#ID).
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Deliver every due message once, now. Refused while the daemon runs (it delivers the
    /// outbox itself); it first queues again the messages a stopped sender left half-sent.
    Deliver {
        /// A TOML file whose `[mail]` table holds the mail settings; without it, messages are
        /// written as `.eml` files into `./outbox`.
        #[arg(long, value_name = "FILE")]
        mail_config: Option<PathBuf>,
    },
}

/// The statuses `jixiao outbox --status` filters on.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum OutboxStatus {
    Queued,
    Sending,
    Sent,
    Failed,
}

/// `jixiao approve` and `jixiao revoke`.
fn decide_command(
    config: Option<&Path>,
    action: Action,
    args: &DecisionArgs,
    runtime: &Runtime,
) -> anyhow::Result<i32> {
    let clock = runtime.clock.as_ref();
    let cfg = load_config(config, runtime)?;
    let conn = crate::store::open(&cfg.database())?;
    decide::decide(
        &conn,
        &cfg,
        action,
        args,
        &clock.now().to_rfc3339(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

/// Starts the web console on `[web] listen` of `cfg`.
fn start_console(
    cfg: Config,
    defs: Definitions,
    launch: crate::worker::Launch,
    clock: std::sync::Arc<dyn crate::runtime::Clock>,
) -> anyhow::Result<crate::web::Console> {
    let letters = crate::letters::Letters::load(cfg.letters_dir.as_deref())
        .context("loading the letter templates")?;
    let app = crate::web::App::new(cfg, defs, letters, clock, launch)?;
    crate::web::start(
        app,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    )
}

/// Loads the definitions named on the command line, or the built-in ones.
pub(crate) fn definitions(forms: Option<&PathBuf>) -> anyhow::Result<Definitions> {
    match forms {
        Some(dir) => Definitions::load_dir(dir)
            .with_context(|| format!("form definitions in {}", dir.display())),
        None => Ok(Definitions::embedded()),
    }
}

/// The configuration of a command that needs one, found as [`setup::find_config`] says.
fn load_config(named: Option<&Path>, runtime: &Runtime) -> anyhow::Result<Config> {
    setup::load_found(named, runtime.config_env.as_deref())
}

/// The years `consolidate` accepts: a two-digit `26` is a mistake, not the year 26.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Standard output went away (`jixiao outbox | head`): the command stops printing quietly.
#[derive(Debug, thiserror::Error)]
#[error("standard output is closed")]
pub struct StdoutClosed;

/// Whether a command's error is only that its standard output was closed by the reader.
pub fn is_stdout_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<StdoutClosed>()
            || c.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<StdoutClosed>())
    })
}

/// Standard output for the commands' printing: a closed pipe becomes [`StdoutClosed`].
pub(crate) struct Stdout(std::io::StdoutLock<'static>);

pub(crate) fn stdout() -> Stdout {
    Stdout(std::io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(closed)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().map_err(closed)
    }
}

fn closed(e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::io::Error::other(StdoutClosed)
    } else {
        e
    }
}

/// `println!` for the commands: an error (a closed pipe) ends the command instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(crate::cli::stdout(), $($arg)*)?
    };
}

/// Who may have sent `file` under a configuration: the department named with `--department`,
/// the one whose folder under `root` holds the file, else any configured department.
fn sender_of<'a>(
    cfg: &'a Config,
    department: Option<&str>,
    file: &Path,
) -> anyhow::Result<Sender<'a>> {
    if let Some(code) = department {
        let d = departments::by_code(&cfg.departments, code).with_context(|| {
            format!("unknown department {code} (not in {})", cfg.file.display())
        })?;
        return Ok(Sender::Department(d));
    }
    let folder = std::path::absolute(file).ok().and_then(|p| {
        p.strip_prefix(&cfg.root)
            .ok()
            .and_then(|rel| rel.components().next())
            .map(|c| c.as_os_str().to_string_lossy().to_string())
    });
    Ok(match folder.and_then(|f| cfg.department_by_folder(&f)) {
        Some(d) => Sender::Department(d),
        None => Sender::AnyOf(&cfg.departments),
    })
}

/// The definitions of a command: `--forms`, else the configuration's `forms_dir`, else the
/// built-in ones.
fn definitions_for(forms: Option<&PathBuf>, cfg: Option<&Config>) -> anyhow::Result<Definitions> {
    match (forms, cfg.and_then(|c| c.forms_dir.as_ref())) {
        (None, Some(dir)) => definitions(Some(dir)),
        _ => definitions(forms),
    }
}

/// Runs a command and returns the process exit code.
pub fn run(cli: Cli, mut runtime: Runtime) -> anyhow::Result<i32> {
    if let Some(day) = cli.today {
        runtime.clock = std::sync::Arc::new(crate::runtime::SystemClock { today: Some(day) });
    }
    let clock = runtime.clock.clone();
    let defs = definitions(cli.forms.as_ref())?;
    match cli.command {
        Command::Worker { memory_mb, seconds } => {
            let checker = Checker::new(defs, Limits::default());
            let limits = crate::worker::WorkerLimits { memory_mb, seconds };
            crate::worker::serve(&checker, limits, runtime.hooks)?;
            Ok(0)
        }
        Command::Init { dir } => {
            let path = crate::cli::setup::init(&dir, &defs)?;
            say!("wrote an example setup: {}", path.display());
            Ok(0)
        }
        Command::Watch { once } => {
            let cfg = crate::cli::setup::config_for_watch(
                cli.config.as_deref(),
                runtime.config_env.as_deref(),
                &defs,
            )?;
            let forms = cli.forms.clone().or_else(|| cfg.forms_dir.clone());
            let defs = match (&cli.forms, &cfg.forms_dir) {
                (None, Some(dir)) => definitions(Some(dir))?,
                _ => defs,
            };
            let launch = crate::worker::Launch::new(forms, cfg.limits);
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, stop.clone())
                    .context("installing the signal handler")?;
            }
            let console_parts = (!once && cfg.web.is_some()).then(|| {
                (
                    cfg.clone(),
                    defs.clone(),
                    launch.clone(),
                    runtime.clock.clone(),
                )
            });
            let checker = Checker::new(defs, Limits::default());
            let where_ = cfg.clone();
            // Refuses here when another daemon runs on the same state, before any banner.
            let mut daemon = crate::watch::Daemon::new(cfg, checker, launch, stop, runtime)?;
            crate::cli::setup::print_where(&where_);
            // The console only reads the state and records people's decisions; the daemon's
            // loop alone takes files.
            // A console that cannot start (its port taken) is said in the log; forms are still
            // handled.
            let _console = console_parts.and_then(|(cfg, defs, launch, clock)| {
                start_console(cfg, defs, launch, clock)
                    .map_err(|e| {
                        tracing::error!(error = %format!("{e:#}"), "the web console is not served; forms are still handled")
                    })
                    .ok()
            });
            daemon.run(crate::watch::RunOptions { once })?;
            Ok(0)
        }
        Command::Serve { listen } => {
            let mut cfg = load_config(cli.config.as_deref(), &runtime)?;
            let defs = definitions_for(cli.forms.as_ref(), Some(&cfg))?;
            let mut web = cfg.web.clone().unwrap_or_default();
            if let Some(listen) = listen {
                web.listen = listen;
            }
            cfg.web = Some(web);
            let forms = cli.forms.clone().or_else(|| cfg.forms_dir.clone());
            let launch = crate::worker::Launch::new(forms, cfg.limits);
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, stop.clone())
                    .context("installing the signal handler")?;
            }
            let console = start_console(cfg, defs, launch, runtime.clock.clone())?;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            drop(console);
            Ok(0)
        }
        Command::User { action } => {
            let cfg = load_config(cli.config.as_deref(), &runtime)?;
            let conn = crate::store::open(&cfg.database())?;
            user::user(&conn, action, &clock.now().to_rfc3339(), &mut stdout())
        }
        Command::History { project } => {
            let cfg = load_config(cli.config.as_deref(), &runtime)?;
            let conn = crate::store::open(&cfg.database())?;
            history::history(&conn, &cfg, &project, &mut stdout())
        }
        Command::Approve { decision } => {
            decide_command(cli.config.as_deref(), Action::Approve, &decision, &runtime)
        }
        Command::Revoke { decision } => {
            decide_command(cli.config.as_deref(), Action::Revoke, &decision, &runtime)
        }
        Command::Status { limit, json } => {
            let cfg = load_config(cli.config.as_deref(), &runtime)?;
            let mut out = std::io::BufWriter::new(stdout());
            status::status(&cfg, clock.as_ref(), limit, json, &mut out)?;
            out.flush()?;
            Ok(0)
        }
        Command::Consolidate { year, out, mail } => {
            if let Some(y) = year
                && !YEARS.contains(&y)
            {
                anyhow::bail!(
                    "--year {y} is not a year of forms: write it with four digits, {} to {}",
                    YEARS.start(),
                    YEARS.end()
                );
            }
            let cfg = load_config(cli.config.as_deref(), &runtime)?;
            let defs = match (&cli.forms, &cfg.forms_dir) {
                (None, Some(dir)) => definitions(Some(dir))?,
                _ => defs,
            };
            let mut conn = crate::store::open(&cfg.database())?;
            let year = year.unwrap_or_else(|| chrono::Datelike::year(&clock.today()));
            let out = out.unwrap_or_else(|| crate::summary::default_path(&cfg.reports_dir, year));
            let scope = cfg.summary_scope(&defs, clock.as_ref());
            if mail {
                crate::summary::write(&conn, &scope, year, &out)?;
                say!("{}", out.display());
                let letters = crate::letters::Letters::load(cfg.letters_dir.as_deref())
                    .context("loading the letter templates")?;
                let id = crate::summary::queue_mail(
                    &mut conn,
                    &scope,
                    &letters,
                    &cfg.letters,
                    year,
                    "manual",
                )?;
                say!(
                    "queued as outbox #{id} to {}; the running daemon sends it (or `jixiao outbox deliver`)",
                    cfg.finance.emails.join(", ")
                );
            } else {
                crate::summary::write(&conn, &scope, year, &out)?;
                say!("{}", out.display());
            }
            Ok(0)
        }
        Command::Check {
            files,
            json,
            jobs,
            department,
        } => {
            if let Some(n) = jobs {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n.max(1))
                    .build_global()
                    .context("starting worker threads")?;
            }
            let cfg = cli.config.as_deref().map(Config::load).transpose()?;
            let defs = match &cfg {
                Some(c) => definitions_for(cli.forms.as_ref(), Some(c))?,
                None => defs,
            };
            let checker = Checker::new(defs, Limits::default());
            let results = match &cfg {
                None => checker.check_many(&files),
                Some(cfg) => {
                    let senders = files
                        .iter()
                        .map(|f| sender_of(cfg, department.as_deref(), Path::new(f)))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    checker.check_many_with(&files, |i, checked: &mut Checked| {
                        checked.require_sender(senders[i]);
                    })
                }
            };
            let mut out = std::io::BufWriter::new(stdout());
            for r in &results {
                if json {
                    serde_json::to_writer(&mut out, r)?;
                    writeln!(out)?;
                } else {
                    write_human(&mut out, r)?;
                }
            }
            if !json && results.len() > 1 {
                let accepted = results.iter().filter(|r| r.accepted()).count();
                writeln!(
                    out,
                    "共{}个文件：通过{}个，退回{}个",
                    results.len(),
                    accepted,
                    results.len() - accepted
                )?;
            }
            out.flush()?;
            Ok(if results.iter().all(|r| r.accepted()) {
                0
            } else {
                1
            })
        }
        Command::Templates { out } => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            for kind in FormKind::ALL {
                let path = crate::forms::blank::write_blank(&defs, kind, &out)?;
                say!("{}", path.display());
            }
            Ok(0)
        }
        Command::Letter {
            file,
            out,
            department,
        } => {
            let cfg = cli.config.as_deref().map(Config::load).transpose()?;
            let defs = definitions_for(cli.forms.as_ref(), cfg.as_ref())?;
            let letters =
                crate::letters::Letters::load(cfg.as_ref().and_then(|c| c.letters_dir.as_deref()))
                    .context("loading the letter templates")?;
            let settings = cfg.as_ref().map(|c| c.letters.clone()).unwrap_or_default();
            let checker = Checker::new(defs, Limits::default());
            let display = file.display().to_string();
            let mut checked = checker.check_path(&file, &display);
            let mut addressee = None;
            if let Some(cfg) = &cfg {
                let sender = sender_of(cfg, department.as_deref(), &file)?;
                checked.require_sender(sender);
                if let Sender::Department(d) = sender {
                    addressee = Some(d.name.clone());
                }
            }
            let Some(kind) = crate::letters::LetterKind::for_result(&checked.result) else {
                eprintln!("{display}: no letter for this file");
                return Ok(1);
            };
            let department = addressee
                .or_else(|| {
                    checked
                        .result
                        .project
                        .as_ref()
                        .and_then(|p| p.department.clone())
                })
                .unwrap_or_else(|| "（主送单位）".to_string());
            let file_name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| display.clone());
            // The annotated workbook is made from the file's bytes; a file over the size limit
            // (or unreadable) has none.
            let original = std::fs::metadata(&file)
                .ok()
                .filter(|m| m.len() <= Limits::default().max_file_bytes)
                .and_then(|_| std::fs::read(&file).ok());
            let input = crate::letters::LetterInput {
                reviewer: None,
                settings: &settings,
                defs: &checker.defs,
                department: &department,
                file_name: &file_name,
                result: &checked.result,
                form: checked.form.as_deref(),
                number: None,
                date: clock.today(),
                extra_findings: &[],
                original: original.as_deref().map_or(
                    crate::letters::Original::Absent,
                    crate::letters::Original::Bytes,
                ),
            };
            let letter = letters.render(&input)?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let path = out.join(&letter.docx_file_name);
            std::fs::write(&path, &letter.docx)
                .with_context(|| format!("writing {}", path.display()))?;
            say!("{}  {}", kind.name(), path.display());
            if let Some((name, bytes)) = &letter.annotated_xlsx {
                let path = out.join(crate::util::safe_file_name(name));
                std::fs::write(&path, bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                say!("错误标注表  {}", path.display());
            }
            Ok(0)
        }
        Command::Outbox {
            state,
            status,
            json,
            action,
        } => {
            // With --state alone no configuration is read; --config (or no --state) reads it,
            // for the mail settings and the recipients of a retried message.
            let (state, cfg) = match (state, cli.config.as_deref()) {
                (Some(s), None) => (s, None),
                (state, named) => {
                    let cfg = load_config(named, &runtime)?;
                    (state.unwrap_or_else(|| cfg.database()), Some(cfg))
                }
            };
            outbox(&state, cfg.as_ref(), status, json, action, &runtime)
        }
    }
}

fn outbox(
    state: &std::path::Path,
    cfg: Option<&Config>,
    status: Option<OutboxStatus>,
    json: bool,
    action: Option<OutboxAction>,
    runtime: &Runtime,
) -> anyhow::Result<i32> {
    use crate::mail::outbox::Retried;
    use crate::mail::{self, ListFilter, Status};
    if !state.is_file() {
        anyhow::bail!("no state database at {}", state.display());
    }
    let conn = crate::store::open(state)?;
    let now = runtime.clock.now().to_utc();
    match action {
        Some(OutboxAction::Retry { id }) => {
            let row = mail::outbox::get(&conn, id)?;
            let current = cfg.and_then(|c| {
                mail::outbox::configured_recipients(&c.finance, &c.departments, &row)
            });
            match mail::outbox::retry(&conn, id, now, current.as_ref())? {
                Retried::Hurried => say!("#{id} 已安排立即发送"),
                Retried::Requeued if cfg.is_none() => {
                    say!("#{id} 已重新排队（未读取配置文件，收件人不变）")
                }
                Retried::Requeued if row.status == mail::Status::Failed && current.is_none() => {
                    say!("#{id} 已重新排队（配置中找不到它的收件部门，收件人不变）")
                }
                Retried::Requeued => say!("#{id} 已重新排队"),
                Retried::Readdressed(r) => {
                    let cc = if r.cc.is_empty() {
                        String::new()
                    } else {
                        format!("，抄送：{}", r.cc.join(", "))
                    };
                    say!(
                        "#{id} 已按当前配置重新排队，收件人：{}{cc}",
                        r.to.join(", ")
                    )
                }
            }
            Ok(0)
        }
        Some(OutboxAction::Deliver { mail_config }) => {
            let settings = match (mail_config, cfg) {
                (Some(file), _) => mail_settings(&file)?,
                (None, Some(c)) => c.mail.clone(),
                (None, None) => mail::MailSettings::default(),
            };
            // The running daemon delivers the outbox itself; a second sender would take its
            // message in flight for an interrupted one and send it twice.
            let dir = match state.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let Some(_lock) = crate::watch::lock_state(dir)? else {
                anyhow::bail!(
                    "jixiao watch is running on {}: it delivers the outbox itself \
                     (`jixiao outbox retry ID` makes it send a message now)",
                    dir.display()
                );
            };
            settings.ready_to_send()?;
            mail::outbox::recover_interrupted(&conn)?;
            let r = mail::deliver_due(&conn, &settings, now, runtime.hooks)?;
            say!(
                "已发送{}封，稍后重试{}封，发送失败{}封，未尝试{}封",
                r.sent.len(),
                r.deferred.len(),
                r.failed.len(),
                r.postponed.len()
            );
            Ok(if r.failed.is_empty() { 0 } else { 1 })
        }
        None => {
            let filter = match status {
                None => ListFilter::All,
                Some(OutboxStatus::Queued) => ListFilter::Only(Status::Queued),
                Some(OutboxStatus::Sending) => ListFilter::Only(Status::Sending),
                Some(OutboxStatus::Sent) => ListFilter::Only(Status::Sent),
                Some(OutboxStatus::Failed) => ListFilter::Only(Status::Failed),
            };
            let rows = mail::outbox::list(&conn, filter)?;
            let mut out = std::io::BufWriter::new(stdout());
            for r in &rows {
                if json {
                    serde_json::to_writer(&mut out, r)?;
                    writeln!(out)?;
                } else {
                    write_outbox_row(&mut out, r)?;
                }
            }
            if !json {
                let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
                writeln!(
                    out,
                    "共{}封：待发送{}封，已发送{}封，发送失败{}封",
                    rows.len(),
                    count(Status::Queued) + count(Status::Sending),
                    count(Status::Sent),
                    count(Status::Failed)
                )?;
            }
            out.flush()?;
            Ok(0)
        }
    }
}

/// Reads the `[mail]` table of a TOML file (the whole file when it has no such table).
fn mail_settings(file: &std::path::Path) -> anyhow::Result<crate::mail::MailSettings> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut table: toml::Table = crate::util::parse_toml(&text, &file.display().to_string())?;
    let mail = match table.remove("mail") {
        Some(m) => m,
        None => toml::Value::Table(table),
    };
    mail.try_into()
        .with_context(|| format!("{}: [mail]", file.display()))
}

fn write_outbox_row(out: &mut impl Write, r: &crate::mail::OutboxRow) -> std::io::Result<()> {
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let when = match (r.sent_at, r.next_attempt_at) {
        (Some(t), _) => local(t),
        (None, Some(t)) => format!("{}起", local(t)),
        _ => local(r.created_at),
    };
    writeln!(
        out,
        "#{:<4} {}  {}  {}  {}  {}  {}",
        r.id,
        r.status.label(),
        when,
        r.kind,
        r.reference,
        r.to.join(", "),
        r.subject
    )?;
    let mut details = Vec::new();
    if !r.cc.is_empty() {
        details.push(format!("抄送：{}", r.cc.join(", ")));
    }
    if !r.attachments.is_empty() {
        details.push(format!("附件：{}", r.attachments.join("、")));
    }
    details.push(format!("已尝试{}次", r.attempts));
    if let Some(id) = &r.message_id {
        details.push(format!("Message-ID {id}"));
    }
    writeln!(out, "      {}", details.join("  "))?;
    if let Some(e) = &r.last_error
        && r.status != crate::mail::Status::Sent
    {
        writeln!(out, "      {e}")?;
    }
    Ok(())
}

fn write_issue(out: &mut impl Write, mark: &str, i: &Issue) -> std::io::Result<()> {
    let cell = match (&i.sheet, &i.cell) {
        (_, Some(c)) => c.clone(),
        _ => "-".to_string(),
    };
    writeln!(
        out,
        "  {mark} {cell:<6} {}：{}  [{}]",
        i.field, i.message, i.code
    )
}

/// One header line per file, then one line per problem: cell, field, message.
pub fn write_human(out: &mut impl Write, r: &CheckResult) -> std::io::Result<()> {
    let status = match r.status {
        Status::Accepted => "通过",
        Status::Rejected => "退回",
    };
    let project = r
        .project
        .as_ref()
        .and_then(|p| p.name.clone())
        .unwrap_or_default();
    let mut line = format!(
        "[{status}] {}  {}  {}",
        r.file,
        r.form.map_or("非绩效表", FormKind::name),
        project
    );
    if let Some(s) = &r.score {
        line.push_str(&format!(
            "  核定{}分（{}），预算执行率{}%",
            s.computed, s.grade, s.execution_rate
        ));
        if let Some(c) = s.claimed {
            line.push_str(&format!("，自评{c}分"));
        }
    }
    if let Some(rv) = &r.review {
        line.push_str(&format!("  审核结论：{}", rv.conclusion));
    }
    writeln!(out, "{}", line.trim_end())?;
    for e in &r.errors {
        write_issue(out, "✗", e)?;
    }
    for w in &r.warnings {
        write_issue(out, "!", w)?;
    }
    Ok(())
}
