-- Version 1: the tables of jixiao 0.1.0. A state database made by 0.1.0 has them already (it
-- created each with IF NOT EXISTS and kept no schema version), so this step adopts it as is.

CREATE TABLE IF NOT EXISTS submissions (
    id            INTEGER PRIMARY KEY,
    department    TEXT NOT NULL,      -- department code: the folder the file arrived in
    inbox_path    TEXT NOT NULL,      -- path inside the department's folder
    file_name     TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    received_at   TEXT NOT NULL,
    stage         TEXT NOT NULL,      -- recorded: results and messages stored; done: file moved
    outcome       TEXT NOT NULL,      -- accepted | rejected | duplicate
    form          TEXT,
    year          INTEGER,
    project_key   TEXT,
    project_code  TEXT,
    project_name  TEXT,
    result_json   TEXT,
    form_json     TEXT,               -- the form's values (forms::record::FormRecord)
    duplicate_of  INTEGER REFERENCES submissions(id),
    supersedes    INTEGER REFERENCES submissions(id),
    superseded_by INTEGER REFERENCES submissions(id),
    archive_path  TEXT NOT NULL,
    moved_to      TEXT,
    done_at       TEXT
);
CREATE INDEX IF NOT EXISTS submissions_by_hash ON submissions(department, sha256);
CREATE INDEX IF NOT EXISTS submissions_by_project ON submissions(project_key, form);
CREATE INDEX IF NOT EXISTS submissions_by_stage ON submissions(stage);

CREATE TABLE IF NOT EXISTS approvals (
    id            INTEGER PRIMARY KEY,
    project_key   TEXT NOT NULL,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    approved_at   TEXT NOT NULL,
    source        TEXT NOT NULL,       -- "command" or the decision file's name
    note          TEXT,
    UNIQUE (submission_id)
);

CREATE TABLE IF NOT EXISTS reminders (
    id          INTEGER PRIMARY KEY,
    year        INTEGER NOT NULL,
    form        TEXT NOT NULL,
    department  TEXT NOT NULL,
    label       TEXT NOT NULL,      -- e.g. before-7, after-1
    sent_on     TEXT NOT NULL,
    outbox_id   INTEGER,
    projects    TEXT NOT NULL,      -- what was owed, as JSON
    UNIQUE (year, form, department, label)
);

CREATE TABLE IF NOT EXISTS answers (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    file_name     TEXT NOT NULL,      -- as written beside the original in the department's folder
    bytes         BLOB NOT NULL,
    PRIMARY KEY (submission_id, file_name)
);
CREATE TABLE IF NOT EXISTS submission_letters (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
    kind          TEXT NOT NULL,
    doc_number    TEXT NOT NULL,      -- 吉财绩函〔2026〕12号
    title         TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS doc_numbers (
    agency TEXT NOT NULL,
    year INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (agency, year)
);
CREATE TABLE IF NOT EXISTS issued_letters (
    id INTEGER PRIMARY KEY,
    agency TEXT NOT NULL,
    year INTEGER NOT NULL,
    number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    department TEXT NOT NULL,
    project_key TEXT NOT NULL,
    file_name TEXT NOT NULL,
    docx BLOB NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (agency, year, number)
);

CREATE TABLE IF NOT EXISTS summary_mail (
    id        INTEGER PRIMARY KEY,
    year      INTEGER NOT NULL,
    due_at    TEXT NOT NULL,      -- the scheduled time this mail answers (local), or 'manual'
    outbox_id INTEGER,
    queued_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS mail_outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    reference       TEXT    NOT NULL,
    token           TEXT    NOT NULL UNIQUE,
    to_addrs        TEXT    NOT NULL,
    cc_addrs        TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_at      INTEGER,
    sent_at         INTEGER,
    last_error      TEXT,
    message_id      TEXT,
    envelope_from   TEXT,
    raw             BLOB
);
CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS mail_attachment (
    outbox_id    INTEGER NOT NULL REFERENCES mail_outbox (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    file_name    TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    bytes        BLOB    NOT NULL,
    PRIMARY KEY (outbox_id, position)
);
