//! The command line: `jixiao check`, `jixiao templates`. `main.rs` parses and calls [`run`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::definitions::{Definitions, FormKind};
use crate::result::{CheckResult, Issue, Status};
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
    pub forms: Option<PathBuf>,
    /// The configuration file of the daemon (default: ./jixiao.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
    },
    /// Write a working example setup into DIR: a configuration, one folder per department and
    /// the blank forms in each.
    Init {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Run the watcher daemon: take every form put into a department's folder, check it, record
    /// it and answer it. Without a configuration, creates and uses an example setup in
    /// ./jixiao-data.
    Watch {
        /// Process what is waiting, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Recent submissions, and anything pending or failed.
    Status {
        /// How many recent submissions to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Write the finance office's summary workbook of a year (default: the current year) to
    /// `reports_dir/绩效汇总-{year}.xlsx` or to --out.
    Consolidate {
        #[arg(long, value_name = "YEAR")]
        year: Option<i32>,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also prepare the mail to the finance office (`finance.emails`).
        #[arg(long)]
        mail: bool,
    },
    /// Write the three blank forms, from the definitions, into a folder.
    Templates {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// Loads the definitions named on the command line, or the built-in ones.
pub fn definitions(forms: Option<&PathBuf>) -> anyhow::Result<Definitions> {
    match forms {
        Some(dir) => Definitions::load_dir(dir)
            .with_context(|| format!("form definitions in {}", dir.display())),
        None => Ok(Definitions::embedded()),
    }
}

/// Runs a command and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let defs = definitions(cli.forms.as_ref())?;
    match cli.command {
        Command::Init { dir } => {
            let path = crate::setup::init(&dir, &defs)?;
            println!("wrote an example setup: {}", path.display());
            Ok(0)
        }
        Command::Watch { once } => {
            let cfg = crate::setup::config_for_watch(cli.config.as_deref(), &defs)?;
            let defs = match (&cli.forms, &cfg.forms_dir) {
                (None, Some(dir)) => definitions(Some(dir))?,
                _ => defs,
            };
            crate::setup::print_where(&cfg);
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, stop.clone())
                    .context("installing the signal handler")?;
            }
            let checker = Checker::new(defs, Limits::default());
            let mut daemon = crate::watch::Daemon::new(cfg, checker, stop)?;
            daemon.run(crate::watch::RunOptions { once })?;
            Ok(0)
        }
        Command::Status { limit } => {
            let path = cli.config.unwrap_or_else(|| PathBuf::from("jixiao.toml"));
            let cfg = crate::config::Config::load(&path)?;
            crate::setup::status(&cfg, limit, &mut std::io::stdout().lock())?;
            Ok(0)
        }
        Command::Consolidate { year, out, mail } => {
            let path = cli.config.unwrap_or_else(|| PathBuf::from("jixiao.toml"));
            let cfg = crate::config::Config::load(&path)?;
            let defs = match (&cli.forms, &cfg.forms_dir) {
                (None, Some(dir)) => definitions(Some(dir))?,
                _ => defs,
            };
            let conn = crate::store::open(&cfg.database())?;
            let year = year.unwrap_or_else(|| chrono::Datelike::year(&chrono::Local::now()));
            let out = out.unwrap_or_else(|| crate::consolidate::default_path(&cfg, year));
            if mail {
                let msg = crate::consolidate::mail_message(&conn, &cfg, &defs, year)?;
                crate::watch::write_atomic(&out, &msg.attachment)
                    .with_context(|| format!("writing {}", out.display()))?;
                println!("{}", out.display());
                // wire: mail::outbox::enqueue
                println!(
                    "mail prepared for {} (\"{}\", attachment {}), but not sent: delivery is wired by the main engineer when the outbox lands",
                    msg.to.join(", "),
                    msg.subject,
                    msg.attachment_name
                );
            } else {
                crate::consolidate::write(&conn, &cfg, &defs, year, &out)?;
                println!("{}", out.display());
            }
            Ok(0)
        }
        Command::Check { files, json, jobs } => {
            if let Some(n) = jobs {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n.max(1))
                    .build_global()
                    .context("starting worker threads")?;
            }
            let checker = Checker::new(defs, Limits::default());
            let results = checker.check_many(&files);
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
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
                let path = crate::templates::write_template(&defs, kind, &out)?;
                println!("{}", path.display());
            }
            Ok(0)
        }
    }
}

fn form_name(kind: Option<FormKind>) -> &'static str {
    match kind {
        Some(FormKind::TargetDeclaration) => "绩效目标申报表",
        Some(FormKind::PerformanceReport) => "绩效运行监控表",
        Some(FormKind::SelfEvaluation) => "绩效自评表",
        None => "非绩效表",
    }
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
    let mut line = format!("[{status}] {}  {}  {}", r.file, form_name(r.form), project);
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
