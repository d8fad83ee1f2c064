-- wrk script: POST /api/v1/machine/reservation with an empty query.
wrk.method = "POST"
wrk.body = '{"query": null, "reason": "bench"}'
local ok, missing = 0, 0
function response(status, headers, body)
  if status == 200 then ok = ok + 1 elseif status == 404 then missing = missing + 1 end
end
