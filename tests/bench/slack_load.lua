-- wrk script for tests/bench/bench_slack.py: replay pre-generated, individually signed requests.
--
--   wrk -t1 -c50 -d8s -s slack_load.lua http://127.0.0.1:PORT/slack/events -- FILE EXPECT
--
-- FILE holds whole HTTP requests, each as "<byte length>\n<request bytes>"; each has
-- its own body (its own trigger_id) and its own Slack signature, so no two requests
-- are the same. They are sent in order; if the run outlasts the file it starts over
-- and `wraps` says how often. A 2xx reply whose body lacks EXPECT (plain text, may be
-- empty) counts as `mismatched`; `non2xx` counts the rest. `done` prints one line,
-- "WRK_RESULT {json}", for the bench to read, and "WRK_SAMPLE <body>" for the first
-- reply that was not what was expected.

local requests = {}
local count = 0
local next_index = 0
local expect = ""

-- Globals: `done` reads them from each thread with thread:get.
wraps = 0
non2xx = 0
mismatched = 0
sample = ""
loaded = 0

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   expect = args[2] or ""
   while true do
      local header = file:read("*l")
      if header == nil then break end
      local size = tonumber(header)
      count = count + 1
      requests[count] = file:read(size)
   end
   file:close()
   assert(count > 0, "no requests in " .. args[1])
   loaded = count
end

function request()
   next_index = next_index + 1
   if next_index > count then
      next_index = 1
      wraps = wraps + 1
   end
   return requests[next_index]
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
   elseif expect ~= "" and not string.find(body, expect, 1, true) then
      mismatched = mismatched + 1
   else
      return
   end
   if sample == "" then
      sample = status .. " " .. string.sub(body or "", 1, 300)
   end
end

function done(summary, latency, _)
   local totals = { wraps = 0, non2xx = 0, mismatched = 0, loaded = 0 }
   local first_sample = ""
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
      local text = thread:get("sample")
      if first_sample == "" and text ~= "" then first_sample = text end
   end
   local errors = summary.errors
   io.write(string.format(
      'WRK_RESULT {"requests": %d, "duration_us": %d, "connect_errors": %d, '
         .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "non2xx": %d, '
         .. '"mismatched": %d, "wraps": %d, "loaded": %d, "p50_us": %d, "p90_us": %d, '
         .. '"p99_us": %d, "p999_us": %d, "max_us": %d, "mean_us": %.1f}\n',
      summary.requests, summary.duration, errors.connect, errors.read, errors.write,
      errors.timeout, totals.non2xx, totals.mismatched, totals.wraps, totals.loaded,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
   if first_sample ~= "" then
      io.write("WRK_SAMPLE " .. string.gsub(first_sample, "\n", " ") .. "\n")
   end
end
