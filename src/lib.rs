//! jixiao (绩效): budget performance management for finance offices. Reads the three standard
//! forms that departments send, checks and scores them, explains every problem by cell, answers
//! with official letters, keeps the year's state and sends the mail.
//!
//! The binary (`main.rs`) calls [`cli::run`] with a [`runtime::Runtime`]. The public API is what
//! the binary, the integration tests, the benchmarks and the fuzz targets use:
//!
//! - checking: [`Checker`], [`Checked`], [`CheckResult`], [`Definitions`], [`FormKind`],
//!   [`Limits`], and the modules [`forms`], [`rules`], [`score`], [`workbook`], [`cellref`];
//!   [`cli::write_human`], the human report of `check` (the fuzz targets write it);
//! - answering: [`letters`] (rendering a letter from a result) and [`mail`] (the outbox and its
//!   delivery);
//! - the state and the year: [`store`] (opening and migrating the database, its tables),
//!   [`cycle`], [`summary`], [`config`];
//! - [`runtime`]: the clock and test hooks that come in from outside; [`logging`]: the log's
//!   style and one event per line.
//!
//! Everything else — the daemon's loop, shared helpers — is internal (`pub(crate)`), so the
//! compiler reports what nothing uses. The README's "Code layout" section draws the layers.

pub mod cellref;
pub mod check;
pub mod cli;
pub mod config;
pub mod cycle;
pub(crate) mod departments;
pub mod forms;
pub(crate) mod inbox;
pub mod letters;
pub mod logging;
pub mod mail;
pub mod rules;
pub mod runtime;
pub mod score;
pub mod store;
pub mod summary;
pub(crate) mod text;
pub(crate) mod util;
pub(crate) mod watch;
pub(crate) mod web;
pub mod workbook;
pub(crate) mod worker;

pub use check::{CheckResult, Checked, Checker};
pub use forms::{Definitions, FormKind};
pub use workbook::Limits;
