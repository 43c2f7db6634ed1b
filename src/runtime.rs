//! What comes into the library from outside, read once in `main` and handed down: the clock,
//! and the test hooks of the crash tests. Library code never reads the environment or calls
//! `now()` itself, so tests set the day and the time.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate};

/// Where the time comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The time now.
    fn now(&self) -> DateTime<Local>;

    /// Today's date: what deadlines, reminders and letters' dates go by.
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// The system clock; with a rehearsal day (`JIXIAO_TODAY=2026-03-30` or `--today`), dates go by
/// that day while times stay real, so reminders and letters can be tried on a chosen day.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock {
    pub(crate) today: Option<NaiveDate>,
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Local> {
        Local::now()
    }

    fn today(&self) -> NaiveDate {
        self.today.unwrap_or_else(|| Local::now().date_naive())
    }
}

/// A clock that shows the time it is set to, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Local>>);

impl ManualClock {
    pub fn new(at: DateTime<Local>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    /// A clock set to midday local time of `day`.
    pub fn on(day: NaiveDate) -> ManualClock {
        let noon = day.and_hms_opt(12, 0, 0).unwrap_or_default();
        ManualClock::new(
            noon.and_local_timezone(Local)
                .earliest()
                .unwrap_or_else(Local::now),
        )
    }

    pub fn set(&self, at: DateTime<Local>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Local> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Seams for the crash tests, off in production. `main` sets them from `JIXIAO_TEST_PAUSE_MS`,
/// `JIXIAO_TEST_ABORT_AFTER_SMTP_ACCEPT` and `JIXIAO_TEST_WORKER_FAULTS`; nothing else reads
/// those variables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Hold the daemon this long between recording a submission and moving its file, so that a
    /// `kill -9` lands in that window.
    pub(crate) pause_after_record: Option<Duration>,
    /// Abort the process right after the SMTP server accepted a message and before the outbox
    /// records it (the window the README explains).
    pub(crate) abort_after_smtp_accept: bool,
    /// Let a worker fail on purpose on files named `fault-abort…`, `fault-hang…` or
    /// `fault-memory…`, and while annotating files named `annotate-fault-…` (see
    /// `worker::serve`): the isolation tests' stand-ins for files that crash, hang or swell a
    /// reader in ways nobody has found yet.
    pub(crate) worker_faults: bool,
}

/// The environment variable of [`Hooks::pause_after_record`], in milliseconds.
pub(crate) const PAUSE_ENV: &str = "JIXIAO_TEST_PAUSE_MS";
/// The environment variable of `Hooks::abort_after_smtp_accept`.
pub const ABORT_AFTER_ACCEPT_ENV: &str = "JIXIAO_TEST_ABORT_AFTER_SMTP_ACCEPT";
/// The environment variable of `Hooks::worker_faults`.
pub const WORKER_FAULTS_ENV: &str = "JIXIAO_TEST_WORKER_FAULTS";
/// The environment variable of the rehearsal day ([`SystemClock::today`]).
pub const TODAY_ENV: &str = "JIXIAO_TODAY";

impl Hooks {
    /// The hooks as a variable lookup gives them (`main` passes `std::env::var`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Hooks {
        Hooks {
            pause_after_record: var(PAUSE_ENV)
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_millis),
            abort_after_smtp_accept: var(ABORT_AFTER_ACCEPT_ENV).is_some(),
            worker_faults: var(WORKER_FAULTS_ENV).is_some(),
        }
    }
}

/// The environment variable naming the configuration file when `--config` is not given.
pub const CONFIG_ENV: &str = "JIXIAO_CONFIG";

/// The clock and hooks a command runs with.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub(crate) clock: std::sync::Arc<dyn Clock>,
    pub hooks: Hooks,
    /// The configuration file named by `JIXIAO_CONFIG`, looked at when `--config` is not given.
    pub config_env: Option<std::path::PathBuf>,
}

impl Runtime {
    /// The production runtime: the system clock (with an optional rehearsal day), no hooks.
    pub fn system(today: Option<NaiveDate>) -> Runtime {
        Runtime {
            clock: std::sync::Arc::new(SystemClock { today }),
            hooks: Hooks::default(),
            config_env: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rehearsal_day_changes_the_date_only() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 30).unwrap();
        let c = SystemClock { today: Some(day) };
        assert_eq!(c.today(), day);
        assert!(c.now().date_naive() != day || Local::now().date_naive() == day);
    }

    #[test]
    fn manual_clock_moves_when_told() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 30).unwrap();
        let c = ManualClock::on(day);
        assert_eq!(c.today(), day);
        c.advance(chrono::Duration::days(2));
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
    }

    #[test]
    fn hooks_are_off_unless_set() {
        assert_eq!(Hooks::from_vars(|_| None), Hooks::default());
        let h = Hooks::from_vars(|k| (k == PAUSE_ENV).then(|| "250".to_string()));
        assert_eq!(h.pause_after_record, Some(Duration::from_millis(250)));
        assert!(!h.abort_after_smtp_accept);
    }
}
