-- wrk script: POST {"text": ...} JSON bodies to /model/parse, cycling through messages.
--
--   wrk -t2 -c8 -d15s -s bench/wrk_parse.lua http://127.0.0.1:8000/model/parse
--   wrk -t2 -c8 -d15s -s bench/wrk_parse.lua http://127.0.0.1:5005/model/parse -- messages.txt
--
-- The optional argument is a UTF-8 text file with one message per line (bench/rasa_compare.py
-- writes the held-out messages there). Without it a built-in multilingual list is used.
-- Every wrk thread starts at a different place in the list.

local default_messages = {
  "hello",
  "I want to go home",
  "abeg i wan go back Naija",
  "how much does the flight cost, I lost my passport",
  "my brother is in detention in Zwara",
  "please help they are shooting now",
  "I need food and blankets for my children",
  "what is the status of my case LY-7K3M9Q",
  "I want to talk to a person",
  "stop",
  "delete my data",
  "I am Nasiru from Nigeria, I am in Sebha",
  "thank you",
  "nbi nrja3 l bladi",
  "5ouya ma7jouz f sijn",
  "3andi mochkil m3a l5edma",
  "أريد العودة إلى بلدي",
  "أخي محتجز في مصراتة",
  "عندي حمى وأحتاج طبيب",
  "je veux rentrer au Mali",
  "je suis malade, j'ai besoin d'un médecin",
  "mon patron a pris mon passeport",
  "ina so in koma gida",
  "na gode",
  "ina bukatar abinci",
}

local bodies = {}
local counter = 0
local next_thread_id = 0

local function json_escape(s)
  return (s:gsub('[%c"\\]', function(c)
    if c == '"' then
      return '\\"'
    elseif c == "\\" then
      return "\\\\"
    elseif c == "\n" then
      return "\\n"
    elseif c == "\r" then
      return "\\r"
    elseif c == "\t" then
      return "\\t"
    end
    return string.format("\\u%04x", c:byte())
  end))
end

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function init(args)
  local messages = default_messages
  if args[1] ~= nil then
    local f = assert(io.open(args[1], "r"), "cannot open " .. args[1])
    messages = {}
    for line in f:lines() do
      line = line:gsub("\r$", "")
      if #line > 0 then
        messages[#messages + 1] = line
      end
    end
    f:close()
    assert(#messages > 0, "no messages in " .. args[1])
  end
  for i, m in ipairs(messages) do
    bodies[i] = '{"text":"' .. json_escape(m) .. '"}'
  end
  local id = tonumber(thread_id) or 0
  counter = (id * 7919) % #bodies
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter % #bodies + 1
  return wrk.format("POST", nil, nil, bodies[counter])
end
