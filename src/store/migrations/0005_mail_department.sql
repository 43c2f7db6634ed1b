-- Version 4: the department whose contacts a message is addressed to (none for the finance
-- office's own mail), so that a message retried by a person after a permanent failure is
-- addressed with the contacts configured then.
ALTER TABLE mail_outbox ADD COLUMN department TEXT;
