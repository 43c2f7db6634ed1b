//! The year cycle: deadlines, what is owed, reminders (催报通知), and which declaration's targets
//! are in force.
//!
//! Every configured department owes a target declaration each year; every project with an
//! approved declaration owes a performance report and a self-evaluation. A declaration concluded
//! 不通过, or 修改后通过 and not approved, owes a corrected declaration within
//! `[letters] revision_days` of its review letter. Before and after each deadline, a department
//! that still owes a form gets one reminder per configured day, listing what it owes; each
//! reminder is sent once.

pub mod approvals;
pub(crate) mod issue;
pub mod signoff;

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::NaiveDate;
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use crate::departments::{self, Department};
use crate::forms::FormKind;
use crate::rules::review::Conclusion;
use crate::store;
use crate::text::chinese_date;

/// A form's due date in a year (`[[deadlines]]` in jixiao.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Deadline {
    pub(crate) year: i32,
    /// `target_declaration`, `performance_report` or `self_evaluation`.
    pub(crate) form: String,
    pub(crate) due: NaiveDate,
}

impl Deadline {
    pub(crate) fn kind(&self) -> Option<FormKind> {
        FormKind::from_id(&self.form)
    }
}

/// When reminders go out (`[reminders]` in jixiao.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ReminderSettings {
    /// Days before the deadline, e.g. `[7, 1]`.
    pub(crate) days_before: Vec<u32>,
    /// Days after the deadline, e.g. `[1, 7]`.
    pub(crate) days_after: Vec<u32>,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            days_before: vec![7, 1],
            days_after: vec![1, 7],
        }
    }
}

/// What the year cycle is worked out from: the deadlines, the reminder days, and the departments
/// that owe forms.
#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    pub(crate) deadlines: &'a [Deadline],
    pub(crate) reminders: &'a ReminderSettings,
    pub(crate) departments: &'a [Department],
    /// Days a department has to send a corrected declaration after its review letter (the
    /// `[letters] revision_days` the letter states).
    pub(crate) revision_days: u32,
}

/// What a department still owes for one deadline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Owed {
    pub department: String,
    pub form: FormKind,
    pub year: i32,
    /// The deadline, or for a corrected declaration its revision deadline.
    pub due: NaiveDate,
    /// The projects (by name) that owe the form. For a declaration owed by the department, the
    /// projects known to be expected (last year's, returned ones), each with why; may be empty.
    pub(crate) projects: Vec<String>,
    /// For a corrected declaration: the declaration it corrects.
    pub(crate) revision: Option<Revision>,
}

/// A declaration whose review asks for a corrected one, owed by `due` of [`Owed`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    /// The submission reviewed.
    pub(crate) submission: i64,
    pub(crate) conclusion: Conclusion,
    /// The day of its review letter.
    pub(crate) reviewed: NaiveDate,
}

impl Owed {
    /// What is owed, as `jixiao status` and the summary's 逾期未报 sheet list it.
    pub(crate) fn what(&self) -> String {
        match &self.revision {
            Some(r) => format!(
                "{}（审核结论为{}，待修改后重新报送）",
                self.projects.join("、"),
                r.conclusion
            ),
            None => self.projects.join("、"),
        }
    }
}

/// The corrected declaration a project owes: its latest accepted declaration was concluded
/// 不通过, or 修改后通过 without the finance office's approval, and no declaration of it is in
/// force.
fn revision_owed(conn: &Connection, p: &approvals::Project) -> anyhow::Result<Option<Revision>> {
    if p.standing.in_force.is_some() {
        return Ok(None);
    }
    let latest = p.latest();
    let Some(conclusion) = latest.conclusion else {
        return Ok(None);
    };
    if conclusion == Conclusion::Pass {
        return Ok(None);
    }
    let Some(received) = store::reminders::received_on(conn, latest.id)? else {
        return Ok(None);
    };
    Ok(Some(Revision {
        submission: latest.id,
        conclusion,
        reviewed: received,
    }))
}

/// The name a project is listed by: its latest 项目名称, else its key.
fn project_name(p: &approvals::Project) -> String {
    let latest = p.latest();
    latest
        .name
        .clone()
        .unwrap_or_else(|| latest.key.to_string())
}

