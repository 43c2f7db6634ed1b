//! The state database (SQLite, WAL): the one place that knows SQL. Every file received, by
//! content hash, with its department, form, project, result and what became of it; approvals;
//! issued letters and their numbers; the mail outbox; reminders sent; summary mails queued. The
//! daemon records a submission and everything it sends in one transaction, so a crash leaves
//! either all of it or none.
//!
//! The schema has a version (`PRAGMA user_version`) and an ordered list of migrations: opening
//! a database runs the steps it has not had yet, each in its own transaction, so an office that
//! upgrades keeps its year. A database from a newer jixiao is refused rather than guessed at.

pub mod accounts;
pub(crate) mod approvals;
pub mod audit;
pub(crate) mod browse;
pub(crate) mod failures;
pub mod held;
pub(crate) mod judging;
pub mod letters;
pub mod notices;
pub(crate) mod outbox;
pub mod reminders;
pub(crate) mod strays;
pub mod submissions;
pub(crate) mod summary;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// What can go wrong when opening the state database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("creating the folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the state database {path} has schema version {found}, newer than this jixiao knows ({known}); run the jixiao that wrote it, or a newer one"
    )]
    NewerSchema {
        path: String,
        found: u32,
        known: u32,
    },
    #[error("the state database {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
}

/// One step of the schema, applied once, in order.
struct Migration {
    /// What the step does, for the log.
    what: &'static str,
    sql: &'static str,
}

/// Every step from an empty database to the current schema. Append only: a released step is
/// never changed, since offices' databases have had it.
const MIGRATIONS: &[Migration] = &[
    Migration {
        what: "the tables of jixiao 0.1.0",
        sql: include_str!("migrations/0001_tables.sql"),
    },
    Migration {
        what: "each letter kept once, linked to its submission",
        sql: include_str!("migrations/0002_letters_once.sql"),
    },
    Migration {
        what: "files that are not a form wait for one notice",
        sql: include_str!("migrations/0003_file_notices.sql"),
    },
    Migration {
        what: "files being read by a worker are counted",
        sql: include_str!("migrations/0004_judging.sql"),
    },
    Migration {
        what: "mail remembers the department it is addressed to",
        sql: include_str!("migrations/0005_mail_department.sql"),
    },
    Migration {
        what: "files not taken as submissions are remembered and answered once",
        sql: include_str!("migrations/0006_stray_files.sql"),
    },
    Migration {
        what: "approvals and revocations of declarations are kept as a history",
        sql: include_str!("migrations/0007_approval_decisions.sql"),
    },
    Migration {
        what: "files whose processing is retried keep their last error",
        sql: include_str!("migrations/0008_failures.sql"),
    },
    Migration {
        what: "the web console's accounts, sessions and audit log",
        sql: include_str!("migrations/0009_console.sql"),
    },
    Migration {
        what: "letters held for a reviewer's sign-off",
        sql: include_str!("migrations/0010_held_letters.sql"),
    },
    Migration {
        what: "the web console's list of submissions reads an index, not every row",
        sql: include_str!("migrations/0011_console_indexes.sql"),
    },
    Migration {
        what: "conclusions, figures and current forms are read from indexes, not stored results",
        sql: include_str!("migrations/0012_console_figures.sql"),
    },
    Migration {
        what: "the console's message after an action is kept with the session",
        sql: include_str!("migrations/0013_session_messages.sql"),
    },
];

/// The schema version this jixiao writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Opens (and creates, or upgrades) the state database.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let shown = path.display().to_string();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let sql = |source| StoreError::Sqlite {
        path: shown.clone(),
        source,
    };
    let mut conn = Connection::open(path).map_err(sql)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql)?;
    // The daemon's thread and the mail sender write to the same database. A deferred
    // transaction that reads first and writes later cannot wait for the other writer (SQLite
    // answers `database is locked` at once), so every transaction takes the write lock when it
    // begins, and waits for it up to the busy timeout.
    conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    migrate(&mut conn, &shown)?;
    Ok(conn)
}

/// The schema version of an open database.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn migrate(conn: &mut Connection, shown: &str) -> Result<(), StoreError> {
    let sql = |source| StoreError::Sqlite {
        path: shown.to_string(),
        source,
    };
    let found = schema_version(conn).map_err(sql)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: shown.to_string(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as u32 + 1;
        // Two processes may open a new database at once (the daemon and its mail thread): the
        // immediate transaction makes the second wait, then find the step done.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        if schema_version(&tx).map_err(sql)? >= version {
            continue;
        }
        tx.execute_batch(m.sql).map_err(sql)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        tracing::info!(
            database = shown,
            version,
            step = m.what,
            "state database upgraded"
        );
    }
    Ok(())
}

/// How SQLite would run a query: the details of `EXPLAIN QUERY PLAN`, joined by `; `.
#[cfg(test)]
pub(crate) fn query_plan(
    conn: &Connection,
    sql: &str,
    params: &[rusqlite::types::Value],
) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let plan: Vec<String> = stmt
        .query_map(rusqlite::params_from_iter(params), |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    plan.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_gets_every_step_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = open(&path).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
        drop(conn);
        let conn = open(&path).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn the_conclusions_of_declarations_recorded_before_version_12_are_filled_in() {
        let mut conn = Connection::open_in_memory().unwrap();
        for m in &MIGRATIONS[..11] {
            conn.execute_batch(m.sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 11).unwrap();
        let row = |id: i64, form: &str, outcome: &str, result: &str| {
            conn.execute(
                "INSERT INTO submissions (id, department, inbox_path, file_name, sha256, size, \
                 received_at, stage, outcome, form, year, project_key, result_json, archive_path) \
                 VALUES (?1, 'nyt', 'a.xlsx', 'a.xlsx', ?1, 1, 't', 'done', ?3, ?2, 2026, \
                 '2026|nyt|x', ?4, 'x')",
                rusqlite::params![id, form, outcome, result],
            )
            .unwrap();
        };
        row(
            1,
            "target_declaration",
            "accepted",
            r#"{"review":{"conclusion":"修改后通过"}}"#,
        );
        row(2, "target_declaration", "rejected", r#"{"errors":[]}"#);
        row(3, "target_declaration", "accepted", "not json");
        row(
            4,
            "self_evaluation",
            "accepted",
            r#"{"review":{"conclusion":"通过"}}"#,
        );
        migrate(&mut conn, "memory").unwrap();
        let got: Vec<(i64, Option<String>)> = conn
            .prepare("SELECT id, conclusion FROM submissions ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            got,
            [
                (1, Some("修改后通过".to_string())),
                (2, None),
                (3, None),
                (4, None)
            ]
        );
    }

    #[test]
    fn the_consoles_reads_of_every_project_use_their_covering_indexes() {
        use rusqlite::types::Value;
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("s.db")).unwrap();
        for (sql, params, index) in [
            (
                summary::CURRENT_FORMS,
                vec![Value::Integer(2026)],
                "submissions_current",
            ),
            (
                submissions::ACCEPTED_FORMS,
                vec![Value::Integer(2026)],
                "submissions_accepted",
            ),
        ] {
            let plan = query_plan(&conn, sql, &params);
            assert!(
                plan.contains(&format!("USING COVERING INDEX {index}")),
                "{plan}"
            );
        }
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let e = open(&path).unwrap_err().to_string();
        assert!(e.contains("newer than this jixiao knows"), "{e}");
    }
}
