-- Files being read by a worker: a file that was being read when the daemon itself died is
-- counted, so that one which keeps taking the daemon down is answered instead of retried for ever.
CREATE TABLE judging (
    department TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    inbox_path TEXT NOT NULL,
    tries      INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (department, sha256)
);
