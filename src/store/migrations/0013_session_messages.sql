-- Version 13: what the console says after an action (已批复申报表 #41 …, or why it was refused)
-- is kept with the session until the next page shows it, not carried in the page's address,
-- where anyone could write a message of their own into a link.
ALTER TABLE sessions ADD COLUMN message TEXT;
