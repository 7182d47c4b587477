-- Statement pages of a month are read in id order after a cursor
-- (bl_statement_search: WHERE target_month = ? AND id > ? ORDER BY id LIMIT n).
-- (target_month, billed_amount) gave no id order: while a batch wrote the
-- month, MariaDB read the month's rows and sorted them (0.7-2.5 s per page at
-- 1 M statements).  (target_month, id) gives the page directly; a billed range
-- within a month is a filter on that scan.  The number of indexes, and so the
-- batch's insert cost, is unchanged.
ALTER TABLE statements
  DROP KEY ix_statements_month_billed,
  ADD KEY ix_statements_month (target_month, id);
