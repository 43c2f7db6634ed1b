-- The web console's 报送记录 filters and searches every submission: an index holding every column
-- the filters and the text search read, so that they never read a row itself, whose stored
-- result and form (kilobytes each) come before its later columns.
CREATE INDEX submissions_browse ON submissions
    (department, year, form, outcome, duplicate_of, project_name, project_code, file_name);