/// The projects a department is expected to declare when it has declared nothing this year:
/// those returned this year, then last year's, each with why.
fn expected_projects(
    conn: &Connection,
    year: i32,
    dept: &str,
    last_year: &YearState,
) -> anyhow::Result<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for name in store::reminders::returned_declarations(conn, year, dept)? {
        if seen.insert(name.clone()) {
            out.push(format!("{name}（已退回，请修改后重新报送）"));
        }
    }
    for p in last_year.of(dept) {
        if let Some(name) = &p.latest().name
            && seen.insert(name.clone())
        {
            out.push(format!("{name}（上年度项目）"));
        }
    }
    Ok(out)
}

/// A year's projects and accepted forms, read once for all its deadlines and departments: two
/// reads of indexes, whatever the number of projects.
#[derive(Default)]
struct YearState {
    /// The projects with an accepted declaration, by department, each by key.
    projects: BTreeMap<String, Vec<approvals::Project>>,
    /// Every (project key, form) with an accepted form.
    accepted: std::collections::HashSet<(String, FormKind)>,
}

impl YearState {
    fn read(conn: &Connection, year: i32) -> anyhow::Result<YearState> {
        let mut projects: BTreeMap<String, Vec<approvals::Project>> = BTreeMap::new();
        for p in approvals::projects(conn, Some(year), None)? {
            projects
                .entry(p.latest().department.clone())
                .or_default()
                .push(p);
        }
        let accepted = store::submissions::accepted_forms(conn, year)?
            .into_iter()
            .map(|(key, form)| (key.as_str().to_string(), form))
            .collect();
        Ok(YearState { projects, accepted })
    }

    /// A department's projects.
    fn of(&self, dept: &str) -> &[approvals::Project] {
        self.projects.get(dept).map_or(&[], Vec::as_slice)
    }

    fn has_accepted(&self, p: &approvals::Project, form: FormKind) -> bool {
        self.accepted
            .contains(&(p.latest().key.as_str().to_string(), form))
    }
}

/// Everything owed for the configured deadlines of `year` (all deadlines when `None`).
pub fn owed(conn: &Connection, cal: &Calendar, year: Option<i32>) -> anyhow::Result<Vec<Owed>> {
    let mut years: BTreeMap<i32, YearState> = BTreeMap::new();
    let mut state = |y: i32| -> anyhow::Result<()> {
        if let std::collections::btree_map::Entry::Vacant(e) = years.entry(y) {
            e.insert(YearState::read(conn, y)?);
        }
        Ok(())
    };
    let deadlines: Vec<_> = cal
        .deadlines
        .iter()
        .filter(|d| year.is_none_or(|y| d.year == y))
        .filter_map(|d| d.kind().map(|kind| (d, kind)))
        .collect();
    for (d, kind) in &deadlines {
        state(d.year)?;
        if *kind == FormKind::TargetDeclaration {
            state(d.year - 1)?;
        }
    }
    let mut out = Vec::new();
    for (d, kind) in deadlines {
        let this_year = &years[&d.year];
        for dept in cal.departments {
            let declared = this_year.of(&dept.code);
            let projects = match kind {
                FormKind::TargetDeclaration => {
                    if !declared.is_empty() {
                        for p in declared {
                            let Some(revision) = revision_owed(conn, p)? else {
                                continue;
                            };
                            out.push(Owed {
                                department: dept.code.clone(),
                                form: kind,
                                year: d.year,
                                due: revision.reviewed
                                    + chrono::Days::new(u64::from(cal.revision_days)),
                                projects: vec![project_name(p)],
                                revision: Some(revision),
                            });
                        }
                        continue;
                    }
                    expected_projects(conn, d.year, &dept.code, &years[&(d.year - 1)])?
                }
                _ => {
                    let missing: Vec<String> = declared
                        .iter()
                        .filter(|p| {
                            p.standing.in_force.is_some() && !this_year.has_accepted(p, kind)
                        })
                        .map(project_name)
                        .collect();
                    if missing.is_empty() {
                        continue;
                    }
                    missing
                }
            };
            out.push(Owed {
                department: dept.code.clone(),
                form: kind,
                year: d.year,
                due: d.due,
                projects,
                revision: None,
            });
        }
    }
    Ok(out)
}

