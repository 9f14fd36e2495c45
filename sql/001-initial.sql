-- 001-initial.sql: the first schema of goip-dashboard.
-- Times are unix milliseconds (UTC). Counters are kept by triggers in the
-- same transaction as the write, so no request ever scans a growing table.
-- Enumerations are checked with OR chains, not IN lists: SQLite 3.40 builds
-- a temporary table for every IN list of three or more values on every
-- write, which tripled the cost of a heartbeat. lib/valid.c checks the same
-- values before any SQL; these constraints are the last line.

CREATE TABLE devices (
	id		INTEGER PRIMARY KEY,
	device_id	TEXT NOT NULL UNIQUE,
	name		TEXT,
	token_hash	BLOB NOT NULL UNIQUE,
	status		TEXT NOT NULL DEFAULT 'offline'
			    CHECK (status = 'online' OR status = 'offline'),
	battery		INTEGER CHECK (battery BETWEEN 0 AND 100),
	charging	INTEGER CHECK (charging = 0 OR charging = 1),
	signal		INTEGER CHECK (signal BETWEEN 0 AND 100),
	firmware	TEXT,
	uptime		INTEGER,
	last_seen	INTEGER,
	hb_seq		INTEGER NOT NULL DEFAULT 0,	-- heartbeats so far
	created_at	INTEGER NOT NULL
);
-- No index on last_seen: it would be rewritten by every heartbeat, and the
-- once-a-second liveness sweep reads the devices table whole at less cost.

-- A heartbeat upserts the slots it reports (rewriting only those that
-- changed) and deletes the ones it no longer reports.
CREATE TABLE sim_slots (
	device		INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	slot		INTEGER NOT NULL,
	status		TEXT CHECK (status = 'ready' OR status = 'absent' OR
			    status = 'pin_required' OR status = 'blocked' OR
			    status = 'error'),
	operator	TEXT,
	phone_number	TEXT,
	iccid		TEXT,
	imsi		TEXT,
	signal		INTEGER CHECK (signal BETWEEN 0 AND 100),
	registration	TEXT CHECK (registration = 'home' OR
			    registration = 'roaming' OR registration = 'searching' OR
			    registration = 'denied' OR registration = 'none'),
	updated_at	INTEGER NOT NULL,
	PRIMARY KEY (device, slot)
) WITHOUT ROWID;

-- Recent heartbeats per device, for charts; bounded by heartbeat_history.
-- Keyed by (device, devices.hb_seq): one b-tree, one page per heartbeat.
CREATE TABLE heartbeats (
	device		INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	seq		INTEGER NOT NULL,
	at		INTEGER NOT NULL,
	battery		INTEGER,
	charging	INTEGER,
	signal		INTEGER,
	PRIMARY KEY (device, seq)
) WITHOUT ROWID;

-- Inbound and outbound SMS in one table: ids are one sequence, so the
-- feed pages by id across both directions.
CREATE TABLE sms (
	id		INTEGER PRIMARY KEY,
	device		INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	direction	TEXT NOT NULL CHECK (direction = 'in' OR direction = 'out'),
	slot		INTEGER,
	sender		TEXT,
	recipient	TEXT,
	text		TEXT NOT NULL,
	message_id	TEXT,
	received_at	INTEGER,
	stored_at	INTEGER NOT NULL,
	status		TEXT NOT NULL CHECK (status = 'received' OR
			    status = 'queued' OR status = 'sending' OR status = 'sent' OR
			    status = 'delivered' OR status = 'failed' OR
			    status = 'expired'),
	segments	INTEGER,
	encoding	TEXT,
	operator	TEXT,
	idem_key	TEXT,
	request_hash	BLOB,
	attempts	INTEGER NOT NULL DEFAULT 0,
	lease_until	INTEGER,
	next_attempt	INTEGER,
	expires_at	INTEGER,
	error		TEXT,
	updated_at	INTEGER,
	UNIQUE (device, message_id)
);
CREATE INDEX sms_device ON sms(device, id);
CREATE INDEX sms_direction ON sms(direction, id);
CREATE INDEX sms_outbox ON sms(device, next_attempt)
    WHERE status IN ('queued', 'sending');
