//! Deadlines and reminders with a controllable clock: who owes what, which reminder is due on
//! which day, each sent once, and what is overdue.

use std::path::Path;

use chrono::NaiveDate;
use jixiao::config::Config;
use jixiao::forms::record::FormRecord;
use jixiao::store::submissions::{self, NewSubmission, Outcome};
use jixiao::{Checker, Definitions, Limits};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn config(dir: &Path) -> Config {
    let text = jixiao::config::EXAMPLE.to_string();
    std::fs::write(dir.join("jixiao.toml"), &text).unwrap();
    Config::load(&dir.join("jixiao.toml")).unwrap()
}

/// Records a fixture as the daemon would, for department `dept`.
fn submit(conn: &mut rusqlite::Connection, fixture: &str, dept: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let checker = Checker::new(Definitions::embedded(), Limits::default());
    let checked = checker.check_path(&path, fixture);
    let r = &checked.result;
    let project = r.project.clone().unwrap();
    let key = project.key(dept);
    let record = FormRecord::from_form(checked.form.as_deref().unwrap());
    let tx = conn.transaction().unwrap();
    submissions::record(
        &tx,
        &NewSubmission {
            department: dept,
            inbox_path: fixture,
            file_name: fixture,
            sha256: fixture,
            size: 1,
            received_at: "2026-03-01T09:00:00+08:00",
            outcome: if r.accepted() {
                Outcome::Accepted
            } else {
                Outcome::Rejected
            },
            form: r.form,
            year: project.year,
            project_key: key.as_ref(),
            project_code: project.code.as_deref(),
            project_name: project.name.as_deref(),
            result: Some(r),
            record: Some(&record),
            duplicate_of: None,
            archive_path: "-",
        },
    )
    .unwrap();
    tx.commit().unwrap();
}

fn send_all(
    conn: &mut rusqlite::Connection,
    cfg: &Config,
    today: NaiveDate,
) -> Vec<(String, String, String)> {
    let due = jixiao::cycle::due_reminders(conn, &cfg.calendar(), today).unwrap();
    let tx = conn.transaction().unwrap();
    for n in &due {
        jixiao::cycle::record_sent(&tx, n, today, None).unwrap();
    }
    tx.commit().unwrap();
    due.into_iter()
        .map(|n| (n.department_code, n.form.id().to_string(), n.label))
        .collect()
}

#[test]
fn reminders_before_and_after_each_deadline_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut conn = jixiao::store::open(&cfg.database()).unwrap();

    // Nothing is due before the first reminder day (7 days before 2026-03-31).
    assert!(send_all(&mut conn, &cfg, d("2026-03-23")).is_empty());
    // 7 days before: both departments owe a declaration.
    let sent = send_all(&mut conn, &cfg, d("2026-03-24"));
    assert_eq!(
        sent,
        [
            (
                "nyt".to_string(),
                "target_declaration".to_string(),
                "before-7".to_string()
            ),
            (
                "jyt".to_string(),
                "target_declaration".to_string(),
                "before-7".to_string()
            )
        ]
    );
    // The same day again, and the next day: nothing new.
    assert!(send_all(&mut conn, &cfg, d("2026-03-24")).is_empty());
    assert!(send_all(&mut conn, &cfg, d("2026-03-25")).is_empty());

    // 农业农村厅 declares (通过); 教育厅 does not.
    submit(&mut conn, "examples/农业农村厅-绩效目标申报表.xlsx", "nyt");
    let sent = send_all(&mut conn, &cfg, d("2026-03-30"));
    assert_eq!(
        sent,
        [(
            "jyt".to_string(),
            "target_declaration".to_string(),
            "before-1".to_string()
        )]
    );
    let notice = &jixiao::cycle::due_reminders(&conn, &cfg.calendar(), d("2026-04-01")).unwrap()[0];
    assert!(notice.overdue);
    assert_eq!(notice.days, 1);
    assert_eq!(notice.deadline, "2026年3月31日");
    assert_eq!(notice.department, "吉林省教育厅");

    // Overdue on 2026-04-01: 教育厅's declaration; 农业农村厅's project owes nothing yet (the
    // report is due in August).
    let overdue = jixiao::cycle::overdue(&conn, &cfg.calendar(), d("2026-04-01")).unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].department, "jyt");

    // After a long stop, only the latest reminder day is sent, not every missed one.
    let sent = send_all(&mut conn, &cfg, d("2026-04-20"));
    assert_eq!(
        sent,
        [(
            "jyt".to_string(),
            "target_declaration".to_string(),
            "after-7".to_string()
        )]
    );
    assert!(send_all(&mut conn, &cfg, d("2026-04-21")).is_empty());

    // The approved project owes its performance report by 2026-08-15.
    let due = jixiao::cycle::due_reminders(&conn, &cfg.calendar(), d("2026-08-08")).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].form, jixiao::FormKind::PerformanceReport);
    assert_eq!(due[0].missing, ["基层农技推广体系改革与建设补助项目"]);
    assert_eq!(due[0].days, 7);
    assert!(!due[0].overdue);
    submit(&mut conn, "examples/农业农村厅-绩效运行监控表.xlsx", "nyt");
    assert!(
        jixiao::cycle::due_reminders(&conn, &cfg.calendar(), d("2026-08-08"))
            .unwrap()
            .iter()
            .all(|n| n.form != jixiao::FormKind::PerformanceReport),
        "a report received settles it"
    );
}

#[test]
fn a_declaration_concluded_for_revision_owes_nothing_until_approved() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut conn = jixiao::store::open(&cfg.database()).unwrap();
    submit(&mut conn, "crossform/申报表-修改后通过.xlsx", "nyt");
    let owed = jixiao::cycle::owed(&conn, &cfg.calendar(), Some(2026)).unwrap();
    assert!(
        owed.iter()
            .all(|o| !(o.department == "nyt" && o.form != jixiao::FormKind::TargetDeclaration)),
        "{owed:?}"
    );
    jixiao::cycle::approvals::approve(
        &conn,
        &jixiao::forms::project::ProjectKey::new(Some(2026), "nyt", "22000026000101"),
        None,
        "test",
        None,
        "now",
    )
    .unwrap()
    .unwrap();
    let owed = jixiao::cycle::owed(&conn, &cfg.calendar(), Some(2026)).unwrap();
    let nyt: Vec<_> = owed
        .iter()
        .filter(|o| o.department == "nyt")
        .map(|o| o.form)
        .collect();
    assert_eq!(
        nyt,
        [
            jixiao::FormKind::PerformanceReport,
            jixiao::FormKind::SelfEvaluation
        ]
    );
}