/// What is owed past its deadline on `today`.
pub fn overdue(conn: &Connection, cal: &Calendar, today: NaiveDate) -> anyhow::Result<Vec<Owed>> {
    Ok(owed(conn, cal, None)?
        .into_iter()
        .filter(|o| o.due < today)
        .collect())
}

/// The context a reminder is written from (`letters/reminder.txt.j2`).
#[derive(Debug, Clone, Serialize)]
pub struct ReminderNotice {
    /// 主送: the department's name.
    pub department: String,
    pub department_code: String,
    pub(crate) form_name: String,
    /// `2026年3月31日`.
    pub deadline: String,
    pub overdue: bool,
    /// Days left before, or days past, the deadline.
    pub days: i64,
    pub missing: Vec<String>,
    /// For a corrected declaration: the review's conclusion (不通过, 修改后通过) and its date.
    pub revision: Option<RevisionNotice>,
    #[serde(skip)]
    pub label: String,
    #[serde(skip)]
    pub(crate) year: i32,
    #[serde(skip)]
    pub form: FormKind,
}

/// The review a corrected declaration answers, as the reminder states it.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionNotice {
    pub conclusion: String,
    /// `2026年3月1日`.
    pub reviewed: String,
}

/// The reminders due on `today` that have not been sent: for each owed form, the latest
/// reminder day that has come (earlier ones missed while the daemon was stopped are not sent
/// late on top of it).
pub fn due_reminders(
    conn: &Connection,
    cal: &Calendar,
    today: NaiveDate,
) -> anyhow::Result<Vec<ReminderNotice>> {
    let mut out = Vec::new();
    for o in owed(conn, cal, None)? {
        // A corrected declaration's reminders are its own: each review has its days.
        let prefix = o
            .revision
            .as_ref()
            .map_or(String::new(), |r| format!("revision-{}-", r.submission));
        let mut days: Vec<(NaiveDate, String, bool)> = Vec::new();
        for n in &cal.reminders.days_before {
            days.push((
                o.due - chrono::Days::new(*n as u64),
                format!("{prefix}before-{n}"),
                false,
            ));
        }
        for n in &cal.reminders.days_after {
            days.push((
                o.due + chrono::Days::new(*n as u64),
                format!("{prefix}after-{n}"),
                true,
            ));
        }
        let Some((_, label, overdue)) = days
            .into_iter()
            .filter(|(d, _, _)| *d <= today)
            .max_by_key(|(d, _, _)| *d)
        else {
            continue;
        };
        if store::reminders::was_sent(conn, o.year, o.form, &o.department, &label)? {
            continue;
        }
        let dept = departments::by_code(cal.departments, &o.department)
            .context("owed by a configured department")?;
        out.push(ReminderNotice {
            department: dept.name.clone(),
            department_code: dept.code.clone(),
            form_name: o.form.full_name().to_string(),
            deadline: chinese_date(o.due),
            overdue,
            days: (today - o.due).num_days().abs(),
            missing: o.projects.clone(),
            revision: o.revision.as_ref().map(|r| RevisionNotice {
                conclusion: r.conclusion.to_string(),
                reviewed: chinese_date(r.reviewed),
            }),
            label,
            year: o.year,
            form: o.form,
        });
    }
    Ok(out)
}

/// Records a reminder as sent, in the transaction that queues its message.
pub fn record_sent(
    tx: &Transaction,
    n: &ReminderNotice,
    today: NaiveDate,
    outbox_id: Option<i64>,
) -> anyhow::Result<()> {
    store::reminders::record_sent(
        tx,
        &store::reminders::SentReminder {
            year: n.year,
            form: n.form,
            department: &n.department_code,
            label: &n.label,
            sent_on: &today.to_string(),
            outbox_id,
            projects: &n.missing,
        },
    )?;
    Ok(())
}

