-- Files whose processing failed and is being retried: how often, and the last error, so that
-- `jixiao status` can say what is stuck and why, also after a restart.
CREATE TABLE failures (
    path       TEXT PRIMARY KEY,   -- relative to root
    attempts   INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
