//! The state database across an upgrade: a database made by jixiao 0.1.0 (committed as a
//! fixture: eight submissions of the shared examples, letters, approvals, reminders, the outbox
//! and a summary mail, all sent) opens with this version, is migrated forward, and keeps every row, read
//! back typed.

use std::path::{Path, PathBuf};

use jixiao::forms::FormKind;
use jixiao::forms::project::ProjectKey;
use jixiao::store::submissions::{self, Outcome, Stage};
use rusqlite::Connection;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/state/jixiao-0.1.0.db"
);

/// A copy of the 0.1.0 database in a temporary folder.
fn old_database() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jixiao.db");
    std::fs::copy(FIXTURE, &path).unwrap();
    (dir, path)
}

/// Rows per table, read with plain SQL.
fn counts(path: &Path) -> Vec<(String, i64)> {
    let conn = Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    tables
        .into_iter()
        .map(|t| {
            let n = conn
                .query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect()
}

#[test]
fn a_database_of_0_1_0_is_migrated_forward_with_nothing_lost() {
    let (_dir, path) = old_database();
    let before = counts(&path);
    let version: u32 = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 0, "0.1.0 kept no schema version");
    assert!(
        before.iter().any(|(t, n)| t == "submissions" && *n == 8),
        "{before:?}"
    );

    // What 0.1.0 had of each letter: its link to the submission, and the files beside the
    // originals.
    let old = Connection::open(&path).unwrap();
    let links: Vec<(i64, String, String, String)> = old
        .prepare("SELECT submission_id, kind, doc_number, title FROM submission_letters ORDER BY 1")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(links.len(), 7);
    let old_answers: Vec<(i64, String, Vec<u8>)> = old
        .prepare("SELECT submission_id, file_name, bytes FROM answers ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    drop(old);

    let conn = jixiao::store::open(&path).unwrap();
    assert_eq!(
        jixiao::store::schema_version(&conn).unwrap(),
        jixiao::store::SCHEMA_VERSION
    );
    drop(conn);
    let after = counts(&path);
    for (table, n) in &before {
        let now = after.iter().find(|(t, _)| t == table).map(|(_, n)| *n);
        match table.as_str() {
            // Version 2 keeps each letter once: the link moved into issued_letters, and the
            // copies of the letters beside the originals are read from there.
            "submission_letters" => assert_eq!(now, None),
            "answers" => assert_eq!(now, Some(*n - 7), "the seven letters' copies are gone"),
            _ => assert_eq!(now, Some(*n), "table {table} kept its rows"),
        }
    }

    // Opening it again changes nothing.
    let conn = jixiao::store::open(&path).unwrap();
    assert_eq!(counts(&path), after);

    // Every submission reads back typed.
    let all = submissions::recent(&conn, 100).unwrap();
    assert_eq!(all.len(), 8);
    assert!(all.iter().all(|s| s.stage == Stage::Done));
    let outcomes = |o: Outcome| all.iter().filter(|s| s.outcome == o).count();
    assert_eq!(
        (
            outcomes(Outcome::Accepted),
            outcomes(Outcome::Rejected),
            outcomes(Outcome::Duplicate)
        ),
        (5, 2, 1)
    );
    let kinds = |k: FormKind| all.iter().filter(|s| s.form == Some(k)).count();
    assert_eq!(kinds(FormKind::TargetDeclaration), 3);
    assert_eq!(kinds(FormKind::PerformanceReport), 1);
    assert_eq!(kinds(FormKind::SelfEvaluation), 3);

    // The year cycle as 0.1.0 left it: both declarations in force (one 通过, one approved).
    let nyt = ProjectKey::new(Some(2026), "nyt", "22000026000101");
    let jyt = ProjectKey::new(Some(2026), "jyt", "22000026000233");
    let (id, record) = jixiao::cycle::approvals::approved_declaration(&conn, &nyt)
        .unwrap()
        .unwrap();
    assert_eq!(id, 2);
    assert!(!record.indicators.is_empty());
    assert_eq!(
        jixiao::cycle::approvals::approved_declaration(&conn, &jyt)
            .unwrap()
            .map(|(id, _)| id),
        Some(6)
    );
    // The same worked out from the conclusions' column (version 12 filled it from the results
    // 0.1.0 stored), as 待批复 and what is owed read them.
    let in_force = |key| {
        jixiao::cycle::approvals::standing(&conn, key)
            .unwrap()
            .in_force
    };
    assert_eq!((in_force(&nyt), in_force(&jyt)), (Some(2), Some(6)));
    // The approval 0.1.0 recorded reads back as an approval, with who and the note.
    let decisions = jixiao::cycle::approvals::standing(&conn, &jyt)
        .unwrap()
        .decisions;
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].action.as_str(), "approve");
    assert_eq!(decisions[0].submission_id, 6);
    assert_eq!(decisions[0].source, "command");
    assert_eq!(decisions[0].note.as_deref(), Some("同意"));
    assert_eq!(submissions::by_project(&conn, &nyt).unwrap().len(), 3);

    // Letters, their numbers and the files beside the originals: the same as before.
    for (id, kind, number, title) in &links {
        let letter = jixiao::store::letters::letter_of(&conn, *id)
            .unwrap()
            .unwrap();
        assert_eq!(
            (&letter.kind, &letter.doc_number, &letter.title),
            (kind, number, title)
        );
    }
    let letter = jixiao::store::letters::letter_of(&conn, 2)
        .unwrap()
        .unwrap();
    assert_eq!(letter.doc_number, "吉财绩函〔2026〕2号");
    let mut answers_now = Vec::new();
    for id in 1..=8 {
        for (name, bytes) in jixiao::store::letters::answers(&conn, id).unwrap() {
            answers_now.push((id, name, bytes));
        }
    }
    answers_now.sort();
    assert_eq!(
        answers_now, old_answers,
        "every file beside an original, byte for byte"
    );
    assert_eq!(
        jixiao::store::letters::peek_number(&conn, "吉财绩函", 2026).unwrap(),
        8,
        "the next letter continues the sequence"
    );
    let answers = jixiao::store::letters::answers(&conn, 5).unwrap();
    assert!(
        answers
            .iter()
            .any(|(n, b)| n.ends_with(".docx") && b.starts_with(b"PK"))
    );
    assert!(
        answers
            .iter()
            .any(|(n, _)| n.ends_with("（错误标注）.xlsx"))
    );

    // Reminders sent stay sent; the outbox keeps every message with its bytes.
    assert!(
        jixiao::store::reminders::was_sent(
            &conn,
            2026,
            FormKind::PerformanceReport,
            "jyt",
            "after-1"
        )
        .unwrap()
    );
    let mail = jixiao::mail::outbox::list(&conn, jixiao::mail::ListFilter::All).unwrap();
    assert_eq!(mail.len(), 19);
    let sent = mail
        .iter()
        .filter(|m| m.status == jixiao::mail::Status::Sent)
        .count();
    assert_eq!(sent, 19);
    let raw = jixiao::mail::outbox::raw_message(&conn, 1)
        .unwrap()
        .unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.contains("Message-ID: <jixiao.1."), "{raw}");
}

#[test]
fn a_database_of_a_newer_jixiao_is_refused_not_changed() {
    let (_dir, path) = old_database();
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", jixiao::store::SCHEMA_VERSION + 1)
        .unwrap();
    let before = counts(&path);
    let e = jixiao::store::open(&path).unwrap_err().to_string();
    assert!(e.contains("newer than this jixiao knows"), "{e}");
    assert_eq!(counts(&path), before);
}
