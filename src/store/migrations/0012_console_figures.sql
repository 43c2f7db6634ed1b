-- Version 12: what the console works out for every project at once — which targets are in
-- force (待批复, what is owed) and the summary's figures (总览) — is read from indexes, never
-- from the rows themselves, whose stored result and form (kilobytes of JSON each) come before
-- their later columns.
--
-- A declaration's review conclusion (通过, 修改后通过, 不通过) has a column of its own, filled
-- from the stored results; an index holds all that is needed of the accepted declarations.
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
-- What the summary counts of an accepted form — a performance report's 执行率, a
-- self-evaluation's verified score; `{}` for a declaration — kept as a little JSON when it is
-- recorded with its values. Forms recorded before have none: those figures are read from their
-- stored form and result, as before.
ALTER TABLE submissions ADD COLUMN figures TEXT;
-- The current (latest accepted) forms of a year, with all the console's 总览 counts of them, are
-- listed from this one: `superseded_by` comes after the stored result and form in a row.
CREATE INDEX submissions_current ON submissions
    (year, id, department, form, project_code, project_name, project_key, conclusion, figures,
     superseded_by, outcome)
    WHERE outcome = 'accepted' AND superseded_by IS NULL AND form IS NOT NULL;
