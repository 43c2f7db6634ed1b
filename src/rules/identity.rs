//! The identity rule: a department acts only for itself. Its folder under the root is its
//! identity, so a form's 主管部门 must name the department whose folder holds it — or, where no
//! folder says who sent it (`jixiao check --config`), one of the configured departments.

use crate::departments::Department;
use crate::forms::read::RawForm;
use crate::rules::issue::{Issue, IssueCode};

/// Who may have sent a form.
#[derive(Debug, Clone, Copy)]
pub enum Sender<'a> {
    /// The department whose folder holds the file.
    Department(&'a Department),
    /// Any configured department.
    AnyOf(&'a [Department]),
}

/// The error of a form whose 主管部门 is not its sender; none when it is, or when 主管部门 is empty
/// (that is the rules' own error).
pub(crate) fn wrong_department(form: &RawForm, sender: Sender) -> Option<Issue> {
    let slot = form.field("department");
    let named = slot.text()?;
    let message = match sender {
        Sender::Department(d) if d.is_named(&named) => return None,
        Sender::Department(d) => format!(
            "主管部门填写为“{named}”，但文件放在“{}”的文件夹中。各部门只能报送本部门的表，请核对主管部门或放入本部门文件夹",
            d.name
        ),
        Sender::AnyOf(all) if all.iter().any(|d| d.is_named(&named)) => return None,
        Sender::AnyOf(_) => format!(
            "主管部门填写为“{named}”，不是已登记的部门。请填写本部门的全称（与财政部门登记的名称一致）"
        ),
    };
    Some(Issue::new(
        &form.sheet,
        slot.cell,
        "主管部门",
        IssueCode::WrongDepartment,
        message,
    ))
}
