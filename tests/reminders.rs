//! Deadlines and reminders with a controllable clock: who owes what, which reminder is due on
//! which day, each sent once, and what is overdue.

use std::path::Path;

use chrono::NaiveDate;
use jixiao::config::Config;
use jixiao::forms::record::FormRecord;
use jixiao::store::submissions::{self, NewSubmission, Outcome};
use jixiao::{Checker, Definitions, Limits};

/// The 2026 deadlines these tests run against (the example setup sets none).
const DEADLINES_2026: &str = include_str!("fixtures/state/deadlines-2026.toml");

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn config(dir: &Path) -> Config {
    let text = format!("{}{DEADLINES_2026}", jixiao::config::EXAMPLE);
    std::fs::write(dir.join("jixiao.toml"), &text).unwrap();
    Config::load(&dir.join("jixiao.toml")).unwrap()
}

/// Records a fixture as the daemon would, for department `dept`.
fn submit(conn: &mut rusqlite::Connection, fixture: &str, dept: &str) {
    submit_as(conn, fixture, dept, "2026-03-01T09:00:00+08:00", |_| {});
}

/// Records a fixture received at `received_at`, its result changed by `edit` first (to give a
/// conclusion no fixture has).
fn submit_as(
    conn: &mut rusqlite::Connection,
    fixture: &str,
    dept: &str,
    received_at: &str,
    edit: impl FnOnce(&mut jixiao::CheckResult),
) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let checker = Checker::new(Definitions::embedded(), Limits::default());
    let mut checked = checker.check_path(&path, fixture);
    edit(&mut checked.result);
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
            received_at,
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
    let nyt: Vec<_> = owed
        .iter()
        .filter(|o| o.department == "nyt")
        .map(|o| (o.form, o.due))
        .collect();
    // A corrected declaration is owed within 10 days of the review (received 2026-03-01).
    assert_eq!(
        nyt,
        [(jixiao::FormKind::TargetDeclaration, d("2026-03-11"))],
        "{owed:?}"
    );
    assert!(
        jixiao::cycle::overdue(&conn, &cfg.calendar(), d("2026-03-12"))
            .unwrap()
            .iter()
            .any(|o| o.department == "nyt"),
        "a department whose declaration awaits revision is overdue, not forgotten"
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

/// Renders the reminders due on `today` as the daemon sends them: (subject, body) per
/// department code.
fn rendered(
    conn: &rusqlite::Connection,
    cfg: &Config,
    today: NaiveDate,
) -> Vec<(String, String, String)> {
    let letters = jixiao::letters::Letters::load(None).unwrap();
    let settings = jixiao::letters::LetterSettings::default();
    jixiao::cycle::due_reminders(conn, &cfg.calendar(), today)
        .unwrap()
        .iter()
        .map(|n| {
            let (subject, body) = letters
                .render_notice(jixiao::letters::NoticeKind::Reminder, &settings, n)
                .unwrap();
            (n.department_code.clone(), subject, body)
        })
        .collect()
}

#[test]
fn a_declaration_reminder_says_what_is_owed() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}{DEADLINES_2026}\n[[deadlines]]\nyear = 2027\nform = \"target_declaration\"\ndue = \"2027-03-31\"\n",
        jixiao::config::EXAMPLE
    );
    std::fs::write(dir.path().join("jixiao.toml"), &text).unwrap();
    let cfg = Config::load(&dir.path().join("jixiao.toml")).unwrap();
    let mut conn = jixiao::store::open(&cfg.database()).unwrap();
    // A department with nothing known: the form itself is named.
    let r = rendered(&conn, &cfg, d("2026-03-24"));
    let nyt = r.iter().find(|x| x.0 == "nyt").unwrap();
    assert!(
        nyt.2
            .contains("你单位尚未报送项目支出绩效目标申报表，请按时报送。"),
        "{}",
        nyt.2
    );
    assert!(!nyt.2.contains("以下项目尚未报送："), "{}", nyt.2);
    // A returned declaration, and last year's project: both are named in the next year.
    submit(&mut conn, "examples/农业农村厅-绩效目标申报表.xlsx", "nyt");
    submit_as(
        &mut conn,
        "examples/退回示例-资金合计不符.xlsx",
        "jyt",
        "2026-03-02T09:00:00+08:00",
        |_| {},
    );
    let r = rendered(&conn, &cfg, d("2026-03-30"));
    let jyt = r.iter().find(|x| x.0 == "jyt").unwrap();
    assert!(
        jyt.2.contains("以下项目尚未报送，请按时报送："),
        "{}",
        jyt.2
    );
    assert!(jyt.2.contains("（已退回，请修改后重新报送）"), "{}", jyt.2);
    let r = rendered(&conn, &cfg, d("2027-03-24"));
    let nyt = r
        .iter()
        .find(|x| x.0 == "nyt" && x.1.contains("绩效目标申报表"))
        .unwrap();
    assert!(
        nyt.2
            .contains("- 基层农技推广体系改革与建设补助项目（上年度项目）"),
        "{}",
        nyt.2
    );
}

#[test]
fn a_declaration_not_passed_owes_a_corrected_one_by_its_revision_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut conn = jixiao::store::open(&cfg.database()).unwrap();
    submit_as(
        &mut conn,
        "examples/农业农村厅-绩效目标申报表.xlsx",
        "nyt",
        "2026-03-01T09:00:00+08:00",
        |r| r.review.as_mut().unwrap().conclusion = jixiao::rules::review::Conclusion::Fail,
    );
    // Owed: the corrected declaration, 10 days ([letters] revision_days) after the review.
    let owed = jixiao::cycle::owed(&conn, &cfg.calendar(), Some(2026)).unwrap();
    let nyt: Vec<_> = owed.iter().filter(|o| o.department == "nyt").collect();
    assert_eq!(nyt.len(), 1, "{owed:?}");
    assert_eq!(nyt[0].form, jixiao::FormKind::TargetDeclaration);
    // Reminded before and after that day, not only by the year's deadline.
    let sent = send_all(&mut conn, &cfg, d("2026-03-04"));
    assert!(
        sent.iter()
            .any(|(dept, _, label)| dept == "nyt" && label.ends_with("-before-7")),
        "{sent:?}"
    );
    let r = rendered(&conn, &cfg, d("2026-03-12"));
    let nyt = r
        .iter()
        .find(|x| x.0 == "nyt")
        .expect("an overdue reminder");
    assert!(nyt.1.contains("逾期未报"), "{}", nyt.1);
    assert!(
        nyt.2.contains(
            "审核结论为不通过，请按审核意见修改后重新报送。重新报送期限2026年3月11日已过1天"
        ),
        "{}",
        nyt.2
    );
    assert!(
        nyt.2.contains("- 基层农技推广体系改革与建设补助项目"),
        "{}",
        nyt.2
    );
    // Overdue (as status and the summary list it) from the day after.
    let overdue = jixiao::cycle::overdue(&conn, &cfg.calendar(), d("2026-03-12")).unwrap();
    assert!(overdue.iter().any(|o| o.department == "nyt"), "{overdue:?}");
    // A corrected declaration concluded 通过 settles it.
    submit_as(
        &mut conn,
        "examples/农业农村厅-绩效目标申报表.xlsx",
        "nyt",
        "2026-03-13T09:00:00+08:00",
        |_| {},
    );
    let owed = jixiao::cycle::owed(&conn, &cfg.calendar(), Some(2026)).unwrap();
    assert!(
        owed.iter()
            .all(|o| !(o.department == "nyt" && o.form == jixiao::FormKind::TargetDeclaration)),
        "{owed:?}"
    );
}
