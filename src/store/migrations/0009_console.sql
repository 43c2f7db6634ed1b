-- The web console: its accounts, their sessions, failed logins (for throttling) and the audit
-- log of what people did through it (approvals, sign-offs, retries, uploads, logins).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'reviewer', 'admin')),
    password_hash TEXT NOT NULL,          -- argon2id, PHC string
    created_at    TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,          -- sha256 of the cookie's token; the token is never stored
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,             -- the token every form of this session carries
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    ip   TEXT NOT NULL,
    at   TEXT NOT NULL                    -- RFC 3339, UTC
);
CREATE INDEX login_failures_name ON login_failures (name, at);
CREATE INDEX login_failures_ip ON login_failures (ip, at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    user    TEXT NOT NULL,                -- the account's name (or `command` for the CLI)
    action  TEXT NOT NULL,                -- login, approve, revoke, sign, retry, trial, …
    subject TEXT NOT NULL,                -- what it was about: `submission:12`, `outbox:3`, …
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_subject ON audit_log (subject);
