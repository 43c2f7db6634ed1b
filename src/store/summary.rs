//! What the summary workbook reads: a year's submissions counted, and the current (latest
//! accepted) version of every project's form; and the `summary_mail` table of summary mails queued.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::submissions::Outcome;
use crate::forms::FormKind;
use crate::rules::review::Conclusion;

/// Submissions of a year counted by department, form and outcome.
#[derive(Debug, Clone)]
pub(crate) struct Count {
    pub(crate) department: String,
    pub(crate) form: Option<FormKind>,
    pub(crate) outcome: Outcome,
    pub(crate) count: u64,
    pub(crate) last_received: String,
}

/// Counts the submissions of a year by department, form and outcome.
pub(crate) fn counts(conn: &Connection, year: i32) -> rusqlite::Result<Vec<Count>> {
    // A duplicate carries no year or form of its own: it counts with the submission it repeats.
    let mut stmt = conn.prepare(
        "SELECT s.department, COALESCE(s.form, o.form), s.outcome, COUNT(*), MAX(s.received_at) \
         FROM submissions s LEFT JOIN submissions o ON o.id = s.duplicate_of \
         WHERE COALESCE(s.year, o.year) = ?1 GROUP BY 1, 2, 3",
    )?;
    stmt.query_map(params![year], |r| {
        Ok(Count {
            department: r.get(0)?,
            form: r.get(1)?,
            outcome: r.get(2)?,
            count: r.get::<_, i64>(3)? as u64,
            last_received: r.get(4)?,
        })
    })?
    .collect()
}

/// A current form as listed before its values are read: what the sheets are sorted by.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) id: i64,
    pub(crate) department: String,
    pub(crate) kind: FormKind,
    pub(crate) code: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) project_key: Option<String>,
    /// A declaration's review conclusion.
    pub(crate) conclusion: Option<Conclusion>,
    /// What the summary counts of the form, kept when it was recorded ([`KeptFigures`] as
    /// JSON); none for forms recorded before jixiao kept them (or without their values).
    pub(crate) figures: Option<String>,
}

/// Of a self-evaluation's verified score ([`crate::score::Score`]), what the summary counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ScoreFigures {
    pub(crate) computed: f64,
    /// In percent.
    pub(crate) execution_rate: f64,
    pub(crate) grade: String,
}

impl ScoreFigures {
    pub(crate) fn of(s: &crate::score::Score) -> ScoreFigures {
        ScoreFigures {
            computed: s.computed,
            execution_rate: s.execution_rate,
            grade: s.grade.clone(),
        }
    }
}

/// What the summary counts of an accepted performance report (its 执行率) or self-evaluation
/// (its verified score), kept with it when it is recorded (`submissions.figures`), so that
/// the console's 总览 counts a year without reading each stored form whole.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct KeptFigures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) report_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) score: Option<ScoreFigures>,
}

impl KeptFigures {
    /// The figures of an accepted form being recorded, as stored (`{}` for a declaration);
    /// none for one without its values, which the summary does not count.
    pub(crate) fn of(
        kind: Option<FormKind>,
        result: Option<&crate::check::CheckResult>,
        record: Option<&crate::forms::record::FormRecord>,
    ) -> Option<String> {
        let record = record?;
        let figures = match kind? {
            FormKind::TargetDeclaration => KeptFigures::default(),
            FormKind::PerformanceReport => KeptFigures {
                report_rate: record.report_rate(),
                score: None,
            },
            FormKind::SelfEvaluation => KeptFigures {
                report_rate: None,
                score: result?.score.as_ref().map(ScoreFigures::of),
            },
        };
        serde_json::to_string(&figures).ok()
    }
}

/// The current forms of year `?1`, from the index that holds them (migration 12).
pub(crate) const CURRENT_FORMS: &str = "SELECT id, department, form, project_code, project_name, \
    project_key, conclusion, figures FROM submissions INDEXED BY submissions_current \
    WHERE year = ?1 AND outcome = 'accepted' AND superseded_by IS NULL AND form IS NOT NULL";

