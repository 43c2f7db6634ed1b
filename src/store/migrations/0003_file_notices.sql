-- Version 3: files that are not a form get no numbered letter; they wait here, recorded in the
-- transaction of their submission, for the one notice that lists them (a flood of such files
-- gets one notice, not one each).
CREATE TABLE file_notices (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions(id),
    department    TEXT NOT NULL
);
