//! jixiao (绩效): budget performance management for finance offices. Reads the three standard
//! forms that departments send, checks and scores them, and explains every problem by cell.

pub mod cellref;
pub mod check;
pub mod cli;
pub mod config;
pub mod consolidate;
pub mod definitions;
pub mod dispatch;
pub mod indicator;
pub mod letters;
pub mod mail;
pub mod ods;
pub mod projects;
pub mod reader;
pub mod record;
pub mod reminders;
pub mod result;
pub mod review;
pub mod rules;
pub mod score;
pub mod setup;
pub mod store;
pub mod templates;
pub mod text;
pub mod watch;
pub mod workbook;
pub mod xls_guard;
pub mod xlsx_merges;

pub use check::{Checked, Checker};
pub use definitions::{Definitions, FormKind};
pub use result::CheckResult;
pub use workbook::Limits;