/// The current (latest accepted) forms of a year, without their values, from the index that
/// holds them (migration 12).
pub(crate) fn current_forms(conn: &Connection, year: i32) -> rusqlite::Result<Vec<Listed>> {
    let mut stmt = conn.prepare_cached(CURRENT_FORMS)?;
    stmt.query_map(params![year], |r| {
        Ok(Listed {
            id: r.get(0)?,
            department: r.get(1)?,
            kind: r.get(2)?,
            code: r.get(3)?,
            name: r.get(4)?,
            project_key: r.get(5)?,
            conclusion: r
                .get::<_, Option<String>>(6)?
                .and_then(|c| Conclusion::parse(&c)),
            figures: r.get(7)?,
        })
    })?
    .collect()
}

/// What the summary's figures need of a current form recorded before its figures were kept:
/// whether it has its values at all, and as JSON a performance report's 资金 total row
/// (`funds.total`) and a self-evaluation's verified score (`score`). SQLite picks them out of
/// the stored form and result, so that the kilobytes of the rest are not parsed again.
pub(crate) fn figures_json(
    conn: &Connection,
    id: i64,
) -> rusqlite::Result<(bool, Option<String>, Option<String>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT form_json IS NOT NULL, \
         CASE WHEN json_valid(form_json) THEN json_extract(form_json, '$.funds.total') END, \
         CASE WHEN json_valid(result_json) THEN json_extract(result_json, '$.score') END \
         FROM submissions WHERE id = ?1",
    )?;
    stmt.query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
}

/// A current form's file, time, stored values and result (both JSON).
#[derive(Debug, Clone)]
pub(crate) struct StoredForm {
    pub(crate) file_name: String,
    pub(crate) received_at: String,
    /// None for a form recorded without its values (not counted).
    pub(crate) form_json: Option<String>,
    pub(crate) result_json: Option<String>,
}

/// Reads one listed form's values.
pub(crate) fn stored_form(conn: &Connection, id: i64) -> rusqlite::Result<StoredForm> {
    let mut stmt = conn.prepare_cached(
        "SELECT file_name, received_at, form_json, result_json FROM submissions WHERE id = ?1",
    )?;
    stmt.query_row(params![id], |r| {
        Ok(StoredForm {
            file_name: r.get(0)?,
            received_at: r.get(1)?,
            form_json: r.get(2)?,
            result_json: r.get(3)?,
        })
    })
}

/// Remembers a summary mail queued (`due_at`: the scheduled time it answers, or `manual`).
pub(crate) fn record_mail(
    tx: &Transaction,
    year: i32,
    due_at: &str,
    outbox_id: i64,
    queued_at: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO summary_mail (year, due_at, outbox_id, queued_at) VALUES (?1, ?2, ?3, ?4)",
        params![year, due_at, outbox_id, queued_at],
    )?;
    Ok(())
}

/// The scheduled time the last scheduled summary mail answered.
pub(crate) fn last_scheduled(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT due_at FROM summary_mail WHERE due_at != 'manual' ORDER BY id DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .optional()
}

/// The years that have forms, newest first.
pub(crate) fn years(conn: &Connection) -> rusqlite::Result<Vec<i32>> {
    let mut stmt = conn
        .prepare("SELECT DISTINCT year FROM submissions WHERE year IS NOT NULL ORDER BY 1 DESC")?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// A mark that changes whenever a submission, an approval decision or an issued letter is
/// recorded: figures worked out from those can be kept until it changes.
pub(crate) fn stamp(conn: &Connection) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT (SELECT COUNT(*) || '.' || IFNULL(MAX(id), 0) FROM submissions) || ':' || \
         (SELECT COUNT(*) || '.' || IFNULL(MAX(id), 0) FROM approvals) || ':' || \
         (SELECT COUNT(*) || '.' || IFNULL(MAX(id), 0) FROM issued_letters)",
        [],
        |r| r.get(0),
    )
}

/// When the last submission of `year` was received, and how many it has.
pub(crate) fn latest(conn: &Connection, year: i32) -> rusqlite::Result<(Option<String>, u64)> {
    conn.query_row(
        "SELECT MAX(received_at), COUNT(*) FROM submissions WHERE year = ?1",
        [year],
        |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
    )
}
