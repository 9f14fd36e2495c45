-- 003-goip-lines.sql: GoIP lines, their outbound sessions and USSD
-- (goip-udpd, issue 13). A line is one SIM slot of a device that speaks the
-- GoIP UDP "SMS server" protocol with its own id and password. The
-- password is kept as it was issued: the protocol sends it back to the
-- device in every PASSWORD packet, so it cannot be stored as a hash.

CREATE TABLE goip_lines (
	id		INTEGER PRIMARY KEY,
	device		INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
	slot		INTEGER NOT NULL CHECK (slot BETWEEN 1 AND 256),
	line_id		TEXT NOT NULL UNIQUE,
	password	TEXT NOT NULL,
	address		TEXT,		-- latest source, "HOST:PORT"
	last_seen	INTEGER,	-- unix ms of its latest keepalive
	online		INTEGER NOT NULL DEFAULT 0,
	req_seq		INTEGER,	-- N of its latest req:N
	gsm_status	TEXT,		-- LOGIN, LOGOUT, as reported
	num		TEXT,
	signal		INTEGER,	-- CSQ 0-31, 99 unknown
	imei		TEXT,
	imsi		TEXT,
	iccid		TEXT,
	call_state	TEXT,		-- the latest STATE: value
	hangup_cause	TEXT,		-- cause of the latest HANGUP
	created_at	INTEGER NOT NULL,
	UNIQUE (device, slot)
);

-- RECEIVEs stored, for the deduplication window on (line, recvid): a
-- retransmit within the window is acknowledged again and stores nothing;
-- recvids are reused after a reboot, so older rows are deleted.
CREATE TABLE goip_recv (
	line		INTEGER NOT NULL REFERENCES goip_lines(id) ON DELETE CASCADE,
	recvid		INTEGER NOT NULL,
	at		INTEGER NOT NULL,
	sms		INTEGER NOT NULL,
	PRIMARY KEY (line, recvid)
) WITHOUT ROWID;
CREATE INDEX goip_recv_at ON goip_recv(at);

-- One outbound SMS handed to a line: sendid and telid are written before
-- the first datagram, sms_no when the device's OK names it. A row whose
-- result is NULL was in flight: after a restart its fate is unknown.
CREATE TABLE goip_sends (
	sms		INTEGER PRIMARY KEY REFERENCES sms(id) ON DELETE CASCADE,
	line		INTEGER NOT NULL REFERENCES goip_lines(id) ON DELETE CASCADE,
	sendid		INTEGER NOT NULL,
	telid		INTEGER NOT NULL,
	sms_no		INTEGER,
	result		TEXT,		-- ok, error, timeout, abandoned
	deliver_state	TEXT,		-- raw state of the DELIVER, 0 delivered
	started_at	INTEGER NOT NULL
);
CREATE INDEX goip_sends_no ON goip_sends(line, sms_no);
CREATE INDEX goip_sends_open ON goip_sends(line) WHERE result IS NULL;

-- DELIVERs that arrived before the OK naming their sms_no: matched when
-- it lands.
CREATE TABLE goip_delivers (
	line		INTEGER NOT NULL REFERENCES goip_lines(id) ON DELETE CASCADE,
	sms_no		INTEGER NOT NULL,
	state		TEXT NOT NULL,
	at		INTEGER NOT NULL,
	PRIMARY KEY (line, sms_no)
) WITHOUT ROWID;

-- USSD requests: queued by the API or goipctl, sent once by goip-udpd,
-- answered by the device's reply or error. Never sent again after a
-- restart (a USSD can top up a balance twice): sent ones become failed.
CREATE TABLE goip_ussd (
	id		INTEGER PRIMARY KEY,
	line		INTEGER NOT NULL REFERENCES goip_lines(id) ON DELETE CASCADE,
	code		TEXT NOT NULL,
	status		TEXT NOT NULL DEFAULT 'queued' CHECK (status = 'queued'
			    OR status = 'sent' OR status = 'replied' OR
			    status = 'failed'),
	reply		TEXT,
	error		TEXT,
	operator	TEXT,
	created_at	INTEGER NOT NULL,
	sent_at		INTEGER,
	updated_at	INTEGER NOT NULL
);
CREATE INDEX goip_ussd_open ON goip_ussd(status, id)
    WHERE status = 'queued' OR status = 'sent';
CREATE INDEX goip_ussd_line ON goip_ussd(line, id);
