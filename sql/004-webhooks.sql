-- 004-webhooks.sql: the endpoints of goip-webhookd (issue 14).
-- goipctl writes an endpoint's settings; goip-webhookd reads them about
-- twice a second and writes its progress: the cursor (the last event id
-- delivered or skipped by the filter), the failure state and the counters.
-- The cursor advances only after a 2xx answer, in the same statement that
-- counts the delivery. AUTOINCREMENT: an id is never reused, so a removed
-- endpoint's in-flight answer cannot be taken for a new endpoint's.
-- ping_seq is raised by "goipctl webhook test"; the daemon sends one ping
-- and sets ping_done to it with the ping's status and error.

CREATE TABLE webhooks (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	url		TEXT NOT NULL,
	events		TEXT NOT NULL,		-- names separated by ","
	device		TEXT,			-- device id filter, NULL: all
	secret		TEXT NOT NULL,
	enabled		INTEGER NOT NULL DEFAULT 1
			    CHECK (enabled = 0 OR enabled = 1),
	cursor		INTEGER NOT NULL,
	failing_since	INTEGER,		-- unix ms, NULL: healthy
	last_status	INTEGER,		-- HTTP status, 0: no answer
	last_error	TEXT,
	last_at		INTEGER,		-- unix ms of the last attempt
	delivered	INTEGER NOT NULL DEFAULT 0,
	failed		INTEGER NOT NULL DEFAULT 0,
	retries		INTEGER NOT NULL DEFAULT 0,
	ping_seq	INTEGER NOT NULL DEFAULT 0,
	ping_done	INTEGER NOT NULL DEFAULT 0,
	ping_status	INTEGER,
	ping_error	TEXT,
	created_at	INTEGER NOT NULL
);
