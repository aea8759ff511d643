-- wrk script: POST one certificate file as the raw body of /api/v1/verify.
-- Usage: wrk -s scripts/wrk-verify.lua URL/api/v1/verify -- FILE
local path = nil

function init(args)
  path = args[1]
  local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/pdf"
end

