//! Reading submissions for the web console's 报送记录: a filtered, paginated list (newest first)
//! and everything about one submission — its row, its letters and the files kept for it.
//!
//! A duplicate has no result of its own: it is listed with the form, year and project of the
//! first submission of the same content, and filtered by them.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::Serialize;

use crate::forms::FormKind;
use crate::store::audit;
use crate::store::submissions::{Outcome, Stage};
use crate::text::normalize;

/// The form a listing is filtered by: one of the three, or files that are no form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormFilter {
    Kind(FormKind),
    NotAForm,
}

/// What 报送记录 is filtered by; `None` (or an empty text) filters nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) year: Option<i32>,
    pub(crate) department: Option<String>,
    pub(crate) form: Option<FormFilter>,
    pub(crate) outcome: Option<Outcome>,
    /// Text in the 项目名称, 项目编码 or file name, compared as [`normalize`]d (and in lower case).
    pub(crate) text: Option<String>,
}

/// One submission as listed.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) id: i64,
    pub(crate) received_at: String,
    pub(crate) department: String,
    pub(crate) file_name: String,
    /// `target_declaration`, …; none for a file that is no form.
    pub(crate) form: Option<String>,
    /// `accepted`, `rejected`, `duplicate`.
    pub(crate) outcome: String,
    pub(crate) year: Option<i32>,
    pub(crate) project_name: Option<String>,
    pub(crate) project_code: Option<String>,
    /// A declaration's review conclusion (通过, 修改后通过, 不通过).
    pub(crate) conclusion: Option<String>,
    /// A self-evaluation's verified score and grade.
    pub(crate) score: Option<f64>,
    pub(crate) grade: Option<String>,
    pub(crate) errors: i64,
    /// 发文字号 of its letter.
    pub(crate) doc_number: Option<String>,
    pub(crate) duplicate_of: Option<i64>,
    /// A performance report's 执行率 as written.
    pub(crate) rate: Option<String>,
}

/// A page of the list and how many submissions match in all.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    pub(crate) rows: Vec<Row>,
    pub(crate) total: usize,
}

/// The submissions joined with the first of their content (`d`, for a duplicate).
const FROM: &str = "FROM submissions s LEFT JOIN submissions d ON d.id = s.duplicate_of";

/// The same, read from the index that holds every column a filter needs (migration 11) —
/// never the table itself in id order, nor another index that leaves each row to be read.
const FROM_INDEX: &str = "FROM submissions s INDEXED BY submissions_browse \
    LEFT JOIN submissions d ON d.id = s.duplicate_of";

const ROW_COLUMNS: &str = "s.id, s.received_at, s.department, s.file_name, \
    COALESCE(s.form, d.form), s.outcome, COALESCE(s.year, d.year), \
    COALESCE(s.project_name, d.project_name), COALESCE(s.project_code, d.project_code), \
    CASE WHEN json_valid(s.result_json) THEN json_extract(s.result_json, '$.review.conclusion') END, \
    CASE WHEN json_valid(s.result_json) THEN json_extract(s.result_json, '$.score.computed') END, \
    CASE WHEN json_valid(s.result_json) THEN json_extract(s.result_json, '$.score.grade') END, \
    CASE WHEN json_valid(s.result_json) THEN json_array_length(s.result_json, '$.errors') END, \
    (SELECT l.agency || '〔' || l.year || '〕' || l.number || '号' FROM issued_letters l \
     WHERE l.submission_id = s.id ORDER BY l.id LIMIT 1), \
    s.duplicate_of, \
    CASE WHEN s.form = 'performance_report' AND json_valid(s.form_json) \
    THEN json_extract(s.form_json, '$.funds.total.rate') END";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        received_at: r.get(1)?,
        department: r.get(2)?,
        file_name: r.get(3)?,
        form: r.get(4)?,
        outcome: r.get(5)?,
        year: r.get(6)?,
        project_name: r.get(7)?,
        project_code: r.get(8)?,
        conclusion: r.get(9)?,
        score: r.get(10)?,
        grade: r.get(11)?,
        errors: r.get::<_, Option<i64>>(12)?.unwrap_or(0),
        doc_number: r.get(13)?,
        duplicate_of: r.get(14)?,
        rate: r.get(15)?,
    })
}

