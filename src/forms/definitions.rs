//! Form definitions: the data files in `forms/` that say what each form looks like and how it is
//! judged. Administrators change labels, aliases, the indicator framework and the scoring settings
//! there; the reader and the rules only ever go through these definitions.
//!
//! The files compiled into the binary are the defaults; `--forms DIR` reads another folder.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::text::normalize;

/// The three standard forms.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    TargetDeclaration,
    PerformanceReport,
    SelfEvaluation,
}

impl FormKind {
    pub const ALL: [FormKind; 3] = [
        FormKind::TargetDeclaration,
        FormKind::PerformanceReport,
        FormKind::SelfEvaluation,
    ];

    /// The identifier used in JSON and in file names of `forms/`.
    pub fn id(self) -> &'static str {
        match self {
            FormKind::TargetDeclaration => "target_declaration",
            FormKind::PerformanceReport => "performance_report",
            FormKind::SelfEvaluation => "self_evaluation",
        }
    }

    pub(crate) fn from_id(id: &str) -> Option<FormKind> {
        FormKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// The form's short name: `绩效目标申报表`, ….
    pub(crate) fn name(self) -> &'static str {
        match self {
            FormKind::TargetDeclaration => "绩效目标申报表",
            FormKind::PerformanceReport => "绩效运行监控表",
            FormKind::SelfEvaluation => "绩效自评表",
        }
    }

    /// The form's full name as notices write it: `项目支出绩效目标申报表`, ….
    pub(crate) fn full_name(self) -> &'static str {
        match self {
            FormKind::TargetDeclaration => "项目支出绩效目标申报表",
            FormKind::PerformanceReport => "项目支出绩效运行监控表",
            FormKind::SelfEvaluation => "项目支出绩效自评表",
        }
    }
}

/// A definition file could not be used. Carries the file and line so the administrator can fix it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DefinitionError {
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Invalid { file: PathBuf, message: String },
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
}

/// What type of value a field or column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ValueType {
    #[default]
    Text,
    /// 万元, non-negative, at most 4 decimals.
    Amount,
    /// A percentage, as text `96.2%` or a number with a percent format.
    Percent,
    /// Points of a score (分值, 得分).
    Points,
}

/// A label as it appears on the form, with other accepted spellings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    pub(crate) key: String,
    pub label: String,
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    #[serde(default, rename = "type")]
    pub(crate) value_type: ValueType,
    #[serde(default)]
    pub(crate) required: bool,
    #[serde(default)]
    pub(crate) choices: Vec<String>,
    /// The header carries the monitoring period in front of the label (`1-7月执行数`).
    #[serde(default)]
    pub(crate) period: bool,
    /// The label and aliases, normalised once when the definitions are loaded.
    #[serde(skip)]
    norm: Vec<String>,
}

impl Labelled {
    /// All accepted spellings, normalised.
    pub(crate) fn normalized_labels(&self) -> &[String] {
        &self.norm
    }

