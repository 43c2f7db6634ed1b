//! What the daemon remembers of a file in an inbox while it waits for it to settle.

use std::time::{Instant, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Seen {
    pub(super) size: u64,
    pub(super) mtime: Option<SystemTime>,
    pub(super) since: Instant,
}

impl Seen {
    /// Not looked at yet: the next tick records its size and time and starts the wait.
    pub(super) fn unseen() -> Seen {
        Seen {
            size: u64::MAX,
            mtime: None,
            since: Instant::now(),
        }
    }
}
