-- wrk script for ./scripts/bench api: POST /v1/jobs with a fresh job id per request (every request
-- creates a job, none is a duplicate), as Bubble's API Connector would send it.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"id":"bench-%d-%d","type":"publish","platform":"x","account":"bench-%d","post":{"text":"benchmark post %d"}}',
    thread_id, counter, counter % 100, counter)
  return wrk.format("POST", "/v1/jobs", nil, body)
end

function response(status, headers, body)
  if status ~= 202 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
