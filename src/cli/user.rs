//! `jixiao user`: the web console's accounts. Passwords are read from the terminal (twice, not
//! shown) or, with `--password-stdin`, as one line of standard input (for scripts).

use std::io::{BufRead, Write};

use anyhow::{Context, bail};

use crate::store::accounts::{self, Role};
use crate::web::auth::{MIN_PASSWORD_CHARS, hash_password};

/// What `jixiao user` does.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum UserAction {
    /// Open an account.
    Add {
        #[arg(value_name = "NAME")]
        name: String,
        /// viewer: sees every page; reviewer: also approves, signs letters off, retries mail;
        /// admin: also tries forms out (试一试).
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password as one line of standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password (its sessions end).
    Passwd {
        #[arg(value_name = "NAME")]
        name: String,
        /// Read the password as one line of standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's role (its sessions end).
    Role {
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_enum, value_name = "ROLE")]
        role: RoleArg,
    },
    /// Turn an account off (its sessions end); `enable` turns it on again.
    Disable {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Turn an account on again.
    Enable {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// List the accounts.
    List,
}

/// The roles as the command line spells them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum RoleArg {
    Viewer,
    Reviewer,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Reviewer => Role::Reviewer,
            RoleArg::Admin => Role::Admin,
        }
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("新密码: ").context("reading the password")?;
        let again = rpassword::prompt_password("再输入一次: ").context("reading the password")?;
        if first != again {
            bail!("the two passwords differ; nothing changed");
        }
        first
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!("the password is too short: at least {MIN_PASSWORD_CHARS} characters");
    }
    Ok(password)
}

/// A name shown on pages and in the audit log: one line, no spaces at the ends.
fn check_name(name: &str) -> anyhow::Result<()> {
    if name.trim() != name || name.is_empty() || name.chars().count() > 64 {
        bail!("an account name is 1 to 64 characters without spaces at either end");
    }
    if name.chars().any(char::is_control) {
        bail!("an account name has no control characters");
    }
    Ok(())
}

pub(crate) fn user(
    conn: &rusqlite::Connection,
    action: UserAction,
    now: &str,
    out: &mut impl Write,
) -> anyhow::Result<i32> {
    match action {
        UserAction::Add {
            name,
            role,
            password_stdin,
        } => {
            check_name(&name)?;
            if accounts::user_by_name(conn, &name)?.is_some() {
                bail!("the account {name} exists; `jixiao user passwd {name}` sets its password");
            }
            let hash = hash_password(&read_password(password_stdin)?)?;
            let role = Role::from(role);
            accounts::add_user(conn, &name, role, &hash, now)?;
            crate::store::audit::record(
                conn,
                now,
                "command",
                "user_add",
                &format!("user:{name}"),
                role.as_str(),
            )?;
            writeln!(out, "added {name} ({})", role.as_str())?;
        }
        UserAction::Passwd {
            name,
            password_stdin,
        } => {
            if accounts::user_by_name(conn, &name)?.is_none() {
                bail!("no account {name}");
            }
            let hash = hash_password(&read_password(password_stdin)?)?;
            accounts::set_password(conn, &name, &hash)?;
            crate::store::audit::record(
                conn,
                now,
                "command",
                "user_passwd",
                &format!("user:{name}"),
                "",
            )?;
            writeln!(out, "password of {name} set; its sessions ended")?;
        }
        UserAction::Role { name, role } => {
            let role = Role::from(role);
            if !accounts::update_user(conn, &name, Some(role), None)? {
                bail!("no account {name}");
            }
            crate::store::audit::record(
                conn,
                now,
                "command",
                "user_role",
                &format!("user:{name}"),
                role.as_str(),
            )?;
            writeln!(out, "{name} is now {}", role.as_str())?;
        }
        UserAction::Disable { name } => {
            if !accounts::update_user(conn, &name, None, Some(true))? {
                bail!("no account {name}");
            }
            crate::store::audit::record(
                conn,
                now,
                "command",
                "user_disable",
                &format!("user:{name}"),
                "",
            )?;
            writeln!(out, "{name} is turned off")?;
        }
        UserAction::Enable { name } => {
            if !accounts::update_user(conn, &name, None, Some(false))? {
                bail!("no account {name}");
            }
            crate::store::audit::record(
                conn,
                now,
                "command",
                "user_enable",
                &format!("user:{name}"),
                "",
            )?;
            writeln!(out, "{name} is turned on")?;
        }
        UserAction::List => {
            let users = accounts::users(conn)?;
            if users.is_empty() {
                writeln!(
                    out,
                    "no accounts; add one with `jixiao user add NAME --role admin`"
                )?;
            }
            for u in users {
                writeln!(
                    out,
                    "{}\t{}\t{}{}",
                    u.name,
                    u.role.as_str(),
                    u.created_at,
                    if u.disabled { "\t(turned off)" } else { "" }
                )?;
            }
        }
    }
    Ok(0)
}
