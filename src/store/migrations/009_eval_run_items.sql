-- The ids of the items a run evaluates (JSON), frozen when it is created, so accepting a
-- draft later does not shift a run's items. NULL for runs created before: their items are
-- worked out from the set as before.
ALTER TABLE eval_runs ADD COLUMN item_ids TEXT;
