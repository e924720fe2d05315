-- Inbound SIP routing (issue 7): the voice application that answers calls
-- from a trunk to the number. Plain TEXT without a foreign key, so deleting
-- an application never fails on numbers that still name it; such calls are
-- refused at the front door until the number is updated. '' = none.
ALTER TABLE sip_configurations ADD COLUMN application_id TEXT NOT NULL DEFAULT '';
