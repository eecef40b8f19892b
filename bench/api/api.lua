-- wrk script for bench/api/run.sh.
--
-- Env:
--   MODE       list   -> GET  /api/v1/incidents?limit=50
--              status -> POST /api/v1/incidents/{id}/status-updates, id cycling over ID_FIRST..ID_LAST
--   TOKEN      bearer token
--   ID_FIRST, ID_LAST   incident id range for MODE=status
--   MAX_REQ    total requests; each thread stops after its share (wrk's -d caps the time as well)
--   NTHREADS   must equal wrk's -t
--   RATE       0 = closed loop, as fast as the connections go (throughput run).
--              > 0 = paced: total requests per second, split evenly over the threads; run with -c equal to -t so
--              that each thread owns one connection. Each connection follows a fixed schedule (one request every
--              NTHREADS/RATE seconds, first one at a random phase); a request that cannot be sent on time because
--              the previous one is still outstanding is sent as soon as possible and its latency is counted from its
--              scheduled time (coordinated omission corrected, as wrk2 does).
--
-- done() prints one JSON line prefixed with "RESULT " with the count, non-2xx count, elapsed time from first request
-- to last response (wrk's own summary.duration is always the full -d), the achieved rate and latency percentiles.
-- Paced runs: nearest-rank percentiles from this script's own clock (CLOCK_MONOTONIC through LuaJIT's ffi).
-- Closed-loop runs (several connections per thread): wrk's own latency histogram.
local ffi = require("ffi")
ffi.cdef [[ typedef struct { long tv_sec; long tv_nsec; } wkb_ts; int clock_gettime(int, wkb_ts *); ]]
local ts = ffi.new("wkb_ts")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local mode = os.getenv("MODE") or "list"
local token = os.getenv("TOKEN") or ""
local id_first = tonumber(os.getenv("ID_FIRST") or "1")
local id_last = tonumber(os.getenv("ID_LAST") or "1")
local max_req = tonumber(os.getenv("MAX_REQ") or "1000")
local nthreads = tonumber(os.getenv("NTHREADS") or "1")
local rate = tonumber(os.getenv("RATE") or "0")

local threads, tcount = {}, 0

function setup(thread)
  tcount = tcount + 1
  thread:set("tid", tcount)
  table.insert(threads, thread)
end

function init(args)
  sent, got, bad, t_first, t_last = 0, 0, 0, 0, 0
  lat = {}
  per_thread = math.ceil(max_req / nthreads)
  interval_us = rate > 0 and (nthreads * 1e6 / rate) or 0
  next_due = 0
  sent_at, due_at = 0, 0
  math.randomseed(tid * 7919)
  idx = (tid - 1) * 37
  hdrs = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

function delay()
  if interval_us == 0 then return 0 end
  local d = (next_due - now_us()) / 1000
  if d < 0 then return 0 end
  return math.floor(d)
end

function request()
  local t = now_us()
  if t_first == 0 then
    t_first = t
    if interval_us > 0 then next_due = t + math.random() * interval_us end
  end
  sent_at = t
  if interval_us > 0 then
    due_at = next_due
    next_due = next_due + interval_us
  end
  sent = sent + 1
  if mode == "status" then
    local n = id_last - id_first + 1
    local id = id_first + (idx % n)
    idx = idx + 1
    local body = '{"current_status":"bench update ' .. tid .. '-' .. sent .. ': mitigation in progress","visibility":"'
        .. ((sent % 4 == 0) and "public" or "internal") .. '"}'
    return wrk.format("POST", "/api/v1/incidents/" .. id .. "/status-updates", hdrs, body)
  end
  return wrk.format("GET", "/api/v1/incidents?limit=50", hdrs)
end

function response(status, headers, body)
  local t = now_us()
  got = got + 1
  t_last = t
  if status < 200 or status > 299 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 200) .. "\n") end
  end
  if interval_us > 0 then
    local start = sent_at
    if due_at < sent_at then start = due_at end
    lat[#lat + 1] = t - start
  end
  if got >= per_thread then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local all, n, nbad, t0, t1 = {}, 0, 0, math.huge, 0
  for _, th in ipairs(threads) do
    n = n + (th:get("got") or 0)
    nbad = nbad + (th:get("bad") or 0)
    local a, b = th:get("t_first") or 0, th:get("t_last") or 0
    if a > 0 and a < t0 then t0 = a end
    if b > t1 then t1 = b end
    local l = th:get("lat")
    if l then for _, v in ipairs(l) do all[#all + 1] = v end end
  end
  table.sort(all)
  local function pct(p)
    if #all == 0 then return (p >= 100 and latency.max or latency:percentile(p)) / 1000 end
    local k = math.ceil(p / 100 * #all)
    if k < 1 then k = 1 end
    return all[k] / 1000
  end
  local elapsed = (t1 - t0) / 1e6
  if elapsed <= 0 then elapsed = 1e-9 end
  io.write(string.format(
    'RESULT {"mode":"%s","target_rate":%d,"requests":%d,"non2xx":%d,"socket_errors":%d,"elapsed_s":%.3f,"rate":%.1f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f}\n',
    mode, rate, n, nbad, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    elapsed, n / elapsed, pct(50), pct(90), pct(99), pct(99.9), pct(100)))
end
