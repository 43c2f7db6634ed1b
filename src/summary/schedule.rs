//! `[summary]` in `jixiao.toml` — how often the daemon may rebuild the workbook, and when it is
//! mailed to the finance office — and the rate limit of the daemon's rebuilds.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::{Datelike, NaiveDateTime, NaiveTime, Weekday};
use serde::Deserialize;

/// `[summary]` in `jixiao.toml`: how often the daemon may rebuild the workbook and when it is
/// mailed to the finance office.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SummarySettings {
    /// The daemon rebuilds the workbook at most once in this many seconds.
    pub refresh_secs: u64,
    /// `"daily 08:00"`, `"weekly mon 08:00"`, or absent / `"none"` for no scheduled mail.
    pub mail_schedule: Option<String>,
}

impl Default for SummarySettings {
    fn default() -> Self {
        SummarySettings {
            refresh_secs: 5,
            mail_schedule: None,
        }
    }
}

/// When the summary is mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    Daily(NaiveTime),
    Weekly(Weekday, NaiveTime),
}

impl Schedule {
    /// Parses `daily HH:MM` or `weekly DAY HH:MM` (DAY: mon … sun, or the full English name);
    /// `none` or an empty text is no schedule.
    pub(crate) fn parse(text: &str) -> Result<Option<Schedule>, String> {
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        let time = |t: &str| {
            NaiveTime::parse_from_str(t, "%H:%M")
                .map_err(|_| format!("\"{t}\" is not a time of day (HH:MM, e.g. 08:00)"))
        };
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            [] | ["none"] => Ok(None),
            ["daily", t] => Ok(Some(Schedule::Daily(time(t)?))),
            ["weekly", day, t] => {
                let wd: Weekday = day.parse().map_err(|_| {
                    format!(
                        "\"{day}\" is not a day of the week (mon, tue, wed, thu, fri, sat, sun)"
                    )
                })?;
                Ok(Some(Schedule::Weekly(wd, time(t)?)))
            }
            _ => Err(format!(
                "\"{text}\": write \"daily 08:00\", \"weekly mon 08:00\" or \"none\""
            )),
        }
    }

    /// The first time strictly after `after` that the schedule names.
    pub(crate) fn next_after(&self, after: NaiveDateTime) -> NaiveDateTime {
        let (days_ahead, time, step) = match *self {
            Schedule::Daily(t) => (0, t, 1),
            Schedule::Weekly(wd, t) => {
                let ahead = (7 + wd.num_days_from_monday() as i64
                    - after.weekday().num_days_from_monday() as i64)
                    % 7;
                (ahead, t, 7)
            }
        };
        let candidate = (after.date() + chrono::Days::new(days_ahead as u64)).and_time(time);
        if candidate > after {
            candidate
        } else {
            candidate + chrono::Days::new(step)
        }
    }
}

impl SummarySettings {
    /// Checks the settings; the message names the key (the caller puts the file in front).
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.refresh_secs == 0 {
            bail!("summary.refresh_secs must be at least 1");
        }
        if let Some(s) = &self.mail_schedule {
            Schedule::parse(s).map_err(|e| anyhow::anyhow!("summary.mail_schedule {e}"))?;
        }
        Ok(())
    }

    /// The mail schedule (none when absent, `none`, or invalid — invalid is refused at load).
    pub fn schedule(&self) -> Option<Schedule> {
        self.mail_schedule
            .as_deref()
            .and_then(|s| Schedule::parse(s).ok().flatten())
    }

    /// When the summary is next due to be mailed after `after`, if a schedule is set.
    pub(crate) fn next_due(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        self.schedule().map(|s| s.next_after(after))
    }

    /// The least time between two automatic rebuilds.
    pub(crate) fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.refresh_secs.max(1))
    }
}

/// Keeps the daemon from rebuilding the workbook more than once per `min_interval`: marked dirty
/// after each recorded form, rebuilt when `Refresher::due`.
#[derive(Debug, Clone)]
pub struct Refresher {
    pub(crate) min_interval: Duration,
    /// When the workbook was last rebuilt.
    pub(crate) last: Option<Instant>,
    pub(crate) dirty: bool,
    /// The years whose workbooks are out of date.
    pub(crate) years: BTreeSet<i32>,
}

