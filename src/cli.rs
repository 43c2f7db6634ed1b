//! The command line: `jixiao check`, `jixiao templates`, `jixiao letter`. `main.rs` parses and calls [`run`].

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
    /// Write the three blank forms, from the definitions, into a folder.
    Templates {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write a preview of the letter for one form (document number left blank), with the
    /// annotated workbook of a return notice, into a folder. Nothing is issued or numbered.
    Letter {
        /// The form (.xlsx, .xls, .ods).
        #[arg(value_name = "FILE")]
        file: PathBuf,
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
        Command::Letter { file, out } => {
            let letters = crate::letters::Letters::load(None)?;
            let settings = crate::letters::LetterSettings::default();
            let checker = Checker::new(defs, Limits::default());
            let display = file.display().to_string();
            let checked = checker.check_path(&file, &display);
            let Some(kind) = crate::letters::LetterKind::for_result(&checked.result) else {
                eprintln!("{display}: no letter for this file");
                return Ok(1);
            };
            let department = checked
                .result
                .project
                .as_ref()
                .and_then(|p| p.department.clone())
                .unwrap_or_else(|| "（主送单位）".to_string());
            let file_name = file
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| display.clone());
            let input = crate::letters::LetterInput {
                settings: &settings,
                defs: &checker.defs,
                department: &department,
                file_name: &file_name,
                result: &checked.result,
                form: checked.form.as_deref(),
                number: None,
                date: chrono::Local::now().date_naive(),
                extra_findings: &[],
            };
            let letter = letters.render(&input)?;
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            let path = out.join(&letter.docx_file_name);
            std::fs::write(&path, &letter.docx)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("{}  {}", kind.name(), path.display());
            if let Some((name, bytes)) = &letter.annotated_xlsx {
                let path = out.join(crate::letters::safe_file_name(name));
                std::fs::write(&path, bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("错误标注表  {}", path.display());
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