/// The SQL conditions of a filter (without its text) and their parameters.
fn conditions(f: &Filter) -> (String, Vec<Value>) {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values = Vec::new();
    if let Some(y) = f.year {
        clauses.push("COALESCE(s.year, d.year) = ?");
        values.push(Value::Integer(i64::from(y)));
    }
    if let Some(dep) = &f.department {
        clauses.push("s.department = ?");
        values.push(Value::Text(dep.clone()));
    }
    match f.form {
        Some(FormFilter::Kind(k)) => {
            clauses.push("COALESCE(s.form, d.form) = ?");
            values.push(Value::Text(k.id().to_string()));
        }
        Some(FormFilter::NotAForm) => clauses.push("COALESCE(s.form, d.form) IS NULL"),
        None => {}
    }
    if let Some(o) = f.outcome {
        clauses.push("s.outcome = ?");
        values.push(Value::Text(o.as_str().to_string()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

/// Text compared as the forms compare it: NFKC, no white space, lower case.
fn folded(s: &str) -> String {
    normalize(s).to_lowercase()
}

/// The submissions matching `f`, newest first: `limit` of them from `offset`, and how many match.
pub(crate) fn list(
    conn: &Connection,
    f: &Filter,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<Listed> {
    let (cond, values) = conditions(f);
    let needle = f.text.as_deref().map(folded).filter(|t| !t.is_empty());
    // The matching ids first, from the index `submissions_browse` alone (migration 11): a row
    // read whole costs its stored result and form. The text is compared normalised, which SQL
    // cannot do, so the columns it is looked for in come along. No ORDER BY: sorting the ids
    // here keeps the scan on the index.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.id, COALESCE(s.project_name, d.project_name), \
         COALESCE(s.project_code, d.project_code), s.file_name {FROM_INDEX}{cond}"
    ))?;
    let mut ids = Vec::new();
    let mut rows = stmt.query(params_from_iter(values.iter()))?;
    while let Some(r) = rows.next()? {
        let hit = needle.as_deref().is_none_or(|needle| {
            (1..=3).any(|i| {
                r.get_ref(i)
                    .ok()
                    .and_then(|v| v.as_str_or_null().ok().flatten())
                    .is_some_and(|s| folded(s).contains(needle))
            })
        });
        if hit {
            ids.push(r.get::<_, i64>(0)?);
        }
    }
    ids.sort_unstable_by_key(|id| std::cmp::Reverse(*id));
    let total = ids.len();
    let page: Vec<Value> = ids
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(Value::Integer)
        .collect();
    if page.is_empty() {
        return Ok(Listed {
            rows: Vec::new(),
            total,
        });
    }
    Ok(Listed {
        rows: by_ids(conn, &page)?,
        total,
    })
}

fn by_ids(conn: &Connection, ids: &[Value]) -> rusqlite::Result<Vec<Row>> {
    let marks = vec!["?"; ids.len()].join(",");
    let mut stmt = conn.prepare(&format!(
        "SELECT {ROW_COLUMNS} {FROM} WHERE s.id IN ({marks}) ORDER BY s.id DESC"
    ))?;
    stmt.query_map(params_from_iter(ids.iter()), row)?.collect()
}

/// These submissions as listed (a project's versions), newest first.
pub(crate) fn rows(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<Row>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let values: Vec<Value> = chunk.iter().map(|i| Value::Integer(*i)).collect();
        out.extend(by_ids(conn, &values)?);
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.id));
    Ok(out)
}

/// The years submissions were made for, newest first.
pub(crate) fn years(conn: &Connection) -> rusqlite::Result<Vec<i32>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT year FROM submissions WHERE year IS NOT NULL ORDER BY year DESC",
    )?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// Everything stored about one submission but its form's values.
#[derive(Debug, Clone)]
pub(crate) struct Detail {
    pub(crate) id: i64,
    pub(crate) department: String,
    pub(crate) inbox_path: String,
    pub(crate) file_name: String,
    pub(crate) sha256: String,
    pub(crate) size: i64,
    pub(crate) received_at: String,
    pub(crate) stage: Stage,
    pub(crate) outcome: Outcome,
    pub(crate) form: Option<FormKind>,
    pub(crate) year: Option<i32>,
    pub(crate) project_key: Option<String>,
    pub(crate) project_code: Option<String>,
    pub(crate) project_name: Option<String>,
    pub(crate) result_json: Option<String>,
    pub(crate) form_json: Option<String>,
    pub(crate) duplicate_of: Option<i64>,
    pub(crate) supersedes: Option<i64>,
    pub(crate) superseded_by: Option<i64>,
    /// Where the original is kept, under the state folder's archive.
    pub(crate) archive_path: String,
    pub(crate) moved_to: Option<String>,
    pub(crate) done_at: Option<String>,
}

