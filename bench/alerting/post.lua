-- wrk script: the peers' am_post.lua (loaded from $PEERS by path, unchanged) with two additions so that the same
-- load drives Watchkeeper: the request path gets $AM_PREFIX (e.g. /alertmanager) in front of /api/v2/alerts, and
-- `Authorization: Bearer $AM_TOKEN` is sent when AM_TOKEN is set. With both empty it is am_post.lua as is.
-- With LOAD_DONE_FILE set, the thread that gets its last response creates that file: wrk itself runs on to -d, and
-- side_by_side.sh samples the server's CPU when the file appears (CPU "during the load", next to wrk's whole run).
dofile(os.getenv("PEERS") .. "/am_post.lua")

local prefix = os.getenv("AM_PREFIX") or ""
local token = os.getenv("AM_TOKEN") or ""

local peer_init = init
function init(args)
  peer_init(args)
  if token ~= "" then hdrs["Authorization"] = "Bearer " .. token end
end

local peer_format = wrk.format
wrk.format = function(method, path, headers, body)
  if path then path = prefix .. path end  -- wrk's own init calls it without a path
  return peer_format(method, path, headers, body)
end

local done_file = os.getenv("LOAD_DONE_FILE") or ""
local peer_response = response
function response(status, headers, body)
  peer_response(status, headers, body)
  if done_file ~= "" and got >= per_thread then
    local f = io.open(done_file, "w")
    if f then f:write("done\n"); f:close() end
  end
end
