-- A conference's mixer runs on one node: the node that created it. A node
-- that restarts after a crash completes only its own open conferences, and
-- a node that reconciles a lost node completes that node's; conferences
-- created before this migration have node_id '' and belong to the node that
-- restarts on this database (a single node), as the journal's rows do.
ALTER TABLE conferences ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
