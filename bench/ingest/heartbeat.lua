-- heartbeat.lua: wrk script, POST /api/device/heartbeat.
--   WRK_AUTH_FILE=tokens.txt wrk -t2 -c16 -d10s -s heartbeat.lua \
--       http://127.0.0.1:PORT/api/device/heartbeat
-- Cycles over the devices of WRK_AUTH_FILE (lines "deviceId token", as
-- bench/ingest/run.sh writes them from "goipctl device add") and sends
-- "Authorization: Bearer <token>" for each.  Without the file it cycles over
-- WRK_DEVICES (100) made-up ids "wrk-<n>" with no header (the Node peer needs
-- none).  The body is the same ~230-byte JSON as the peer's
-- bench/heartbeat.lua, so both servers parse the same request.
local devices = tonumber(os.getenv("WRK_DEVICES") or "100")
local ids, toks = {}, {}
local authfile = os.getenv("WRK_AUTH_FILE")
if authfile and authfile ~= "" then
	for line in io.lines(authfile) do
		local id, tok = line:match("^%s*([^%s#]+)%s+(%S+)")
		if id then
			table.insert(ids, id)
			table.insert(toks, tok)
		end
	end
	devices = #ids
	assert(devices > 0, "WRK_AUTH_FILE has no 'deviceId token' lines")
end

local counter = 0
tid = 0
local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

-- Pre-built header tables, one per device.
local hdrs = {}
for i = 1, devices do
	local h = {["Content-Type"] = "application/json"}
	if toks[i] then h["Authorization"] = "Bearer " .. toks[i] end
	hdrs[i] = h
end

request = function()
	counter = counter + 1
	local dev = (counter * 7 + tid) % devices
	local id = ids[dev + 1] or ("wrk-" .. dev)
	local body = string.format(
	    '{"deviceId":"%s","battery":%d,"signal":%d,"simSlots":[{"slot":1,"status":"ready","operator":"WRK-NET","iccid":"8900000000000%06d","balance":12.5},{"slot":2,"status":"absent","operator":null,"iccid":null,"balance":null}]}',
	    id, counter % 101, counter % 32, dev)
	return wrk.format("POST", nil, hdrs[dev + 1], body)
end

dofile(os.getenv("WRK_REPORT") or "report.lua")
