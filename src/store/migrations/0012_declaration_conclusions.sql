-- Version 12: a declaration's review conclusion (通过, 修改后通过, 不通过) has a column of its own,
-- and an index holds, for every accepted declaration, all that is needed to work out which
-- targets are in force and to list them — for every project at once on the console's 待批复,
-- for each project in the summary — without reading a row itself, whose stored result and form
-- (kilobytes of JSON each) come before its later columns.
ALTER TABLE submissions ADD COLUMN conclusion TEXT;
UPDATE submissions SET conclusion = json_extract(result_json, '$.review.conclusion')
    WHERE form = 'target_declaration' AND json_valid(result_json);
CREATE INDEX submissions_declarations ON submissions
    (project_key, id, conclusion, department, year, project_code, project_name, received_at,
     file_name)
    WHERE form = 'target_declaration' AND outcome = 'accepted';
-- What is owed (every project of a year with its accepted forms) is read from this one.
CREATE INDEX submissions_accepted ON submissions (year, project_key, form)
    WHERE outcome = 'accepted';
-- The current (latest accepted) forms of a year, which the summary and the console's 总览 count,
-- are listed from this one: `superseded_by` comes after the stored result and form in a row.
CREATE INDEX submissions_current ON submissions
    (year, id, department, form, project_code, project_name, project_key, conclusion)
    WHERE outcome = 'accepted' AND superseded_by IS NULL AND form IS NOT NULL
    AND form_json IS NOT NULL;
