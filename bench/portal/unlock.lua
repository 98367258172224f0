-- wrk script for the sinetti-unlock path: POST /m/{token}/unlock for a sealed letter (level letter)
-- from the device that confirmed it, as a browser sends it when the landing page was loaded before
-- that device confirmed (a second tab, a double submit), over and over:
--
--   GET  /m/{token}          no cookie: a new session (a durable write), the page with the
--                            "Open on this device" form and the session's CSRF token
--   POST /m/{token}/unlock   that session's cookie and CSRF token and the bound device cookie:
--                            session resumed and the token checked, link and message looked up,
--                            the device binding found, the link granted to the session under a
--                            new id (rotation: one session written, the old one deleted), 303 to
--                            /read
--
-- A browser that already carries the bound device cookie is shown "Read the message" instead of
-- the form, so the landing is fetched without it. Every connection alternates the two requests
-- (wrk calls response() and then request() for the same connection; a session goes to whichever
-- connection asks next). An unlock rotates the session, so a session and its CSRF token serve one
-- POST only.
--
-- Environment: SINETTI_LINK (/m/TOKEN) and SINETTI_DEVICE (the device cookie's value).
-- done() prints "unlock-counts landing=N unlock=N other=N seconds=S" for the harness.

local link = os.getenv("SINETTI_LINK")
local device = "__Host-sinetti-device=" .. os.getenv("SINETTI_DEVICE")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sessions = {}  -- {cookie, csrf} from landing pages, not used yet
  landing, unlock, other = 0, 0, 0
end

function request()
  local s = table.remove(sessions)
  if s then
    local body = "csrf=" .. s.csrf
    return wrk.format("POST", link .. "/unlock?lang=en", {
      ["Cookie"] = s.cookie .. "; " .. device,
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Content-Length"] = tostring(#body),
    }, body)
  end
  return wrk.format("GET", link .. "?lang=en")
end

function response(status, headers, body)
  if status == 200 then
    local cookie = headers["Set-Cookie"] and headers["Set-Cookie"]:match("^(__Host%-sinetti=[^;]+)")
    local csrf = body:match('name="csrf" value="([^"]+)"')
    if cookie and csrf then
      table.insert(sessions, { cookie = cookie, csrf = csrf })
      landing = landing + 1
      return
    end
  elseif status == 303 then
    unlock = unlock + 1
    return
  end
  other = other + 1
end

function done(summary, latency, requests)
  local l, u, o = 0, 0, 0
  for _, t in ipairs(threads) do
    l = l + t:get("landing")
    u = u + t:get("unlock")
    o = o + t:get("other")
  end
  io.write(string.format("unlock-counts landing=%d unlock=%d other=%d seconds=%.3f\n", l, u, o,
                         summary.duration / 1e6))
end
