-- wrk script for the Kea hook endpoints (bench/dhcp.sh): every request names a random one of
-- the N machines' MACs, with the bodies the original's hook sends (docs/dhcp.md).
--
--   wrk ... -s bench/dhcp-hook.lua http://127.0.0.1:5000 -- CALL N
--
-- CALL: get (GET /dhcp/ipv4?hwaddr=), seen, lease, subnet (the POSTs), or exchange: the
-- hook's four calls for one DISCOVER/REQUEST in turn, seen, subnet, GET, lease, each
-- exchange on one MAC (divide req/s by 4 for exchanges/s); or, for reference, healthz
-- (GET /healthz: SELECT 1) or nothing (GET /no-such-path: a 404 without the database).
--
-- The inventory is bench/dhcp.sh's: machine i (0-based) has MAC 52:54:HH:HH:HH:HH of i and
-- sits in rack r = i // 250, network 10.(100+r).0.0/16 with the reserved pool
-- 10.(100+r).2.0/23 (its address 10.(100+r).2.(i%250+1)). wrk's LuaJIT is Lua 5.1: no bit
-- operators.

local call, n = "get", 1000
local racks = 4
local subnets_json
local step, mac, ip, name = 0, nil, nil, nil
local counter = 0

local function mac_of(i)
  return string.format("52:54:%02x:%02x:%02x:%02x", math.floor(i / 16777216) % 256,
    math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
end

local function ip_of(i)
  return string.format("10.%d.2.%d", 100 + math.floor(i / 250), i % 250 + 1)
end

-- Each wrk thread gets its own Lua state (its global "tid" set here): seed each differently.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  call = args[1] or call
  n = tonumber(args[2] or n)
  racks = math.floor((n + 249) / 250)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  -- What Kea sends: all its subnets, each with its pool (the pool of rack r starts in the
  -- rack's reserved range; the hook walks the list, so the last rack is the longest walk).
  local parts = {}
  for r = 0, racks - 1 do
    local net = 100 + r
    parts[#parts + 1] = string.format(
      '{"subnetId": %d, "prefix": "10.%d.0.0", "prefixLen": 16, "pools": [{"poolId": 0, "firstIP": "10.%d.2.1", "lastIP": "10.%d.3.254", "capacity": 510}]}',
      r + 1, net, net, net)
  end
  subnets_json = "[" .. table.concat(parts, ", ") .. "]"
end

local json_headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
local get_headers = { ["Accept"] = "application/json" }

local function pick()
  local i = math.random(0, n - 1)
  mac, ip, name = mac_of(i), ip_of(i), string.format("m%05d", i)
end

local builders = {
  get = function()
    return wrk.format("GET", "/dhcp/ipv4?hwaddr=" .. mac, get_headers)
  end,
  seen = function()
    counter = counter + 1
    local discover = (counter % 2 == 0) and "true" or "false"
    return wrk.format("POST", "/dhcp/ipv4/seen", json_headers, string.format(
      '{"discover": %s, "mac": "%s", "options": [{"option": 12, "value": "%s"}, {"option": 93, "value": 11}]}',
      discover, mac, name))
  end,
  lease = function()
    return wrk.format("POST", "/dhcp/ipv4/lease", json_headers, string.format(
      '{"mac": "%s", "ipv4": "%s", "duration": 3600}', mac, ip))
  end,
  subnet = function()
    return wrk.format("POST", "/dhcp/ipv4/subnet", json_headers, string.format(
      '{"mac": "%s", "subnets": %s}', mac, subnets_json))
  end,
}
-- References for the HTTP stack's own cost: one trivial query, and no database at all.
builders.healthz = function() return wrk.format("GET", "/healthz", get_headers) end
builders.nothing = function() return wrk.format("GET", "/no-such-path", get_headers) end
local exchange = { "seen", "subnet", "get", "lease" }

function request()
  if call == "exchange" then
    if step == 0 then pick() end
    local r = builders[exchange[step + 1]]()
    step = (step + 1) % 4
    return r
  end
  pick()
  return builders[call]()
end
