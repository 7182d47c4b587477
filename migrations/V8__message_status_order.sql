-- Message pages of a status are read in id order after a cursor
-- (bl_message_search: WHERE status = ? AND id > ? ORDER BY id LIMIT n).
-- (status, next_attempt_at) gave no id order: a page of WAITING e-mails
-- during the pipeline either walked every SUCCESS row in id order or sorted
-- all WAITING rows (2.7 s at 1 M under load).  The stale-claim sweep reads
-- the PROCESSING rows (those in flight) through this index as well; the
-- relay has ix_messages_outbox.  Same number of indexes: the pipeline's
-- index writes are unchanged.
ALTER TABLE messages
  DROP KEY ix_messages_status,
  ADD KEY ix_messages_status (status, id);
