-- sms.lua: wrk script, POST /api/sms/receive, one message per request.
--   WRK_AUTH_FILE=tokens.txt WRK_RUN=r1 wrk -t2 -c16 -d10s -s sms.lua \
--       http://127.0.0.1:PORT/api/sms/receive
-- Cycles over the devices of WRK_AUTH_FILE (lines "deviceId token").  Every
-- request carries a messageId unique across threads and runs
-- ("<WRK_RUN>-<thread>-<counter>"), so each one is a first store (201), never
-- a deduplicated retry.
local ids, toks = {}, {}
local authfile = os.getenv("WRK_AUTH_FILE")
assert(authfile and authfile ~= "", "WRK_AUTH_FILE is required")
for line in io.lines(authfile) do
	local id, tok = line:match("^%s*([^%s#]+)%s+(%S+)")
	if id then
		table.insert(ids, id)
		table.insert(toks, tok)
	end
end
local devices = #ids
assert(devices > 0, "WRK_AUTH_FILE has no 'deviceId token' lines")
local runtag = os.getenv("WRK_RUN") or tostring(os.time())

local counter = 0
tid = 0
local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

local hdrs = {}
for i = 1, devices do
	hdrs[i] = {["Content-Type"] = "application/json",
	    ["Authorization"] = "Bearer " .. toks[i]}
end

request = function()
	counter = counter + 1
	local dev = (counter * 7 + tid) % devices
	local body = string.format(
	    '{"deviceId":"%s","messageId":"%s-%d-%d","slot":1,"from":"+48500100%03d","to":"+48500100200","text":"Bench message %d: Za\\u017c\\u00f3\\u0142\\u0107 g\\u0119\\u015bl\\u0105 ja\\u017a\\u0144","receivedAt":"2026-11-25T10:14:58Z"}',
	    ids[dev + 1], runtag, tid, counter, dev, counter)
	return wrk.format("POST", nil, hdrs[dev + 1], body)
end

dofile(os.getenv("WRK_REPORT") or "report.lua")