impl Refresher {
    pub(crate) fn new(min_interval: Duration) -> Refresher {
        Refresher {
            min_interval,
            last: None,
            dirty: false,
            years: BTreeSet::new(),
        }
    }

    /// The workbook of `year` is out of date.
    pub(crate) fn mark_dirty(&mut self, year: i32) {
        self.dirty = true;
        self.years.insert(year);
    }

    /// Whether a rebuild is due at `now`: something changed and the last rebuild is at least
    /// `min_interval` ago.
    pub(crate) fn due(&self, now: Instant) -> bool {
        self.dirty
            && self
                .last
                .is_none_or(|l| now.saturating_duration_since(l) >= self.min_interval)
    }

    /// The years to rebuild now; the refresher is clean again and counts the interval from `now`.
    pub(crate) fn take(&mut self, now: Instant) -> Vec<i32> {
        self.dirty = false;
        self.last = Some(now);
        std::mem::take(&mut self.years).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn settings(schedule: &str) -> SummarySettings {
        SummarySettings {
            refresh_secs: 5,
            mail_schedule: Some(schedule.into()),
        }
    }

    #[test]
    fn daily_schedule_is_due_today_or_tomorrow() {
        let s = settings("daily 08:00");
        // 2026-03-04 is a Wednesday.
        assert_eq!(
            s.next_due(at("2026-03-04 07:59")),
            Some(at("2026-03-04 08:00"))
        );
        assert_eq!(
            s.next_due(at("2026-03-04 08:00")),
            Some(at("2026-03-05 08:00")),
            "strictly after"
        );
        assert_eq!(
            s.next_due(at("2026-12-31 23:00")),
            Some(at("2027-01-01 08:00"))
        );
    }

    #[test]
    fn weekly_schedule_finds_the_next_weekday() {
        let s = settings("weekly mon 08:00");
        assert_eq!(
            s.next_due(at("2026-03-04 12:00")),
            Some(at("2026-03-09 08:00"))
        );
        assert_eq!(
            s.next_due(at("2026-03-09 07:00")),
            Some(at("2026-03-09 08:00"))
        );
        assert_eq!(
            s.next_due(at("2026-03-09 08:00")),
            Some(at("2026-03-16 08:00"))
        );
        let s = settings("Weekly Friday 17:30");
        assert_eq!(
            s.next_due(at("2026-03-04 12:00")),
            Some(at("2026-03-06 17:30"))
        );
    }

    #[test]
    fn no_schedule_is_never_due() {
        assert_eq!(
            SummarySettings::default().next_due(at("2026-03-04 12:00")),
            None
        );
        assert_eq!(settings("none").next_due(at("2026-03-04 12:00")), None);
    }

    #[test]
    fn bad_schedules_name_the_key() {
        for bad in ["daily 8h", "weekly someday 08:00", "hourly", "daily 25:00"] {
            let err = format!("{:#}", settings(bad).validate().unwrap_err());
            assert!(err.starts_with("summary.mail_schedule"), "{bad}: {err}");
        }
        let err = SummarySettings {
            refresh_secs: 0,
            mail_schedule: None,
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("summary.refresh_secs"), "{err}");
    }

    #[test]
    fn refresher_waits_for_the_interval() {
        let t0 = Instant::now();
        let mut r = Refresher::new(Duration::from_secs(5));
        assert!(!r.due(t0), "nothing changed");
        r.mark_dirty(2026);
        assert!(r.due(t0), "the first change is written at once");
        assert_eq!(r.take(t0), vec![2026]);
        assert!(!r.due(t0));
        r.mark_dirty(2026);
        r.mark_dirty(2027);
        assert!(!r.due(t0 + Duration::from_secs(4)));
        assert!(r.due(t0 + Duration::from_secs(5)));
        assert_eq!(r.take(t0 + Duration::from_secs(5)), vec![2026, 2027]);
    }
}
