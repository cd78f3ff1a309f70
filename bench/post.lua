-- wrk script: POST (or $BENCH_METHOD) the JSON in $BENCH_BODY, then print one JSON line of results.
-- A file of several lines holds one document per line, sent in turn, one per request.
local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
local bodies = {}
for line in file:read("*a"):gmatch("[^\n]+") do bodies[#bodies + 1] = line end
file:close()
wrk.method = os.getenv("BENCH_METHOD") or "POST"
wrk.body = bodies[1] or ""
wrk.headers["Content-Type"] = "application/json"

if #bodies > 1 then
  local next_body = 0
  request = function()
    next_body = next_body % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[next_body])
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
