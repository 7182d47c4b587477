-- bench/load.lua: mixed admin API traffic for wrk (used by bench/load).
--
--   wrk ... -s bench/load.lua URL -- COOKIE CSRF USERS MONTHS RESV_AT
--
-- COOKIE is "bl_session=<hex>", CSRF the session's csrf_token, USERS the
-- number of seeded subscribers, MONTHS the billed months separated by commas
-- (statements are searched in all of them), RESV_AT a time for reservations
-- far in the future ("YYYY-MM-DD HH:MM", Asia/Seoul).  The billing
-- reservations (the only ones that become PROCESSING or SENT here) are found
-- in the reservation lists and read in detail (their target count is a
-- COUNT over the month's statements).
--
-- Each request picks a route by weight (the table below): mostly GETs over
-- every list and detail of the admin API, /metrics and /healthz, plus ~7 %
-- harmless changes: template previews, group membership added and removed
-- (idempotent), and a reservation for RESV_AT created and then canceled by
-- the next request of the same thread.  Lists follow their next_cursor:
-- wrk does not tell which request a response answers, so the list is
-- recognised by the fields of its first item.
--
-- Counters are per thread (each wrk thread has its own Lua state) and
-- summed in done(), which prints lines starting with "load.lua:":
--   load.lua: 2xx N 3xx N 4xx N 5xx N other N
--   load.lua: status CODE N          (one line per status code)
--   load.lua: first 5xx body: ...    (when there was one)

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local function split(s)
   local t = {}
   for v in string.gmatch(s or "", "[^,]+") do t[#t + 1] = v end
   return t
end

function init(args)
   cookie = args[1]
   csrf = args[2]
   users = tonumber(args[3]) or 1000
   months = split(args[4])
   if #months == 0 then months = { "2026-10" } end
   resv_at = args[5] or "2027-01-01 10:00"
   c2, c3, c4, c5, cother = 0, 0, 0, 0, 0
   codes = {}
   first5xx = ""
   cancels = {}
   cursors = {}          -- list kind -> next_cursor of its last page
   max_msg, max_run, max_stmt = 0, 1, 0
   billing_resv, seen_resv = {}, {}  -- ids of reservations seen SENT or PROCESSING
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
   get_h = { Cookie = cookie }
   json_h = { Cookie = cookie, ["X-CSRF-Token"] = csrf, ["Content-Type"] = "application/json" }
   post_h = { Cookie = cookie, ["X-CSRF-Token"] = csrf }
   local now = os.time()
   day_from = os.date("!%Y-%m-%d", now - 3 * 86400)
   day_to = os.date("!%Y-%m-%d", now + 3 * 86400)
end

local function uid() return math.random(users) end
local function month() return months[math.random(#months)] end
local function cur(kind)
   local c = cursors[kind]
   if c then return "&cursor=" .. c end
   return ""
end
local function get(path) return wrk.format("GET", path, get_h) end

local plans = { "PLAN_5G_STANDARD", "PLAN_5G_PREMIER_ESSENTIAL", "PLAN_5G_SLIM_PLUS" }
local names = { "%EA%B9%80", "%EC%9D%B4", "%EB%B0%95%EC%A7%80" } -- 김, 이, 박지

-- { weight, function returning a request }
local routes = {
   { 14, function() return get("/api/stats") end },
   { 4,  function() return get("/metrics") end },
   { 4,  function() return get("/healthz") end },
   { 1,  function() return get("/api/session") end },
   { 4,  function() return get("/api/batch/runs?limit=20") end },
   { 1,  function() return get("/api/batch/runs?month=" .. month()) end },
   { 6,  function() return get("/api/batch/runs/" .. math.random(max_run)) end },
   { 7,  function() return get("/api/statements?month=" .. month() .. "&limit=50" .. cur("stmt")) end },
   { 2,  function() return get("/api/statements?month=" .. month() .. "&min_billed=100000&max_billed=150000&limit=20") end },
   { 3,  function() return get("/api/statements?user_id=" .. uid()) end },
   { 4,  function() return get("/api/statements/" .. uid() .. "/" .. month()) end },
   { 4,  function() return get("/api/users?limit=50" .. cur("user")) end },
   { 2,  function() return get("/api/users?name=" .. names[math.random(#names)] .. "&limit=20") end },
   { 1,  function() return get("/api/users?plan=" .. plans[math.random(#plans)] .. "&limit=20") end },
   { 4,  function() return get("/api/users/" .. uid()) end },
   { 4,  function() return get("/api/messages?limit=50" .. cur("msg")) end },
   { 2,  function() return get("/api/messages?status=FAILED&limit=50") end },
   { 2,  function() return get("/api/messages?status=WAITING&channel=EMAIL&limit=50") end },
   { 3,  function() return get("/api/messages?user_id=" .. uid()) end },
   { 1,  function() return get("/api/messages?from=" .. day_from .. "&to=" .. day_to .. "&channel=SMS&limit=50") end },
   { 1,  function() return get("/api/messages/dead?limit=20") end },
   { 4,  function()
            if max_msg == 0 then return get("/api/messages?limit=50") end
            return get("/api/messages/" .. math.random(max_msg))
         end },
   { 3,  function() return get("/api/templates") end },
   { 1,  function() return get("/api/templates/DEFAULT_BILLING_EMAIL") end },
   { 1,  function() return get("/api/templates/DEFAULT_BILLING_SMS/versions") end },
   { 2,  function() return get("/api/reservations?limit=20" .. cur("resv")) end },
   { 1,  function() return get("/api/reservations?status=SENT&limit=20") end },
   { 1,  function()
            if #billing_resv == 0 then return get("/api/reservations?status=PROCESSING") end
            return get("/api/reservations/" .. billing_resv[math.random(#billing_resv)])
         end },
   { 1,  function() return get("/api/groups") end },
   { 1,  function() return get("/api/groups/BENCHLOAD/members?limit=20") end },
   { 1,  function() return get("/api/audit?limit=20") end },
   -- changes, all harmless
   { 2,  function()
            return wrk.format("POST", "/api/templates/DEFAULT_BILLING_SMS/preview", json_h,
               '{"sample":{"userName":"홍길동","targetMonth":"2026-10","totalPrice":85750,' ..
               '"billedAmount":85750,"dueDate":"2026-11-25"}}')
         end },
   { 1,  function()
            if max_stmt == 0 then return get("/api/templates/DEFAULT_BILLING_EMAIL") end
            return wrk.format("POST", "/api/templates/DEFAULT_BILLING_EMAIL/preview", json_h,
               '{"statement_id":' .. math.random(max_stmt) .. '}')
         end },
   { 1,  function() return wrk.format("PUT", "/api/groups/BENCHLOAD/members/" .. uid(), post_h) end },
   { 1,  function() return wrk.format("DELETE", "/api/groups/BENCHLOAD/members/" .. uid(), post_h) end },
   { 1,  function()
            return wrk.format("POST", "/api/reservations", json_h,
               '{"template_code":"NOTICE_MAINTENANCE_SMS","group_code":"BENCHLOAD","scheduled_at":"' ..
               resv_at .. '","params":{"maintenanceDate":"2027-05-03","startTime":"02:00","endTime":"06:00"}}')
         end },
}

local total = 0
for _, r in ipairs(routes) do total = total + r[1] end

function request()
   if #cancels > 0 then
      return wrk.format("POST", "/api/reservations/" .. table.remove(cancels, 1) .. "/cancel", post_h)
   end
   local x = math.random(total)
   for _, r in ipairs(routes) do
      x = x - r[1]
      if x <= 0 then return r[2]() end
   end
   return routes[1][2]()
end

function response(status, headers, body)
   codes[status] = (codes[status] or 0) + 1
   if status >= 500 and status < 600 then
      c5 = c5 + 1
      if first5xx == "" then first5xx = status .. " " .. string.sub(body or "", 1, 300) end
      return
   elseif status >= 400 then c4 = c4 + 1 return
   elseif status >= 300 then c3 = c3 + 1 return
   elseif status >= 200 then c2 = c2 + 1
   else cother = cother + 1 return end
   if not body then return end
   local head = string.sub(body, 1, 300)
   if status == 201 then
      if string.find(head, '"group_code":"BENCHLOAD"', 1, true) then
         local id = string.match(head, '^{"id":(%d+)')
         if id then table.insert(cancels, id) end
      end
      return
   end
   if string.sub(head, 1, 10) ~= '{"items":[' then return end
   local kind
   if string.find(head, '"user_name":', 1, true) then kind = "stmt"
   elseif string.find(head, '"preferred_channel":', 1, true) then kind = "user"
   elseif string.find(head, '"statement_id":', 1, true) then kind = "msg"
   elseif string.find(head, '"chunk_size":', 1, true) then kind = "run"
   elseif string.find(head, '"template_code":', 1, true) and string.find(head, '"scheduled_at":', 1, true) then
      kind = "resv"
      for id, st in string.gmatch(body, '{"id":(%d+),"status":"(%u+)"') do
         if (st == "SENT" or st == "PROCESSING") and not seen_resv[id] then
            seen_resv[id] = true
            billing_resv[#billing_resv + 1] = id
         end
      end
   else return end
   local first = tonumber(string.match(head, '^{"items":%[{"id":(%d+)') or "0")
   if kind == "run" then
      if first > max_run then max_run = first end  -- newest first
      return
   end
   -- a page of id-ordered items: follow its cursor (nil after the last page)
   local c = string.match(string.sub(body, -40), '"next_cursor":"(%d+)"}$')
   cursors[kind] = c
   local last = tonumber(c or "0")
   if kind == "msg" and last > max_msg then max_msg = last end
   if kind == "stmt" and last > max_stmt then max_stmt = last end
end

function done(summary, latency, requests)
   local t2, t3, t4, t5, tother = 0, 0, 0, 0, 0
   local all, f5 = {}, ""
   for _, th in ipairs(threads) do
      t2 = t2 + th:get("c2"); t3 = t3 + th:get("c3"); t4 = t4 + th:get("c4")
      t5 = t5 + th:get("c5"); tother = tother + th:get("cother")
      for code, n in pairs(th:get("codes")) do all[code] = (all[code] or 0) + n end
      if f5 == "" then f5 = th:get("first5xx") end
   end
   io.write(string.format("load.lua: 2xx %d 3xx %d 4xx %d 5xx %d other %d\n", t2, t3, t4, t5, tother))
   local keys = {}
   for code in pairs(all) do keys[#keys + 1] = code end
   table.sort(keys)
   for _, code in ipairs(keys) do io.write(string.format("load.lua: status %d %d\n", code, all[code])) end
   if f5 ~= "" then io.write("load.lua: first 5xx body: " .. string.gsub(f5, "\n", " ") .. "\n") end
end
