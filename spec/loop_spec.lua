local loop = require "certbench.loop"
local h = require "support.helper"
local memory = require "support.memory"

local function pid()
  local f = assert(io.open("/proc/self/stat"))
  local n = f:read("n")
  f:close()
  return n
end

describe("certbench.loop", function()
  describe("tasks", function()
    it("interleave: sleeps end in the order of their times", function()
      local order = {}
      for _, t in ipairs{ { "a", 0.06 }, { "b", 0.02 }, { "c", 0.04 } } do
        loop.spawn(function() loop.sleep(t[2]); order[#order + 1] = t[1] end)
      end
      assert.is_true(loop.run())
      assert.same({ "b", "c", "a" }, order)
    end)

    it("take turns at each yield", function()
      local order = {}
      for _, name in ipairs{ "a", "b" } do
        loop.spawn(function()
          for i = 1, 3 do
            order[#order + 1] = name .. i
            loop.yield()
          end
        end)
      end
      assert(loop.run())
      assert.same({ "a1", "b1", "a2", "b2", "a3", "b3" }, order)
    end)

    it("run concurrently: three sleeps of 0.1 s overlap", function()
      -- concurrency is that every sleep began before any ended (one after the other, the first
      -- ends before the second begins), not an upper bound on the time a loaded machine breaks
      local t0 = loop.now()
      local events = {}
      for i = 1, 3 do
        loop.spawn(function()
          events[#events + 1] = "begin " .. i
          loop.sleep(0.1)
          events[#events + 1] = "end " .. i
        end)
      end
      assert(loop.run())
      local dt = loop.now() - t0
      assert.same({ "begin 1", "begin 2", "begin 3" }, { events[1], events[2], events[3] })
      assert.equal(6, #events)
      assert.is_true(dt >= 0.099, "took " .. dt)
    end)

    it("pass arguments and return every result through wait", function()
      local t = loop.spawn(function(a, b) return a + b, nil, "x" end, 2, 3)
      assert.same({ 5, nil, "x", n = 3 }, table.pack(t:wait()))
      assert.is_true(t:done())
      assert.is_true(t.ok)
      assert.matches("done", tostring(t))
    end)

    it("do not start before the loop runs", function()
      local ran = false
      local t = loop.spawn(function() ran = true end)
      assert.is_false(ran)
      assert.is_false(t:done())
      t:wait()
      assert.is_true(ran)
    end)

    it("surface errors through wait as nil, err with a traceback kept", function()
      local t = loop.spawn(function() loop.sleep(0.01); error("boom") end)
      local v, err = t:wait()
      assert.is_nil(v)
      assert.matches("boom", err)
      assert.is_false(t.ok)
      assert.matches("stack traceback", t.traceback)
      assert.matches("failed", tostring(t))
    end)

    it("keep non-string error values", function()
      local e = { reason = "x" }
      local _, err = loop.spawn(function() error(e) end):wait()
      assert.equal(e, err)
    end)

    it("report failed tasks nobody waited for from loop.run", function()
      loop.spawn(function() error("lost error") end)
      loop.spawn(function() return true end)
      local ok, err = loop.run()
      assert.is_nil(ok)
      assert.matches("1 task%(s%) failed", err)
      assert.matches("lost error", err)
      assert.is_true(loop.run()) -- reported once
    end)

    it("do not report a failed task that was waited for", function()
      local t = loop.spawn(function() error("seen") end)
      assert(loop.run() == nil) -- finished unobserved ...
      loop.spawn(function() error("seen too") end)
      local t2 = loop.spawn(function() error("x") end)
      t2:wait()
      local _, err = loop.run()
      assert.matches("seen too", err)
      assert.matches("^1 task", err)
      assert.is_nil((t:wait()))
    end)

    it("wait for each other inside the loop", function()
      local inner = loop.spawn(function() loop.sleep(0.02); return "inner" end)
      local outer = loop.spawn(function() return "outer got " .. inner:wait() end)
      assert.equal("outer got inner", outer:wait())
      -- waiting again on a finished task returns at once
      assert.equal("inner", inner:wait())
    end)

    it("refuse to wait for themselves", function()
      local t
      t = loop.spawn(function() return t:wait() end)
      local _, err = t:wait()
      assert.matches("cannot wait for itself", err)
    end)

    it("know the current task", function()
      assert.is_nil(loop.current())
      local t
      t = loop.spawn(function() return loop.current() == t end)
      assert.is_true(t:wait())
    end)

    it("refuse a blocking call in a coroutine of their own, with a clear error", function()
      local t = loop.spawn(function()
        local co = coroutine.wrap(function() loop.sleep(0.01) end)
        co()
      end)
      local _, err = t:wait()
      assert.matches("cannot wait outside a loop task", err)
    end)

    it("refuse a blocking call where the task cannot yield", function()
      local t = loop.spawn(function()
        table.sort({ 3, 2, 1 }, function(a, b) loop.sleep(0.001) return a < b end)
      end)
      local _, err = t:wait()
      assert.matches("cannot wait here", err)
    end)

    it("refuse loop.run inside a task", function()
      local _, err = loop.spawn(function() loop.run() end):wait()
      assert.matches("already running", err)
    end)

    it("raise for a non-function", function()
      assert.has_error(function() loop.spawn(42) end)
    end)

    it("report a task that can never finish instead of hanging", function()
      local blocker = loop.spawn(function()
        local never = { finished = false, waiters = {} }
        setmetatable(never, getmetatable(loop.spawn(function() end)))
        return never:wait()
      end)
      local v, err = blocker:wait()
      assert.is_nil(v)
      assert.matches("can never finish", err)
    end)
  end)

  describe("sleep", function()
    it("outside a task runs the loop, so spawned tasks progress", function()
      local done = false
      loop.spawn(function() loop.sleep(0.01); done = true end)
      local t0 = loop.now()
      loop.sleep(0.05)
      assert.is_true(done)
      assert.is_true(loop.now() - t0 >= 0.049)
    end)
    it("of 0 outside a task runs one iteration", function()
      local done = false
      loop.spawn(function() done = true end)
      loop.sleep(0)
      assert.is_true(done)
    end)
    it("rejects negative times", function()
      assert.has_error(function() loop.sleep(-1) end)
      assert.has_error(function() loop.sleep("x") end)
    end)
  end)

  describe("all", function()
    it("returns the results in order, an error as its slot's nil, err", function()
      local events = {}
      local res = loop.all{
        function() events[#events + 1] = "begin slow" loop.sleep(0.05) events[#events + 1] = "end slow" return "slow", 1 end,
        function() events[#events + 1] = "begin bad" loop.sleep(0.01) error("bad one") end,
        function() return end,
      }
      assert.equal(3, res.n)
      assert.same({ "slow", 1, n = 2 }, res[1])
      assert.is_nil(res[2][1])
      assert.matches("bad one", res[2][2])
      assert.equal(0, res[3].n)
      -- together, not one after the other: the second began before the first ended (the order
      -- of events, not a time a loaded machine stretches)
      assert.same({ "begin slow", "begin bad", "end slow" }, events, "ran one after the other")
    end)
    it("works inside a task", function()
      local t = loop.spawn(function()
        local r = loop.all{ function() return 1 end, function() return 2 end }
        return r[1][1] + r[2][1]
      end)
      assert.equal(3, t:wait())
    end)
    it("of nothing is empty", function()
      assert.same({ n = 0 }, loop.all{})
    end)
  end)

  describe("pool", function()
    local function measure(size, jobs)
      local p = loop.pool(size)
      local now, max = 0, 0
      for i = 1, jobs do
        p:submit(function()
          now = now + 1
          if now > max then max = now end
          loop.sleep(0.005 * (i % 3 + 1))
          now = now - 1
          return i
        end)
      end
      local res = p:wait()
      return res, max, p
    end

    it("runs at most n tasks at once and reaches n", function()
      local res, max, p = measure(4, 30)
      assert.equal(4, max)
      assert.equal(4, p.peak)
      assert.equal(30, res.n)
      for i = 1, 30 do assert.equal(i, res[i][1]) end
      assert.equal(0, p.running)
    end)

    it("holds the bound of 16 with 50 jobs", function()
      local res, max = measure(16, 50)
      assert.equal(16, max)
      assert.equal(50, res.n)
    end)

    it("keeps going after a failure and reports it in its slot", function()
      local p = loop.pool(2)
      p:submit(function() error("first fails") end)
      p:submit(function() return "second" end)
      p:submit(function() return "third" end)
      local res = p:wait()
      assert.matches("first fails", res[1][2])
      assert.equal("second", res[2][1])
      assert.equal("third", res[3][1])
    end)

    it("returns the task of each submission", function()
      local p = loop.pool(1)
      local t = p:submit(function(x) return x * 2 end, 21)
      assert.equal(42, t:wait())
      assert.equal(1, p:wait().n)
      assert.equal(0, p:wait().n) -- nothing new since
    end)

    it("can be used from inside a task", function()
      local t = loop.spawn(function()
        local p = loop.pool(3)
        for i = 1, 9 do p:submit(function() loop.sleep(0.001) return i end) end
        local sum = 0
        for _, r in ipairs(p:wait()) do sum = sum + r[1] end
        return sum
      end)
      assert.equal(45, t:wait())
    end)

    it("rejects a size below 1", function()
      assert.has_error(function() loop.pool(0) end)
      assert.has_error(function() loop.pool(1.5) end)
    end)
  end)

  describe("timers", function()
    it("repeat until stopped, each call a task that may sleep", function()
      local ticks = 0
      local timer
      timer = loop.timer(0.01, 0.01, function(t)
        assert.equal(timer, t)
        ticks = ticks + 1
        loop.sleep(0.001)
        if ticks == 5 then t:stop() end
      end)
      assert.is_true(timer:active())
      assert(loop.run())
      assert.equal(5, ticks)
      assert.is_false(timer:active())
    end)

    it("fire once with after()", function()
      local fired = 0
      local t = loop.after(0.01, function() fired = fired + 1 end)
      assert(loop.run())
      assert.equal(1, fired)
      assert.is_false(t:active())
    end)

    it("skip ticks while the previous call still runs", function()
      local calls = 0
      local t
      t = loop.every(0.01, function()
        calls = calls + 1
        loop.sleep(0.055)
        if calls == 2 then t:stop() end
      end)
      assert(loop.run())
      assert.equal(2, calls)
      assert.is_true(t.skipped >= 3, "skipped " .. t.skipped)
    end)

    it("report an error in a callback through loop.on_error", function()
      local seen
      loop.on_error(function(msg) seen = msg end)
      loop.after(0.001, function() error("timer trouble") end)
      assert(loop.run())
      loop.on_error(nil)
      assert.matches("timer callback", seen)
      assert.matches("timer trouble", seen)
      assert.matches("stack traceback", seen)
    end)

    it("reject bad arguments", function()
      assert.has_error(function() loop.timer(-1, 0, function() end) end)
      assert.has_error(function() loop.timer(1, 0, "f") end)
    end)
  end)

  describe("signals", function()
    it("run the handler when SIGTERM arrives (sent by a timer)", function()
      local got = {}
      local w = loop.on_signal({ "SIGINT", "SIGTERM" }, function(name)
        got[#got + 1] = name
      end)
      local me = pid()
      loop.after(0.01, function() os.execute("kill -TERM " .. me) end)
      local t0 = loop.now()
      while #got == 0 and loop.now() - t0 < 5 do loop.sleep(0.01) end
      w:close()
      assert.same({ "SIGTERM" }, got)
      assert.equal(1, w.count)
    end)

    it("let a long job end cleanly: the handler stops its timer", function()
      local ticks = 0
      local job = loop.every(0.005, function() ticks = ticks + 1 end)
      local w = loop.on_signal("SIGUSR1", function() job:stop() end)
      loop.after(0.03, function() os.execute("kill -USR1 " .. pid()) end)
      local ok = loop.run() -- returns only once the handler stopped the job
      w:close()
      assert.is_true(ok)
      assert.is_false(job:active())
      assert.is_true(ticks >= 2)
    end)

    it("do not keep loop.run going on their own", function()
      local w = loop.on_signal("SIGHUP", function() end)
      -- kept going, loop.run would never return: the bound is only there to fail rather than hang,
      -- and generous enough for a loaded machine
      local t0 = loop.now()
      assert(loop.run())
      assert.is_true(loop.now() - t0 < 5)
      w:close()
    end)

    it("reject an unknown signal", function()
      assert.has_error(function() loop.on_signal({ "SIGTERM", "SIGNOPE" }, function() end) end,
        nil)
      local ok, err = pcall(loop.on_signal, "SIGNOPE", function() end)
      assert.is_false(ok)
      assert.matches("unknown signal", err)
    end)
  end)

  describe("work off the loop", function()
    local abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    it("sha256 outside a task", function()
      assert.equal(abc, loop.sha256("abc"))
      assert.equal(32, #loop.sha256("abc", true))
      assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", loop.sha256(""))
    end)

    it("sha256 of a big buffer agrees with openssl, with the loop running meanwhile", function()
      local dir = h.tmpdir()
      local data = string.rep("certbench\0\1\2", 1 << 20) -- 12 MiB
      h.write(dir .. "/big", data)
      local want = h.openssl("dgst -sha256 -r " .. h.q(dir .. "/big")):match("^(%x+)")
      local ticks = 0
      local ticker = loop.every(0.001, function() ticks = ticks + 1 end)
      local res = loop.all{
        function() return loop.sha256(data) end,
        function() return loop.sha256(data .. "x") end,
        function() return loop.sha256("abc") end,
      }
      ticker:stop()
      assert.equal(want, res[1][1])
      assert.equal(loop.sha256(data .. "x"), res[2][1])
      assert.equal(abc, res[3][1])
    end)

    it("rejects a non-string", function()
      assert.has_error(function() loop.sha256({}) end)
    end)

    it("releases the work of a task that cannot wait there", function()
      local t = loop.spawn(function()
        table.sort({ 3, 2, 1 }, function(a, b) loop.sha256("x") return a < b end)
      end)
      local _, err = t:wait()
      assert.matches("loop.work: this task cannot wait here", err, 1, true)
    end)

    it("runs synchronously from a plain coroutine while the loop is idle", function()
      local co = coroutine.wrap(function()
        loop.sleep(0.001)
        return loop.sha256("abc")
      end)
      assert.equal(abc, co())
    end)
  end)

  describe("resources", function()
    it("10,000 small tasks leave no handle behind", function()
      local base = loop.stats()
      local p = loop.pool(100)
      for i = 1, 10000 do
        p:submit(function()
          if i % 10 == 0 then loop.sleep(0.0001) else loop.yield() end
          return i
        end)
      end
      assert.equal(10000, p:wait().n)
      local st = loop.stats()
      assert.equal(base.handles, st.handles)
      assert.equal(0, st.active)
      assert.equal(0, st.ready)
      assert.equal(base.resources, st.resources)
    end)

    -- 60,000 tasks (60 pools of 1,000 after a warm-up of 12) in a fresh certbench process
    -- (spec/support/memory.lua says why): after a warm-up its resident size grows by 20 to 30 kB,
    -- a page every 10,000 tasks or so. The bound of 512 kB fails on 9 bytes a task; a sleeper
    -- (its timer) left unfreed after each loop.sleep, one task in ten, grew it by 1.2 MB.
    it("60,000 small tasks leave the resident size flat", function()
      memory.check("loop", [[
        local memory = require "support.memory"
        local loop = require "certbench.loop"
        memory.cycles(tonumber(arg[1]), function()
          local p = loop.pool(100)
          for i = 1, 1000 do
            p:submit(function()
              if i % 10 == 0 then loop.sleep(0.0001) else loop.yield() end
              return i
            end)
          end
          assert(p:wait().n == 1000)
          local st = loop.stats()
          assert(st.active == 0 and st.ready == 0, "tasks left behind")
        end, 1)
      ]], { tostring(memory.ASAN and 10 or 60) }, 512)
    end)

    it("a script that exits with tasks, timers and work pending closes cleanly", function()
      local dir = h.tmpdir()
      h.write(dir .. "/s.lua", [[
        local loop = require "certbench.loop"
        loop.spawn(function() loop.sleep(30) end)
        loop.every(0.001, function() loop.sleep(10) end)
        local big = string.rep("x", 1 << 24)
        loop.spawn(function() loop.sha256(big) end)
        local w = loop.on_signal("SIGTERM", function() end)
        loop.sleep(0.02)
        io.write("bye")
        os.exit(0, true)
      ]])
      local out, rc = h.certbench("run " .. h.q(dir .. "/s.lua"))
      assert.equal("bye", out)
      assert.equal(0, rc)
    end)
  end)
end)
