//! The standard forms: their definitions (`forms/*.toml`), a workbook read into a typed form by
//! its labels, the values written in it, the project it is about, and the blank forms themselves.

pub mod blank;
pub mod definitions;
pub(crate) mod indicator;
pub mod project;
pub(crate) mod read;
pub mod record;
pub mod values;

pub use definitions::{Definitions, FormKind};
