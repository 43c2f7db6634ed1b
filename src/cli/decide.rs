//! `jixiao approve` and `jixiao revoke`: the finance office's decisions on a project's
//! declaration, from the command line.

use std::io::Write;

use crate::config::Config;
use crate::cycle::approvals;
use crate::forms::project::ProjectKey;
use crate::store::approvals::Action;

/// Which project and version a decision is about.
#[derive(Debug, clap::Args)]
pub(crate) struct DecisionArgs {
    /// 项目编码 or 项目名称.
    #[arg(value_name = "PROJECT")]
    pub(crate) project: String,
    /// The year, when the project has forms of several years.
    #[arg(long)]
    pub(crate) year: Option<i32>,
    /// The department code, when several departments use the same code or name.
    #[arg(long)]
    pub(crate) department: Option<String>,
    /// The declaration's submission number, as `jixiao history` shows it (#12). Default: for
    /// approve, the latest declaration concluded 通过 or 修改后通过; for revoke, the one in force.
    #[arg(long, value_name = "N")]
    pub(crate) version: Option<i64>,
    /// A note recorded with the decision (who decided, on what grounds).
    #[arg(long)]
    pub(crate) note: Option<String>,
}

/// Records the decision; 0 when recorded, 1 when refused or nothing matches, 2 when the project
/// is ambiguous.
pub(crate) fn decide(
    conn: &rusqlite::Connection,
    cfg: &Config,
    action: Action,
    args: &DecisionArgs,
    now: &str,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<i32> {
    if let Some(code) = &args.department
        && cfg.department_by_code(code).is_none()
    {
        let known: Vec<&str> = cfg.departments.iter().map(|d| d.code.as_str()).collect();
        writeln!(
            err,
            "unknown department {code}; jixiao.toml knows: {}",
            known.join(", ")
        )?;
        return Ok(1);
    }
    let project = &args.project;
    let keys: Vec<ProjectKey> =
        crate::store::submissions::find_keys(conn, project, &crate::text::normalize(project))?
            .into_iter()
            .filter(|k| {
                args.year.is_none_or(|want| k.year() == want.to_string())
                    && args
                        .department
                        .as_deref()
                        .is_none_or(|want| k.department() == want)
            })
            .collect();
    let key = match keys.as_slice() {
        [] => {
            writeln!(err, "no project \"{project}\" found")?;
            return Ok(1);
        }
        [key] => key,
        many => {
            let keys: Vec<&str> = many.iter().map(ProjectKey::as_str).collect();
            writeln!(
                err,
                "\"{project}\" matches several projects; add --year or --department: {}",
                keys.join(", ")
            )?;
            return Ok(2);
        }
    };
    let note = args.note.as_deref();
    let done = match action {
        Action::Approve => approvals::approve(conn, key, args.version, "command", note, now)?,
        Action::Revoke => approvals::revoke(conn, key, args.version, "command", note, now)?,
    };
    match done {
        Ok(id) => {
            let what = match action {
                Action::Approve => "approved",
                Action::Revoke => "revoked the approval of",
            };
            writeln!(out, "{what} the declaration #{id} of {key}")?;
            if let Some(id) = approvals::standing(conn, key)?.in_force {
                writeln!(out, "in force: the declaration #{id}")?;
            } else {
                writeln!(out, "no declaration of {key} is in force")?;
            }
            Ok(0)
        }
        Err(refused) => {
            writeln!(err, "{refused}")?;
            Ok(1)
        }
    }
}
