-- Version 2: a letter is kept once, in issued_letters, which now knows the submission it answers
-- and its title. 0.1.0 kept each letter three times: in issued_letters, in answers (the copy put
-- beside the original) and in the outbox; and the submission ↔ letter link in its own table.
-- The outbox keeps its copy: it sends exactly the bytes it froze.

ALTER TABLE issued_letters ADD COLUMN submission_id INTEGER REFERENCES submissions(id);
ALTER TABLE issued_letters ADD COLUMN title TEXT NOT NULL DEFAULT '';

UPDATE issued_letters SET
    submission_id = (
        SELECT sl.submission_id FROM submission_letters sl
        WHERE sl.doc_number = issued_letters.agency || '〔' || issued_letters.year || '〕'
                              || issued_letters.number || '号'
    ),
    title = COALESCE((
        SELECT sl.title FROM submission_letters sl
        WHERE sl.doc_number = issued_letters.agency || '〔' || issued_letters.year || '〕'
                              || issued_letters.number || '号'
    ), '');

-- The letter beside the original now comes from issued_letters.
DELETE FROM answers WHERE EXISTS (
    SELECT 1 FROM issued_letters l
    WHERE l.submission_id = answers.submission_id AND l.docx = answers.bytes
);

DROP TABLE submission_letters;

CREATE INDEX issued_letters_by_submission ON issued_letters(submission_id);
