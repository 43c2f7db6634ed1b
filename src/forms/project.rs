//! Which project a form is about, and the key that links a project's forms across the year.

use serde::{Deserialize, Serialize};

use crate::forms::read::RawForm;
use crate::text::normalize;

/// How a project is identified: year + 主管部门 + (项目编码, else 项目名称).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub code: Option<String>,
    pub name: Option<String>,
    pub department: Option<String>,
    pub year: Option<i32>,
}

/// The project a form is about, as far as it could be read.
impl Project {
    pub(crate) fn of(form: &RawForm) -> Project {
        Project {
            code: form.field("code").text(),
            name: form.field("name").text(),
            department: form.field("department").text(),
            year: form.year.year,
        }
    }
}

impl Project {
    /// The key that links this project's forms, for a form received from `department`
    /// (a department code). None when the form names neither a 项目编码 nor a 项目名称.
    pub fn key(&self, department: &str) -> Option<ProjectKey> {
        let ident = self.code.as_deref().or(self.name.as_deref())?;
        Some(ProjectKey::new(self.year, department, ident))
    }
}

/// The key that links a project's forms: year, department code and the normalised 项目编码 (else
/// 项目名称), stored as `2026|nyt|22000026000101`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectKey(String);

impl ProjectKey {
    /// The key of a project of `year` (none when the form gives no year) of a department.
    pub fn new(year: Option<i32>, department: &str, ident: &str) -> ProjectKey {
        ProjectKey(format!(
            "{}|{}|{}",
            year.map(|y| y.to_string()).unwrap_or_default(),
            department,
            normalize(ident)
        ))
    }

    /// A key as stored.
    pub(crate) fn from_stored(key: String) -> ProjectKey {
        ProjectKey(key)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The year part (empty when the form gave none).
    pub(crate) fn year(&self) -> &str {
        self.0.split('|').next().unwrap_or("")
    }

    /// The department code part.
    pub(crate) fn department(&self) -> &str {
        self.0.split('|').nth(1).unwrap_or("")
    }
}

impl std::fmt::Display for ProjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_by_code_else_name_normalised() {
        let p = Project {
            code: Some("2200 0026".into()),
            name: Some("项目".into()),
            department: None,
            year: Some(2026),
        };
        let k = p.key("nyt").unwrap();
        assert_eq!(k.year(), "2026");
        assert_eq!(k.department(), "nyt");
        assert_eq!(k, ProjectKey::new(Some(2026), "nyt", "2200 0026"));
        let none = Project::default();
        assert!(none.key("nyt").is_none());
    }
}
