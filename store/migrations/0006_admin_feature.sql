-- The node's first account operates the node (lists and lifts bans of the
-- flood guard): it gets the admin feature. New nodes give it at first start.
UPDATE accounts SET features = CASE WHEN features = '' THEN 'admin' ELSE features || ',admin' END
WHERE id = (SELECT id FROM accounts ORDER BY created_at, id LIMIT 1)
  AND ',' || features || ',' NOT LIKE '%,admin,%';