    fn prepare(&mut self) {
        self.norm = std::iter::once(&self.label)
            .chain(&self.aliases)
            .map(|l| normalize(l))
            .collect();
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GoalDef {
    pub(crate) label: String,
    /// Empty on the declaration (value right of the label); otherwise sub-headers to the right of
    /// the label with their values in the row below.
    #[serde(default)]
    pub(crate) subheaders: Vec<Labelled>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundsDef {
    pub(crate) rows: Vec<Labelled>,
    pub(crate) columns: Vec<Labelled>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IndicatorsDef {
    pub(crate) columns: Vec<Labelled>,
    pub(crate) end_labels: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SummaryDef {
    pub(crate) total_label: String,
    pub(crate) grade_label: String,
}

/// A drop-down list in the blank template.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListDef {
    pub(crate) range: String,
    /// `level1`, `level2`, `likelihood`, `grades` or the key of a field with `choices`.
    pub(crate) values: String,
}

/// The layout of the blank form that `jixiao templates` writes (`[template]` in `forms/*.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BlankLayout {
    pub(crate) sheet: String,
    pub(crate) widths: Vec<f64>,
    pub(crate) merges: Vec<String>,
    pub(crate) cells: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub(crate) title_height: Option<f64>,
    #[serde(default)]
    pub(crate) goal_height: Option<f64>,
    #[serde(default)]
    pub(crate) amounts: Vec<String>,
    #[serde(default)]
    pub(crate) percents: Vec<String>,
    #[serde(default)]
    pub(crate) points: Vec<String>,
    #[serde(default)]
    pub(crate) lists: Vec<ListDef>,
}

/// One form's definition (`forms/<id>.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    pub(crate) id: String,
    pub name: String,
    pub(crate) titles: Vec<String>,
    pub fields: Vec<Labelled>,
    pub(crate) goal: GoalDef,
    #[serde(default)]
    pub funds: Option<FundsDef>,
    pub(crate) indicators: IndicatorsDef,
    #[serde(default)]
    pub(crate) summary: Option<SummaryDef>,
    /// The `[template]` table: the layout of the blank form.
    #[serde(rename = "template")]
    pub(crate) blank: BlankLayout,
    #[serde(skip)]
    pub(crate) kind: Option<FormKind>,
    /// Every label of the form, normalised (see [`FormDef::all_labels`]).
    #[serde(skip)]
    known_labels: Vec<String>,
}

impl FormDef {
    pub(crate) fn kind(&self) -> FormKind {
        self.kind.expect("kind is set when definitions are loaded")
    }

    pub(crate) fn field(&self, key: &str) -> Option<&Labelled> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The (normalised) labels of this form that can stand in a row, used to tell a value cell
    /// from the next label when a file carries no merge information.
    pub(crate) fn all_labels(&self) -> &[String] {
        &self.known_labels
    }

    /// Normalises every label once, after loading.
    fn prepare(&mut self) {
        let mut all: Vec<&mut Labelled> = self.fields.iter_mut().collect();
        all.extend(self.goal.subheaders.iter_mut());
        if let Some(funds) = self.funds.as_mut() {
            all.extend(funds.rows.iter_mut());
            all.extend(funds.columns.iter_mut());
        }
        all.extend(self.indicators.columns.iter_mut());
        let mut known = vec![normalize(&self.goal.label)];
        for l in all {
            l.prepare();
            known.extend(l.norm.iter().cloned());
        }
        self.known_labels = known;
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Roles {
    pub(crate) cost: Vec<String>,
    pub(crate) quantity: [String; 2],
    pub(crate) benefit: String,
    pub(crate) satisfaction: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Comparators {
    pub(crate) at_least: Vec<String>,
    pub(crate) at_most: Vec<String>,
    pub(crate) equal: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewSettings {
    pub(crate) vague_words: Vec<String>,
    pub(crate) min_quantitative_share: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GradeBand {
    pub(crate) grade: String,
    pub(crate) min: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScoreSettings {
    /// Accepted and ignored: the `forms/framework.toml` of 0.1.0 had it, and nothing used it.
    #[serde(default, rename = "default_weights")]
    _default_weights: serde::de::IgnoredAny,
    pub(crate) execution_weight: f64,
    pub(crate) grades: Vec<GradeBand>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MonitoringSettings {
    pub(crate) execution_lag_points: f64,
    pub(crate) rate_tolerance_points: f64,
    pub(crate) likelihood: Vec<String>,
    pub(crate) likelihood_certain: String,
}

/// `forms/framework.toml`: the indicator framework and the settings shared by all forms.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Framework {
    /// 一级指标 → its 二级指标, in file order.
    pub(crate) framework: toml::Table,
    pub(crate) roles: Roles,
    pub(crate) comparators: Comparators,
    pub(crate) review: ReviewSettings,
    pub(crate) score: ScoreSettings,
    pub(crate) monitoring: MonitoringSettings,
    #[serde(skip)]
    pub(crate) levels: Vec<(String, Vec<String>)>,
    #[serde(skip)]
    level_index: HashMap<String, Vec<String>>,
    #[serde(skip)]
    cost_norm: Vec<String>,
}

impl Framework {
    /// The normalised 二级 names of a normalised 一级, if the 一级 is known.
    pub(crate) fn level2_of(&self, level1_norm: &str) -> Option<&[String]> {
        self.level_index.get(level1_norm).map(Vec::as_slice)
    }

    pub(crate) fn is_cost(&self, level2_norm: &str) -> bool {
        self.cost_norm.iter().any(|c| c == level2_norm)
    }

    /// All 二级 names in file order, without repeats (for drop-down lists).
    pub(crate) fn all_level2(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, l2) in &self.levels {
            for n in l2 {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
        }
        out
    }

    /// The grade of a verified total.
    pub(crate) fn grade(&self, total: f64) -> String {
        self.score
            .grades
            .iter()
            .find(|b| total >= b.min)
            .map(|b| b.grade.clone())
            .unwrap_or_default()
    }
}

/// Everything loaded from `forms/`.
#[derive(Debug, Clone)]
pub struct Definitions {
    pub(crate) framework: Framework,
    pub(crate) forms: Vec<FormDef>,
}

const EMBEDDED: [(&str, &str); 4] = [
    ("framework.toml", include_str!("../../forms/framework.toml")),
    (
        "target_declaration.toml",
        include_str!("../../forms/target_declaration.toml"),
    ),
    (
        "performance_report.toml",
        include_str!("../../forms/performance_report.toml"),
    ),
    (
        "self_evaluation.toml",
        include_str!("../../forms/self_evaluation.toml"),
    ),
];

impl Definitions {
    /// The definitions compiled into the binary (a copy of `forms/` at build time).
    pub fn embedded() -> Definitions {
        let files: Vec<(PathBuf, String)> = EMBEDDED
            .iter()
            .map(|(n, t)| (Path::new("forms").join(n), (*t).to_string()))
            .collect();
        Self::from_sources(&files).expect("the embedded form definitions are valid")
    }

    /// Reads `framework.toml` and the three form files from a folder.
    pub(crate) fn load_dir(dir: &Path) -> Result<Definitions, DefinitionError> {
        let mut files = Vec::new();
        for (name, _) in EMBEDDED {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|source| DefinitionError::Io {
                file: path.clone(),
                source,
            })?;
            files.push((path, text));
        }
        Self::from_sources(&files)
    }

    fn from_sources(files: &[(PathBuf, String)]) -> Result<Definitions, DefinitionError> {
        let (fw_path, fw_text) = &files[0];
        let mut framework: Framework = parse_toml(fw_path, fw_text)?;
        let invalid = |file: &PathBuf, message: String| DefinitionError::Invalid {
            file: file.clone(),
            message,
        };
        for (level1, value) in &framework.framework {
            let list = value.as_array().ok_or_else(|| {
                invalid(
                    fw_path,
                    format!("framework.\"{level1}\" must be a list of 二级指标 names"),
                )
            })?;
            let mut names = Vec::new();
            for v in list {
                let name = v.as_str().ok_or_else(|| {
                    invalid(
                        fw_path,
                        format!("framework.\"{level1}\" must contain only text"),
                    )
                })?;
                names.push(name.to_string());
            }
            if names.is_empty() {
                return Err(invalid(
                    fw_path,
                    format!("framework.\"{level1}\" lists no 二级指标"),
                ));
            }
            framework.levels.push((level1.clone(), names));
        }
        if framework.levels.is_empty() {
            return Err(invalid(
                fw_path,
                "[framework] lists no 一级指标".to_string(),
            ));
        }
        framework.cost_norm = framework.roles.cost.iter().map(|c| normalize(c)).collect();
        framework.level_index = framework
            .levels
            .iter()
            .map(|(l1, l2)| (normalize(l1), l2.iter().map(|n| normalize(n)).collect()))
            .collect();
        if framework.score.grades.is_empty() {
            return Err(invalid(fw_path, "score.grades is empty".to_string()));
        }
        if framework.monitoring.likelihood.is_empty()
            || !framework
                .monitoring
                .likelihood
                .contains(&framework.monitoring.likelihood_certain)
        {
            return Err(invalid(
                fw_path,
                "monitoring.likelihood_certain must be one of monitoring.likelihood".to_string(),
            ));
        }

        let mut forms = Vec::new();
        for (kind, (path, text)) in FormKind::ALL.iter().zip(&files[1..]) {
            let mut def: FormDef = parse_toml(path, text)?;
            if def.id != kind.id() {
                return Err(invalid(
                    path,
                    format!("id is \"{}\", expected \"{}\"", def.id, kind.id()),
                ));
            }
            def.kind = Some(*kind);
            def.prepare();
            validate_form(&def).map_err(|m| invalid(path, m))?;
            forms.push(def);
        }
        Ok(Definitions { framework, forms })
    }

    pub fn form(&self, kind: FormKind) -> &FormDef {
        self.forms
            .iter()
            .find(|f| f.kind() == kind)
            .expect("every kind has a definition")
    }
}

fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, DefinitionError> {
    toml::from_str(text).map_err(|e| {
        let line = crate::util::toml_error_line(text, &e);
        DefinitionError::Syntax {
            file: path.to_path_buf(),
            line,
            message: e.message().to_string(),
        }
    })
}

/// The keys the rules rely on, per form. A definition may rename labels freely but must keep these.
fn required_keys(kind: FormKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        FormKind::TargetDeclaration => (
            &[
                "name",
                "code",
                "department",
                "implementer",
                "total",
                "fiscal",
                "other",
            ],
            &["level1", "level2", "level3", "target"],
        ),
        FormKind::PerformanceReport => (
            &["name", "code", "department", "implementer", "period"],
            &[
                "level1",
                "level2",
                "level3",
                "target",
                "forecast",
                "reason",
                "likelihood",
                "correction",
            ],
        ),
        FormKind::SelfEvaluation => (
            &["name", "code", "department", "implementer"],
            &[
                "level1",
                "level2",
                "level3",
                "target",
                "actual",
                "weight",
                "score",
                "improvement",
            ],
        ),
    }
}

fn validate_form(def: &FormDef) -> Result<(), String> {
    if def.titles.is_empty() {
        return Err("titles is empty".into());
    }
    let (fields, columns) = required_keys(def.kind());
    for key in fields {
        if def.field(key).is_none() {
            return Err(format!("fields: no field with key = \"{key}\""));
        }
    }
    for key in columns {
        if !def.indicators.columns.iter().any(|c| c.key == *key) {
            return Err(format!(
                "indicators.columns: no column with key = \"{key}\""
            ));
        }
    }
    if def.indicators.columns.first().map(|c| c.key.as_str()) != Some("level1") {
        return Err("indicators.columns must start with key = \"level1\"".into());
    }
    match def.kind() {
        FormKind::TargetDeclaration => {}
        FormKind::PerformanceReport | FormKind::SelfEvaluation => {
            let funds = def
                .funds
                .as_ref()
                .ok_or("[funds] is required for this form")?;
            let need_cols: &[&str] = if def.kind() == FormKind::PerformanceReport {
                &["budget", "spent", "rate"]
            } else {
                &["budget", "annual", "spent", "weight"]
            };
            for key in need_cols {
                if !funds.columns.iter().any(|c| c.key == *key) {
                    return Err(format!("funds.columns: no column with key = \"{key}\""));
                }
            }
            if !funds.rows.iter().any(|r| r.key == "total") {
                return Err("funds.rows: no row with key = \"total\"".into());
            }
            if def.goal.subheaders.len() < 2 {
                return Err("goal.subheaders needs the planned and the actual column".into());
            }
        }
    }
    if def.kind() == FormKind::SelfEvaluation && def.summary.is_none() {
        return Err("[summary] is required for the self-evaluation".into());
    }
    // Every label the reader looks for must appear in the template, so a generated blank form
    // can be read back.
    let template_texts: Vec<String> = def
        .blank
        .cells
        .values()
        .filter_map(|v| v.as_str())
        .map(normalize)
        .collect();
    for f in &def.fields {
        if !f
            .normalized_labels()
            .iter()
            .any(|l| template_texts.contains(l))
        {
            return Err(format!(
                "template.cells: the label \"{}\" of field \"{}\" is not in the template",
                f.label, f.key
            ));
        }
    }
    for cell in def.blank.cells.keys() {
        crate::cellref::parse_a1(cell)
            .ok_or_else(|| format!("template.cells: \"{cell}\" is not a cell address"))?;
    }
    for range in def
        .blank
        .merges
        .iter()
        .chain(&def.blank.amounts)
        .chain(&def.blank.percents)
        .chain(&def.blank.points)
        .chain(def.blank.lists.iter().map(|l| &l.range))
    {
        crate::cellref::parse_range(range)
            .ok_or_else(|| format!("template: \"{range}\" is not a cell range"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_definitions_load() {
        let defs = Definitions::embedded();
        assert_eq!(defs.forms.len(), 3);
        assert_eq!(defs.framework.level2_of("产出指标").unwrap()[0], "数量指标");
        assert!(defs.framework.is_cost("经济成本指标"));
        assert_eq!(defs.framework.grade(89.99), "良");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let mut files: Vec<(PathBuf, String)> = EMBEDDED
            .iter()
            .map(|(n, t)| (PathBuf::from(n), t.to_string()))
            .collect();
        files[1].1 = files[1].1.replace("required = true", "required = yes");
        let err = Definitions::from_sources(&files).unwrap_err().to_string();
        assert!(err.starts_with("target_declaration.toml:"), "{err}");
        let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
        assert_eq!(
            files[1].1.lines().nth(line - 1).unwrap().trim(),
            "required = yes"
        );
    }

    #[test]
    fn missing_key_is_reported() {
        let mut files: Vec<(PathBuf, String)> = EMBEDDED
            .iter()
            .map(|(n, t)| (PathBuf::from(n), t.to_string()))
            .collect();
        files[3].1 = files[3].1.replace(
            "key = \"weight\", label = \"分值\" }",
            "key = \"w\", label = \"分值\" }",
        );
        let err = Definitions::from_sources(&files).unwrap_err().to_string();
        assert!(err.contains("key = \"weight\""), "{err}");
    }
}
