-- report.lua: shared done() for the wrk scripts: one machine-readable line
--   WRKJSON {"requests":..,"rps":..,"lat_p50_ms":..,"lat_p99_ms":..,...}
-- and counts of non-2xx answers and socket errors (a run with errors is not
-- a valid throughput figure; run.sh flags it).  Used alone for plain GETs.
function done(summary, latency, requests)
	io.write(string.format(
	    'WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"lat_p50_ms":%.3f,"lat_p99_ms":%.3f,"lat_max_ms":%.3f,"non2xx":%d,"connect_err":%d,"read_err":%d,"write_err":%d,"timeout":%d}\n',
	    summary.requests, summary.duration / 1e6,
	    summary.requests / (summary.duration / 1e6),
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    latency.max / 1000, summary.errors.status, summary.errors.connect,
	    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
