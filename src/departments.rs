//! The departments and the finance office: who sends forms (a department's folder under the
//! root is its identity), under which names, and where letters and notices go.

use serde::Deserialize;

use crate::text::normalize;

/// The finance office: who signs, and who receives copies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finance {
    pub(crate) name: String,
    #[serde(default)]
    pub emails: Vec<String>,
    /// The finance office is copied on every letter (and on receipts when `copy_notices`).
    #[serde(default = "yes")]
    pub(crate) copy_letters: bool,
    #[serde(default)]
    pub(crate) copy_notices: bool,
}

/// A department: its folder under the root is its identity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// The full name as written in 主管部门, e.g. 吉林省农业农村厅.
    pub name: String,
    /// Other names accepted in 主管部门.
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    /// A short code used in the database and file names.
    pub code: String,
    /// The folder under the root, e.g. 农业农村厅.
    pub(crate) folder: String,
    /// Where letters and notices go.
    #[serde(default)]
    pub(crate) emails: Vec<String>,
}

impl Department {
    /// Whether a 主管部门 value names this department.
    pub fn is_named(&self, text: &str) -> bool {
        let n = normalize(text);
        std::iter::once(&self.name)
            .chain(&self.aliases)
            .any(|a| normalize(a) == n)
    }
}

fn yes() -> bool {
    true
}

/// The department whose folder is `name`.
pub(crate) fn by_folder<'a>(departments: &'a [Department], name: &str) -> Option<&'a Department> {
    departments.iter().find(|d| d.folder == name)
}

/// The department with this code.
pub(crate) fn by_code<'a>(departments: &'a [Department], code: &str) -> Option<&'a Department> {
    departments.iter().find(|d| d.code == code)
}

/// The department's full name, or the code itself for one no longer configured.
pub(crate) fn name_of<'a>(departments: &'a [Department], code: &'a str) -> &'a str {
    by_code(departments, code).map_or(code, |d| d.name.as_str())
}
