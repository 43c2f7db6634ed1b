-- Letters held for a reviewer's sign-off (`[letters] sign_off`): what is needed to write the
-- letter later, and, once signed, who signed it, when, with which words, and its number.
CREATE TABLE held_letters (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions (id),
    kind          TEXT NOT NULL,          -- return_notice, target_review, …
    department    TEXT NOT NULL,          -- the department's code
    project_key   TEXT NOT NULL DEFAULT '',
    file_name     TEXT NOT NULL,          -- as the letter names it (one line)
    received_at   TEXT NOT NULL,
    held_at       TEXT NOT NULL,          -- RFC 3339, UTC
    result_json   TEXT NOT NULL,          -- the CheckResult the letter is written from
    form_json     TEXT,                   -- the RawForm as read, when one was
    original      TEXT NOT NULL CHECK (original IN ('absent', 'annotated')),
    annotated     BLOB,                   -- a return notice's annotated workbook, when made
    status        TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'signed')),
    signed_by     TEXT,
    signed_at     TEXT,                   -- RFC 3339, UTC
    opinions_json TEXT,                   -- the reviewer's words (ReviewerOpinions)
    agency        TEXT,                   -- the number issued when signed
    year          INTEGER,
    number        INTEGER,
    outbox_id     INTEGER                 -- the letter's mail
);
CREATE INDEX held_letters_status ON held_letters (status, held_at);