/// One submission, whole.
pub(crate) fn detail(conn: &Connection, id: i64) -> rusqlite::Result<Option<Detail>> {
    conn.query_row(
        "SELECT id, department, inbox_path, file_name, sha256, size, received_at, stage, outcome, \
         form, year, project_key, project_code, project_name, result_json, form_json, \
         duplicate_of, supersedes, superseded_by, archive_path, moved_to, done_at \
         FROM submissions WHERE id = ?1",
        params![id],
        |r| {
            Ok(Detail {
                id: r.get(0)?,
                department: r.get(1)?,
                inbox_path: r.get(2)?,
                file_name: r.get(3)?,
                sha256: r.get(4)?,
                size: r.get(5)?,
                received_at: r.get(6)?,
                stage: r.get(7)?,
                outcome: r.get(8)?,
                form: r.get(9)?,
                year: r.get(10)?,
                project_key: r.get(11)?,
                project_code: r.get(12)?,
                project_name: r.get(13)?,
                result_json: r.get(14)?,
                form_json: r.get(15)?,
                duplicate_of: r.get(16)?,
                supersedes: r.get(17)?,
                superseded_by: r.get(18)?,
                archive_path: r.get(19)?,
                moved_to: r.get(20)?,
                done_at: r.get(21)?,
            })
        },
    )
    .optional()
}

/// A letter issued for a submission.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Letter {
    pub(crate) id: i64,
    /// `return_notice`, `target_review`, ….
    pub(crate) kind: String,
    /// 发文字号.
    pub(crate) doc_number: String,
    pub(crate) title: String,
    pub(crate) file_name: String,
    pub(crate) created_at: String,
    pub(crate) size: i64,
}

/// The letters issued for a submission, first first.
pub(crate) fn letters(conn: &Connection, id: i64) -> rusqlite::Result<Vec<Letter>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, agency, year, number, title, file_name, created_at, length(docx) \
         FROM issued_letters WHERE submission_id = ?1 ORDER BY id",
    )?;
    stmt.query_map(params![id], |r| {
        Ok(Letter {
            id: r.get(0)?,
            kind: r.get(1)?,
            doc_number: crate::letters::doc_number_text(
                &r.get::<_, String>(2)?,
                r.get(3)?,
                Some(r.get(4)?),
            ),
            title: r.get(5)?,
            file_name: r.get(6)?,
            created_at: r.get(7)?,
            size: r.get(8)?,
        })
    })?
    .collect()
}

