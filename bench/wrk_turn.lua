-- wrk script: full REST turns, POST /webhooks/rest/webhook, as a crowd of people would write.
--
--   wrk -t2 -c8 -d10s --latency -s bench/wrk_turn.lua http://127.0.0.1:8000/webhooks/rest/webhook
--
-- 1,000 senders (500 for each of two wrk threads), each request the next sender's next message, from a
-- mix of greetings, menu digits, "I want to go home" and clinic questions in every language.
-- Every request has its own message id (as a provider would send), so none is a duplicate.

local messages = {
  "hello", "1", "0", "2", "3", "I want to go home", "where is a clinic in Tripoli",
  "salam", "مرحبا", "أريد العودة إلى بلدي", "وين المستشفى في طرابلس", "0", "2",
  "bonjour", "je veux rentrer chez moi", "où est une clinique à Sabha", "1",
  "sannu", "ina so in koma gida", "ina asibiti a Misrata", "0", "4",
  "nbi nrja3 l bladi", "win sbitar f Zwara", "hi", "5", "thank you",
}
local senders = 500  -- per wrk thread: 1,000 with -t2
local counter = 0
thread_name = "t0"  -- a global: setup() gives each thread its own with thread:set
local next_thread_id = 0

function setup(thread)
  thread:set("thread_name", "t" .. next_thread_id)
  next_thread_id = next_thread_id + 1
end

local function json_escape(s)
  return (s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end))
end

local bodies = {}
local run_id = tostring(os.time()) .. tostring(math.random(1000000))

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  for i, m in ipairs(messages) do bodies[i] = json_escape(m) end
end

function request()
  counter = counter + 1
  local sender = counter % senders
  -- each sender walks the mix from its own starting point
  local index = (math.floor(counter / senders) + sender) % #bodies + 1
  local body = '{"sender":"b' .. run_id .. thread_name .. "-" .. sender .. '","message":"'
    .. bodies[index] .. '","metadata":{"message_id":"' .. run_id .. thread_name .. "-"
    .. counter .. '"}}'
  return wrk.format("POST", nil, nil, body)
end
