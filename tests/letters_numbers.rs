//! Document numbers in a real SQLite file: one sequence per (机关代字, year), kept across
//! restarts, and a rolled-back letter leaves no gap.

use chrono::{TimeZone, Utc};
use jixiao::store::letters::{IssuedLetter, issue, peek_number as peek};
use rusqlite::Connection;

fn letter(kind: &str) -> IssuedLetter<'static> {
    IssuedLetter {
        kind: if kind == "r" {
            "return_notice"
        } else {
            "target_review"
        },
        department: "吉林省农业农村厅",
        project_key: "2026|吉林省农业农村厅|22000026000101",
        submission_id: None,
        file_name: "a.docx",
        docx: b"PK",
        created_at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap(),
    }
}

fn open(path: &std::path::Path) -> Connection {
    jixiao::store::open(path).unwrap()
}

#[test]
fn sequences_per_agency_and_year_survive_reopening_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut conn = open(&path);
    let take = |conn: &mut Connection, agency: &str, year: i32| {
        let tx = conn.transaction().unwrap();
        let n = issue(&tx, agency, year, &letter("t")).unwrap();
        tx.commit().unwrap();
        n
    };
    assert_eq!(take(&mut conn, "吉财绩函", 2026), 1);
    assert_eq!(take(&mut conn, "吉财绩函", 2026), 2);
    assert_eq!(
        take(&mut conn, "吉财绩函", 2027),
        1,
        "a new year starts at 1"
    );
    assert_eq!(
        take(&mut conn, "吉财预函", 2026),
        1,
        "each 机关代字 has its own"
    );

    // A letter that fails after taking its number is rolled back: no number, no letter.
    {
        let tx = conn.transaction().unwrap();
        assert_eq!(issue(&tx, "吉财绩函", 2026, &letter("r")).unwrap(), 3);
        tx.rollback().unwrap();
    }
    assert_eq!(peek(&conn, "吉财绩函", 2026).unwrap(), 3);
    drop(conn);

    // A restart reads the same file and goes on without repeating or skipping.
    let mut conn = open(&path);
    assert_eq!(take(&mut conn, "吉财绩函", 2026), 3);
    let numbers: Vec<u32> = conn
        .prepare("SELECT number FROM issued_letters WHERE agency = '吉财绩函' AND year = 2026 ORDER BY number")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        numbers,
        vec![1, 2, 3],
        "every number has exactly one letter"
    );
    let kinds: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM issued_letters WHERE kind = 'return_notice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kinds, 0, "the rolled-back letter was not kept");
}

#[test]
fn two_connections_never_share_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut a = open(&path);
    let mut b = open(&path);
    let mut seen = Vec::new();
    for i in 0..10 {
        let conn = if i % 2 == 0 { &mut a } else { &mut b };
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        seen.push(issue(&tx, "吉财绩函", 2026, &letter("t")).unwrap());
        tx.commit().unwrap();
    }
    assert_eq!(seen, (1..=10).collect::<Vec<u32>>());
}
