//! The summary's figures as plain data: the current forms counted by department — received,
//! returned, current per form, grades, execution — and what is missing. No I/O: the workbook
//! writer feeds it one form at a time and writes what it yields.

use std::collections::{BTreeSet, HashMap};

use crate::check::CheckResult;
use crate::departments::Department;
use crate::forms::definitions::{Definitions, FormKind};
use crate::forms::record::FormRecord;
use crate::rules::review::Conclusion;
use crate::store::submissions::Outcome;
use crate::store::summary::{Count, ScoreFigures};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The current (latest accepted) version of one project's form.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub(crate) id: i64,
    pub(crate) department: String,
    pub(crate) kind: FormKind,
    pub(crate) file_name: String,
    pub(crate) received_at: String,
    pub(crate) record: FormRecord,
    pub(crate) result: CheckResult,
}

/// What the summary counts of one current form.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures<'a> {
    pub(crate) department: &'a str,
    pub(crate) kind: FormKind,
    /// A declaration's review conclusion.
    pub(crate) conclusion: Option<Conclusion>,
    /// A performance report's 执行率, as a fraction.
    pub(crate) report_rate: Option<f64>,
    /// A self-evaluation's verified score.
    pub(crate) score: Option<ScoreFigures>,
}

impl<'a> Figures<'a> {
    /// The figures of a form read whole.
    pub(crate) fn of(c: &'a Current) -> Figures<'a> {
        Figures {
            department: &c.department,
            kind: c.kind,
            conclusion: c.result.review.as_ref().map(|r| r.conclusion),
            report_rate: match c.kind {
                FormKind::PerformanceReport => report_rate(&c.record),
                _ => None,
            },
            score: c.result.score.as_ref().map(ScoreFigures::of),
        }
    }
}

/// One department's line.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DepartmentRow {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) received: u64,
    pub(crate) accepted: u64,
    pub(crate) returned: u64,
    pub(crate) duplicate: u64,
    /// Current forms by kind, in the order of [`FormKind::ALL`].
    pub(crate) current: [u64; 3],
    /// Current declarations reviewed 不通过.
    pub(crate) not_passed: u64,
    /// Sum and count of verified scores of current self-evaluations.
    pub(crate) score_sum: f64,
    pub(crate) scored: u64,
    /// Counts by grade, in the order of the framework's grade bands.
    pub(crate) grades: Vec<u64>,
    /// Sum and count of self-evaluations' 预算执行率 (as fractions).
    pub(crate) se_rate_sum: f64,
    pub(crate) se_rated: u64,
    /// Sum and count of performance reports' 执行率 (total spent / budget, as fractions).
    pub(crate) report_rate_sum: f64,
    pub(crate) report_rated: u64,
}

impl DepartmentRow {
    pub(crate) fn average_score(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.score_sum / self.scored as f64)
    }
    pub(crate) fn average_se_rate(&self) -> Option<f64> {
        (self.se_rated > 0).then(|| self.se_rate_sum / self.se_rated as f64)
    }
    pub(crate) fn average_report_rate(&self) -> Option<f64> {
        (self.report_rated > 0).then(|| self.report_rate_sum / self.report_rated as f64)
    }

    fn add(&mut self, o: &DepartmentRow) {
        self.received += o.received;
        self.accepted += o.accepted;
        self.returned += o.returned;
        self.duplicate += o.duplicate;
        for i in 0..3 {
            self.current[i] += o.current[i];
        }
        self.not_passed += o.not_passed;
        self.score_sum += o.score_sum;
        self.scored += o.scored;
        for (a, b) in self.grades.iter_mut().zip(&o.grades) {
            *a += b;
        }
        self.se_rate_sum += o.se_rate_sum;
        self.se_rated += o.se_rated;
        self.report_rate_sum += o.report_rate_sum;
        self.report_rated += o.report_rated;
    }
}

/// A configured department with no current accepted form of a kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Missing {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) kind: FormKind,
    /// Returned forms of this kind this year.
    pub(crate) returned: u64,
    /// When the last form of this kind arrived, whatever became of it.
    pub(crate) last_received: Option<String>,
}

/// The summary of a year.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub(crate) year: i32,
    pub(crate) generated_at: String,
    pub(crate) departments: Vec<DepartmentRow>,
    pub(crate) total: DepartmentRow,
    pub(crate) missing: Vec<Missing>,
    pub(crate) grade_names: Vec<String>,
}

/// A rate in percent (`95.98`) as the fraction a percent-formatted cell holds (`0.9598`).
pub(super) fn fraction(percent: f64) -> f64 {
    crate::text::decimal_from_f64(percent)
        .and_then(|d| (d / Decimal::ONE_HUNDRED).to_f64())
        .unwrap_or(percent / 100.0)
}

/// A performance report's 执行率: the total row's 执行数 / 年初预算数, as a fraction.
pub(crate) fn report_rate(record: &FormRecord) -> Option<f64> {
    record.report_rate()
}

pub(super) fn kind_index(kind: FormKind) -> usize {
    FormKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Adds up a year's summary as the current forms go by: counts and averages by department and
/// what is missing. No I/O: the counts and forms are handed to it.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    year: i32,
    grade_names: Vec<String>,
    order: HashMap<String, usize>,
    rows: Vec<DepartmentRow>,
    returned_by_kind: HashMap<(String, FormKind), u64>,
    last_by_kind: HashMap<(String, FormKind), String>,
    /// The forms a department had accepted this year: it has sent them, whatever became of them
    /// after (a later version, a pending adjustment).
    accepted_kinds: std::collections::HashSet<(String, FormKind)>,
}

