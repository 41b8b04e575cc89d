-- wrk script: POST one signed webhook body with a fresh X-GitHub-Delivery per request.
-- The body and its signature come from files the driver script writes (body.json, signature.txt).
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function init(args)
  body = read(args[1])
  signature = read(args[2]):gsub("%s+$", "")
  run = args[3]
end

function request()
  counter = counter + 1
  local id = string.format("%s-%d-%d", run, tid, counter)
  return wrk.format("POST", "/webhooks/github", {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/load",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Delivery"] = id,
    ["X-Hub-Signature-256"] = signature,
  }, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