/// The first letter issued for a submission: its file name and document.
pub(crate) fn letter_docx(
    conn: &Connection,
    id: i64,
    letter: Option<i64>,
) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
    conn.query_row(
        "SELECT file_name, docx FROM issued_letters WHERE submission_id = ?1 \
         AND (?2 IS NULL OR id = ?2) ORDER BY id LIMIT 1",
        params![id, letter],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// The annotated workbook kept for a submission: its file name and bytes.
pub(crate) fn annotated(conn: &Connection, id: i64) -> rusqlite::Result<Option<(String, Vec<u8>)>> {
    conn.query_row(
        "SELECT file_name, bytes FROM answers WHERE submission_id = ?1 \
         AND lower(file_name) LIKE '%.xlsx' ORDER BY file_name LIMIT 1",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// The latest uploads tried out (试一试), newest first, from the audit log.
pub(crate) fn trials(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<audit::Entry>> {
    audit::of_action(conn, "trial", limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::project::ProjectKey;
    use crate::store::submissions::{NewSubmission, record};

    fn add(conn: &mut Connection, n: usize) {
        let tx = conn.transaction().unwrap();
        for i in 0..n {
            let dept = if i % 2 == 0 { "nyt" } else { "jyt" };
            let name = format!("项目 {i}");
            let key = ProjectKey::new(Some(2026), dept, &name);
            let outcome = if i % 3 == 0 {
                Outcome::Rejected
            } else {
                Outcome::Accepted
            };
            record(
                &tx,
                &NewSubmission {
                    department: dept,
                    inbox_path: "a.xlsx",
                    file_name: &format!("表{i}.xlsx"),
                    sha256: &format!("h{i}"),
                    size: 1,
                    received_at: "2026-11-25T10:00:00+08:00",
                    outcome,
                    form: Some(FormKind::ALL[i % 3]),
                    year: Some(2026),
                    project_key: Some(&key),
                    project_code: Some(&format!("2200{i:06}")),
                    project_name: Some(&name),
                    result: None,
                    record: None,
                    duplicate_of: None,
                    archive_path: "x",
                },
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    #[test]
    fn filters_combine_and_text_is_compared_normalised() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("s.db")).unwrap();
        add(&mut conn, 30);
        let all = list(&conn, &Filter::default(), 0, 10).unwrap();
        assert_eq!(all.total, 30);
        assert_eq!(all.rows.len(), 10);
        assert_eq!(all.rows[0].id, 30, "newest first");
        let last = list(&conn, &Filter::default(), 25, 10).unwrap();
        assert_eq!(
            last.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![5, 4, 3, 2, 1]
        );
        let paged = Filter {
            text: Some("项目 1".into()),
            ..Filter::default()
        };
        let page2 = list(&conn, &paged, 5, 5).unwrap();
        assert_eq!(page2.total, 11, "1 and 10 to 19");
        assert_eq!(
            page2.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![15, 14, 13, 12, 11]
        );
        let nyt = Filter {
            department: Some("nyt".into()),
            outcome: Some(Outcome::Rejected),
            ..Filter::default()
        };
        let listed = list(&conn, &nyt, 0, 100).unwrap();
        assert_eq!(listed.total, 5, "i = 0, 6, 12, 18, 24");
        // 全角 digits and spaces are found as typed on a form.
        let text = Filter {
            text: Some("项目　１２".into()),
            ..Filter::default()
        };
        let listed = list(&conn, &text, 0, 100).unwrap();
        assert_eq!(
            listed.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![13]
        );
        let by_code = Filter {
            text: Some("2200000007".into()),
            form: Some(FormFilter::Kind(FormKind::PerformanceReport)),
            ..Filter::default()
        };
        assert_eq!(list(&conn, &by_code, 0, 100).unwrap().total, 1);
        let none = Filter {
            form: Some(FormFilter::NotAForm),
            ..Filter::default()
        };
        assert_eq!(list(&conn, &none, 0, 100).unwrap().total, 0);
        assert_eq!(years(&conn).unwrap(), vec![2026]);
    }

    /// Not a benchmark: a quick measure of the list on a large state, run by hand with
    /// `cargo test --release --lib browse -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn thirty_thousand_submissions() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("s.db")).unwrap();
        add(&mut conn, 30_000);
        // Results and forms as large as real ones: the columns after them lie in overflow pages.
        let pad = "审".repeat(3000);
        conn.execute(
            "UPDATE submissions SET result_json = json_object('errors', json_array(), 'pad', ?1), \
             form_json = ?1",
            [&pad],
        )
        .unwrap();
        for f in [
            Filter::default(),
            Filter {
                year: Some(2026),
                department: Some("nyt".into()),
                outcome: Some(Outcome::Rejected),
                ..Filter::default()
            },
            Filter {
                text: Some("项目 2999".into()),
                ..Filter::default()
            },
        ] {
            let start = std::time::Instant::now();
            let l = list(&conn, &f, 1000, 50).unwrap();
            println!(
                "{f:?}: {} of {} in {:?}",
                l.rows.len(),
                l.total,
                start.elapsed()
            );
        }
        for sql in [
            format!(
                "SELECT s.id, s.file_name {FROM_INDEX} WHERE COALESCE(s.year, d.year) = 2026 \
                 AND s.department = 'nyt' AND s.outcome = 'rejected'"
            ),
            "SELECT DISTINCT year FROM submissions WHERE year IS NOT NULL ORDER BY year DESC"
                .to_string(),
        ] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = stmt
                .query_map([], |r| r.get(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            println!("{plan:?}");
        }
        let start = std::time::Instant::now();
        let y = years(&conn).unwrap();
        println!("years {y:?} in {:?}", start.elapsed());
    }
}
