-- 002-events-device.sql: an index of the event log by device.
-- goip-notifier replays a device room by reading only that device's events
-- after the client's lastEventId (lib/evlog.c evlog_read_device()); without
-- this index each such replay scanned the whole log from that id. The id is
-- the rowid, so the index is (device, id) in effect and in order.

CREATE INDEX events_device ON events(device, id);
