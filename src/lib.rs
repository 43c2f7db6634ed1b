//! jixiao (绩效): budget performance management for finance offices. Reads the three standard
//! forms that departments send, checks and scores them, and explains every problem by cell.

pub mod cellref;
pub mod check;
pub mod cli;
pub mod config;
pub mod cycle;
pub mod departments;
pub mod forms;
pub mod letters;
pub mod mail;
pub mod rules;
pub mod runtime;
pub mod score;
pub mod store;
pub mod summary;
pub mod text;
pub mod util;
pub mod watch;
pub mod workbook;

pub use check::{CheckResult, Checked, Checker};
pub use forms::{Definitions, FormKind};
pub use workbook::Limits;