impl Tally {
    /// Starts from the configured departments and the counts of the year's submissions.
    pub(crate) fn new(
        departments: &[Department],
        defs: &Definitions,
        year: i32,
        counts: &[Count],
    ) -> Tally {
        let grade_names: Vec<String> = defs
            .framework
            .score
            .grades
            .iter()
            .map(|g| g.grade.clone())
            .collect();
        let mut t = Tally {
            year,
            order: HashMap::new(),
            rows: Vec::new(),
            returned_by_kind: HashMap::new(),
            last_by_kind: HashMap::new(),
            accepted_kinds: Default::default(),
            grade_names,
        };
        for d in departments {
            t.row(&d.code, &d.name);
        }
        // Departments in the database but no longer configured keep a line, under their code.
        let unknown: BTreeSet<&str> = counts
            .iter()
            .map(|c| c.department.as_str())
            .filter(|d| !t.order.contains_key(*d))
            .collect();
        for code in unknown {
            t.row(code, code);
        }
        for c in counts {
            let i = t.row(&c.department, &c.department);
            let row = &mut t.rows[i];
            row.received += c.count;
            match c.outcome {
                Outcome::Accepted => row.accepted += c.count,
                Outcome::Rejected => row.returned += c.count,
                Outcome::Duplicate => row.duplicate += c.count,
            }
            if let Some(kind) = c.form {
                let key = (c.department.clone(), kind);
                if c.outcome == Outcome::Accepted && c.count > 0 {
                    t.accepted_kinds.insert(key.clone());
                }
                if c.outcome == Outcome::Rejected {
                    *t.returned_by_kind.entry(key.clone()).or_default() += c.count;
                }
                let last = t.last_by_kind.entry(key).or_default();
                if c.last_received > *last {
                    *last = c.last_received.clone();
                }
            }
        }
        t
    }

    /// The line of a department, added when new.
    fn row(&mut self, code: &str, name: &str) -> usize {
        if let Some(i) = self.order.get(code) {
            return *i;
        }
        self.order.insert(code.to_string(), self.rows.len());
        self.rows.push(DepartmentRow {
            code: code.to_string(),
            name: name.to_string(),
            grades: vec![0; self.grade_names.len()],
            ..Default::default()
        });
        self.rows.len() - 1
    }

    /// Where a department's forms come on the sheets: configuration order, others after.
    pub(crate) fn position(&self, code: &str) -> usize {
        self.order.get(code).copied().unwrap_or(usize::MAX)
    }

    /// Counts one current form.
    pub(crate) fn add(&mut self, c: &Current) {
        self.count(&Figures::of(c));
    }

    /// Counts one current form's figures.
    pub(crate) fn count(&mut self, f: &Figures) {
        let i = self.row(f.department, f.department);
        let grade_names = &self.grade_names;
        let row = &mut self.rows[i];
        row.current[kind_index(f.kind)] += 1;
        match f.kind {
            FormKind::TargetDeclaration => {
                if f.conclusion == Some(Conclusion::Fail) {
                    row.not_passed += 1;
                }
            }
            FormKind::PerformanceReport => {
                if let Some(r) = f.report_rate {
                    row.report_rate_sum += r;
                    row.report_rated += 1;
                }
            }
            FormKind::SelfEvaluation => {
                if let Some(s) = &f.score {
                    row.score_sum += s.computed;
                    row.scored += 1;
                    row.se_rate_sum += fraction(s.execution_rate);
                    row.se_rated += 1;
                    if let Some(g) = grade_names.iter().position(|g| *g == s.grade) {
                        row.grades[g] += 1;
                    }
                }
            }
        }
    }

    /// The summary: the department lines, their total, and what is missing.
    pub(crate) fn finish(self, departments: &[Department], generated_at: String) -> Summary {
        let mut total = DepartmentRow {
            name: "合计".into(),
            grades: vec![0; self.grade_names.len()],
            ..Default::default()
        };
        for r in &self.rows {
            total.add(r);
        }
        let mut missing = Vec::new();
        for d in departments {
            let row = &self.rows[self.order[&d.code]];
            for kind in FormKind::ALL {
                let key = (d.code.clone(), kind);
                if row.current[kind_index(kind)] == 0 && !self.accepted_kinds.contains(&key) {
                    missing.push(Missing {
                        code: d.code.clone(),
                        name: d.name.clone(),
                        kind,
                        returned: self.returned_by_kind.get(&key).copied().unwrap_or(0),
                        last_received: self.last_by_kind.get(&key).cloned(),
                    });
                }
            }
        }
        Summary {
            year: self.year,
            generated_at,
            departments: self.rows,
            total,
            missing,
            grade_names: self.grade_names,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_department_with_an_accepted_declaration_is_not_missing_it() {
        let departments: Vec<Department> = toml::from_str::<toml::Table>(
            "[[d]]\nname = \"吉林省农业农村厅\"\ncode = \"nyt\"\nfolder = \"农业农村厅\"\n",
        )
        .unwrap()["d"]
            .clone()
            .try_into()
            .unwrap();
        let defs = Definitions::embedded();
        // Accepted once, but no current version counted (it awaits the finance office).
        let counts = [Count {
            department: "nyt".into(),
            form: Some(FormKind::TargetDeclaration),
            outcome: Outcome::Accepted,
            count: 1,
            last_received: "2026-03-01T09:00:00+08:00".into(),
        }];
        let s = Tally::new(&departments, &defs, 2026, &counts).finish(&departments, String::new());
        let missing: Vec<FormKind> = s.missing.iter().map(|m| m.kind).collect();
        assert_eq!(
            missing,
            [FormKind::PerformanceReport, FormKind::SelfEvaluation]
        );
    }
}
