-- Version 4: files under the root the daemon does not take as submissions — a name that is not
-- UTF-8, a symbolic link or a pipe in a department's folder, a file in no department's folder —
-- each logged once, answered where a department can be told, and listed by `jixiao status`.
CREATE TABLE stray_files (
    id          INTEGER PRIMARY KEY,
    path_bytes  BLOB NOT NULL,           -- the path under the root, byte for byte
    path        TEXT NOT NULL,           -- the same, shown (characters that are not UTF-8 as �)
    department  TEXT,                    -- NULL: in no department's folder, nobody to tell
    reason      TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    moved_to    TEXT,                    -- where it was put in the department's 已退回 folder
    notified    INTEGER NOT NULL DEFAULT 0
);
-- One row per file lying there; once answered, a new file at the same path is a new row.
CREATE UNIQUE INDEX stray_files_lying ON stray_files (path_bytes) WHERE moved_to IS NULL;