CREATE INDEX sms_expiry ON sms(expires_at)
    WHERE status IN ('queued', 'sending');
CREATE UNIQUE INDEX sms_idempotency ON sms(operator, idem_key)
    WHERE idem_key IS NOT NULL;

-- The event log: the single ordered history of every change; the id is the
-- cursor. Ids are never reused because a prune always keeps the newest
-- event (lib/evlog.c), so MAX(id) never goes back; AUTOINCREMENT would
-- cost a write of sqlite_sequence on every event for the same guarantee.
CREATE TABLE events (
	id		INTEGER PRIMARY KEY,
	at		INTEGER NOT NULL,
	type		TEXT NOT NULL,
	device		TEXT,
	payload		TEXT NOT NULL
);

CREATE TABLE counters (
	name		TEXT PRIMARY KEY,
	value		INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO counters(name) VALUES ('devices_total'), ('devices_online'),
    ('sms_received'), ('sms_sent'), ('sms_delivered'), ('sms_failed'),
    ('sms_queued');

CREATE TABLE daily_counters (
	day		TEXT NOT NULL,
	name		TEXT NOT NULL,
	value		INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (day, name)
) WITHOUT ROWID;

CREATE TRIGGER devices_ai AFTER INSERT ON devices BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'devices_total';
	UPDATE counters SET value = value + 1 WHERE name = 'devices_online'
	    AND NEW.status = 'online';
END;
CREATE TRIGGER devices_ad AFTER DELETE ON devices BEGIN
	UPDATE counters SET value = value - 1 WHERE name = 'devices_total';
	UPDATE counters SET value = value - 1 WHERE name = 'devices_online'
	    AND OLD.status = 'online';
END;
CREATE TRIGGER devices_au_status AFTER UPDATE OF status ON devices
    WHEN OLD.status <> NEW.status BEGIN
	UPDATE counters SET value = value +
	    (CASE NEW.status WHEN 'online' THEN 1 ELSE -1 END)
	    WHERE name = 'devices_online';
END;

CREATE TRIGGER sms_ai_in AFTER INSERT ON sms WHEN NEW.direction = 'in' BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'sms_received';
	INSERT INTO daily_counters(day, name, value)
	    VALUES (strftime('%Y-%m-%d', NEW.stored_at / 1000, 'unixepoch'),
	    'sms_received', 1)
	    ON CONFLICT(day, name) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER sms_ai_out AFTER INSERT ON sms WHEN NEW.direction = 'out' BEGIN
	UPDATE counters SET value = value + 1 WHERE name = 'sms_queued';
END;
CREATE TRIGGER sms_au_out AFTER UPDATE OF status ON sms
    WHEN NEW.direction = 'out' AND OLD.status <> NEW.status BEGIN
	UPDATE counters SET value = value - 1 WHERE name = 'sms_queued'
	    AND OLD.status IN ('queued', 'sending')
	    AND NEW.status NOT IN ('queued', 'sending');
	UPDATE counters SET value = value + 1 WHERE name = 'sms_sent'
	    AND OLD.status IN ('queued', 'sending')
	    AND NEW.status IN ('sent', 'delivered');
	UPDATE counters SET value = value + 1 WHERE name = 'sms_delivered'
	    AND NEW.status = 'delivered';
	UPDATE counters SET value = value + 1 WHERE name = 'sms_failed'
	    AND NEW.status IN ('failed', 'expired');
END;
CREATE TRIGGER sms_ad AFTER DELETE ON sms BEGIN
	UPDATE counters SET value = value - 1 WHERE name = 'sms_queued'
	    AND OLD.direction = 'out' AND OLD.status IN ('queued', 'sending');
END;