/// Overdue departments grouped for display: department code → forms owed.
pub(crate) fn overdue_by_department(items: &[Owed]) -> BTreeMap<String, Vec<&Owed>> {
    let mut map: BTreeMap<String, Vec<&Owed>> = BTreeMap::new();
    for o in items {
        map.entry(o.department.clone()).or_default().push(o);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckResult;
    use crate::forms::project::ProjectKey;
    use crate::store::submissions::{NewSubmission, Outcome};

    /// Records an accepted form of project `code` of 农业农村厅, 2026, named `name`.
    fn record(
        conn: &mut Connection,
        code: &str,
        name: &str,
        form: FormKind,
        conclusion: Option<Conclusion>,
        received_at: &str,
    ) -> i64 {
        let key = ProjectKey::new(Some(2026), "nyt", code);
        let result = CheckResult::reviewed(Some(form), conclusion);
        let sha = format!("{code}{name}{received_at}{form:?}");
        let tx = conn.transaction().unwrap();
        let id = store::submissions::record(
            &tx,
            &NewSubmission {
                department: "nyt",
                inbox_path: "a.xlsx",
                file_name: "a.xlsx",
                sha256: &sha,
                size: 1,
                received_at,
                outcome: Outcome::Accepted,
                form: Some(form),
                year: Some(2026),
                project_key: Some(&key),
                project_code: Some(code),
                project_name: Some(name),
                result: Some(&result),
                record: None,
                duplicate_of: None,
                archive_path: "x",
            },
        )
        .unwrap();
        tx.commit().unwrap();
        id
    }

    #[test]
    fn a_renamed_project_owes_once_and_a_corrected_declaration_is_due_after_its_latest_review() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = store::open(&dir.path().join("s.db")).unwrap();
        use Conclusion::{Pass, PassAfterRevision};
        // Renamed in its second declaration (an adjustment request): one project, by its new name.
        record(
            &mut conn,
            "A1",
            "旧名称",
            FormKind::TargetDeclaration,
            Some(Pass),
            "2026-03-01T09:00:00+08:00",
        );
        record(
            &mut conn,
            "A1",
            "新名称",
            FormKind::TargetDeclaration,
            Some(Pass),
            "2026-03-05T09:00:00+08:00",
        );
        // Sent back for revision twice: the second review sets the deadline.
        record(
            &mut conn,
            "B2",
            "乙项目",
            FormKind::TargetDeclaration,
            Some(PassAfterRevision),
            "2026-03-02T09:00:00+08:00",
        );
        let second = record(
            &mut conn,
            "B2",
            "乙项目",
            FormKind::TargetDeclaration,
            Some(PassAfterRevision),
            "2026-03-20T09:00:00+08:00",
        );
        // In force with its report: owes only the self-evaluation.
        record(
            &mut conn,
            "C3",
            "丙项目",
            FormKind::TargetDeclaration,
            Some(Pass),
            "2026-03-03T09:00:00+08:00",
        );
        record(
            &mut conn,
            "C3",
            "丙项目",
            FormKind::PerformanceReport,
            None,
            "2026-07-03T09:00:00+08:00",
        );

        let departments = [Department {
            name: "吉林省农业农村厅".into(),
            aliases: Vec::new(),
            code: "nyt".into(),
            folder: "农业农村厅".into(),
            emails: Vec::new(),
        }];
        let deadlines = [
            Deadline {
                year: 2026,
                form: "target_declaration".into(),
                due: "2026-03-31".parse().unwrap(),
            },
            Deadline {
                year: 2026,
                form: "performance_report".into(),
                due: "2026-07-31".parse().unwrap(),
            },
            Deadline {
                year: 2026,
                form: "self_evaluation".into(),
                due: "2027-02-28".parse().unwrap(),
            },
        ];
        let reminders = ReminderSettings::default();
        let cal = Calendar {
            deadlines: &deadlines,
            reminders: &reminders,
            departments: &departments,
            revision_days: 10,
        };
        let owed: Vec<_> = owed(&conn, &cal, Some(2026))
            .unwrap()
            .into_iter()
            .filter(|o| o.department == "nyt")
            .map(|o| {
                (
                    o.form,
                    o.due.to_string(),
                    o.what(),
                    o.revision.map(|r| r.submission),
                )
            })
            .collect();
        assert_eq!(
            owed,
            [
                (
                    FormKind::TargetDeclaration,
                    "2026-03-30".to_string(),
                    "乙项目（审核结论为修改后通过，待修改后重新报送）".to_string(),
                    Some(second)
                ),
                (
                    FormKind::PerformanceReport,
                    "2026-07-31".to_string(),
                    "新名称".to_string(),
                    None
                ),
                (
                    FormKind::SelfEvaluation,
                    "2027-02-28".to_string(),
                    "新名称、丙项目".to_string(),
                    None
                ),
            ]
        );
    }
}
