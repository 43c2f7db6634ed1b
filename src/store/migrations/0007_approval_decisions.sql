-- Version 7: the finance office's decisions on declarations are kept as a history — each
-- approval or revocation of a version, with who (the command or the decision file), when and
-- the note. The approvals of earlier versions are kept as approvals.
CREATE TABLE approvals_new (
    id            INTEGER PRIMARY KEY,
    project_key   TEXT NOT NULL,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    action        TEXT NOT NULL DEFAULT 'approve',   -- "approve" or "revoke"
    approved_at   TEXT NOT NULL,                     -- when it was decided
    source        TEXT NOT NULL,                     -- "command" or the decision file's name
    note          TEXT
);
INSERT INTO approvals_new (id, project_key, submission_id, action, approved_at, source, note)
    SELECT id, project_key, submission_id, 'approve', approved_at, source, note FROM approvals;
DROP TABLE approvals;
ALTER TABLE approvals_new RENAME TO approvals;
CREATE INDEX approvals_by_project ON approvals (project_key);
