-- certbench.loop: one libuv event loop per Lua state and coroutine tasks on it.
--
--   loop.spawn(fn, ...)            -> task: fn(...) runs as a task once the loop runs
--   task:wait()                    -> fn's results | nil, err (an error in the task: err is its
--                                     message, task.traceback the traceback); never raises
--   task:done()                    -> true once finished;  task.ok, task.error, task.traceback
--   loop.run()                     -> true | nil, err: runs until no task, timer or transfer is
--                                     left; err reports failed tasks nobody waited for
--   loop.sleep(seconds)            a task yields; outside a task the loop runs meanwhile
--   loop.yield()                   lets the other ready tasks run first (loop.sleep(0))
--   loop.all{fn1, fn2, ...}        -> { {results of fn1, n=}, ... } in order; a slot of a task
--                                     that raised is {nil, err, n = 2}
--   loop.pool(n)                   -> pool: pool:submit(fn, ...) -> task (queued, at most n
--                                     run at once), pool:wait() -> results like loop.all
--   loop.timer(first, every, fn)   -> timer: fn(timer) after first seconds, then every `every`
--                                     seconds (0 or nil: once); each call is a task, and a tick
--                                     that comes while the previous call still runs is skipped
--                                     (timer.skipped counts them); timer:stop()
--   loop.after(s, fn), loop.every(s, fn)
--   loop.on_signal(names, fn)      -> watcher: fn(name) as a task on each SIGINT/SIGTERM/...;
--                                     watcher:close() gives the signal back its default action
--   loop.sha256(data[, raw])       -> hex (or raw) digest computed on the thread pool
--   loop.now()                     -> seconds of a monotonic clock
--   loop.current()                 -> the running task or nil
--   loop.on_error(fn)              fn(message) reports errors nobody waits for (timer and
--                                  signal callbacks); default: stderr
--   loop.stats()                   -> {handles, active, ready, resources, resumes}
--
-- Blocking-looking calls (loop.sleep, task:wait, http.get, ...) yield inside a task; outside any
-- task they run the loop until done, so scripts read as if synchronous. Inside a task, do not
-- wrap them in coroutines of your own: the loop resumes tasks, not nested coroutines.
local c = require "_certbench.loop"

local M = {}

local Task = {}
Task.__index = Task
Task.__name = "certbench.loop.task"

local tasks_of = setmetatable({}, { __mode = "k" }) -- coroutine -> task
local unobserved = {}                                -- failed tasks nobody waited for
local error_handler                                  -- loop.on_error

local function report(msg)
  if error_handler then
    local ok = pcall(error_handler, msg)
    if ok then return end
  end
  io.stderr:write("certbench: ", tostring(msg), "\n")
end

local function catch(e)
  return { msg = e, tb = debug.traceback(tostring(e), 2) }
end

local function finish(task, res)
  if res[1] then
    task.ok = true
    task.results = table.pack(table.unpack(res, 2, res.n))
  else
    task.ok = false
    task.error = res[2].msg
    task.traceback = res[2].tb
  end
  task.finished = true
  local waiters = task.waiters
  task.waiters = nil
  for _, co in ipairs(waiters) do c.ready(co) end
  if not task.ok then
    if task.detached then
      report("error in a " .. task.detached .. ": " .. task.traceback)
    elseif #waiters == 0 then
      unobserved[#unobserved + 1] = task
    end
  end
  if task.on_finish then task.on_finish(task) end
end

-- new_task makes a task that has not started yet; start() queues it.
local function new_task(fn, ...)
  if type(fn) ~= "function" and not (getmetatable(fn) or {}).__call then
    error("loop: a function expected, got " .. type(fn), 3)
  end
  local task = setmetatable({ finished = false, waiters = {} }, Task)
  local args = table.pack(...)
  task.co = coroutine.create(function()
    finish(task, table.pack(xpcall(fn, catch, table.unpack(args, 1, args.n))))
  end)
  tasks_of[task.co] = task
  return task
end

local function start(task)
  c.ready(task.co)
  return task
end

function M.spawn(fn, ...)
  return start(new_task(fn, ...))
end

local function spawn_detached(kind, fn, ...)
  local task = new_task(fn, ...)
  task.detached = kind
  return start(task)
end

function M.current()
  return tasks_of[coroutine.running()]
end

-- wait_for(task, what): true once the task has finished; false, err when it never can.
local function wait_for(task, what)
  while not task.finished do
    local mode, err = c.mode(what)
    if not mode then error(err, 3) end
    if mode == "task" then
      local me = coroutine.running()
      if task.co == me then error(what .. ": a task cannot wait for itself", 3) end
      task.waiters[#task.waiters + 1] = me
      c.suspend()
    elseif not c.run_once() and not task.finished then
      return false, what .. ": the task can never finish (it waits for something nothing will do)"
    end
  end
  return true
end

function Task:wait()
  local ok, err = wait_for(self, "task:wait")
  if not ok then return nil, err end
  self.observed = true
  if self.ok then return table.unpack(self.results, 1, self.results.n) end
  return nil, self.error
end

-- pack() -> {results..., n=} or {nil, err, n = 2}
function Task:pack()
  return table.pack(self:wait())
end

function Task:done()
  return self.finished
end

function Task:__tostring()
  return ("task (%s)"):format(not self.finished and "running" or self.ok and "done" or "failed")
end

function M.run()
  c.run()
  local failed = {}
  for _, t in ipairs(unobserved) do
    if not t.observed then failed[#failed + 1] = t end
  end
  unobserved = {}
  if #failed > 0 then
    return nil, ("%d task(s) failed and nobody waited for them; the first: %s"):format(
      #failed, failed[1].traceback or tostring(failed[1].error))
  end
  return true
end

M.sleep = c.sleep
M.now = c.now
M.stats = c.stats

function M.yield()
  return c.sleep(0)
end

function M.on_error(fn)
  error_handler = fn
  c.on_error(fn and function(msg) report(msg) end or nil)
end

function M.all(fns)
  assert(type(fns) == "table", "loop.all: a list of functions expected")
  local tasks = {}
  for i = 1, #fns do tasks[i] = M.spawn(fns[i]) end
  local out = { n = #tasks }
  for i, t in ipairs(tasks) do out[i] = t:pack() end
  return out
end

-- pools -------------------------------------------------------------------------------------

local Pool = {}
Pool.__index = Pool

function M.pool(n)
  n = math.tointeger(n)
  if not n or n < 1 then error("loop.pool: a size of at least 1 expected", 2) end
  return setmetatable({ size = n, running = 0, peak = 0, queue = {}, qhead = 1, qtail = 0, tasks = {} }, Pool)
end

function Pool:_next()
  while self.running < self.size and self.queue[self.qhead] do
    local t = self.queue[self.qhead]
    self.queue[self.qhead] = nil
    self.qhead = self.qhead + 1
    self.running = self.running + 1
    if self.running > self.peak then self.peak = self.running end
    start(t)
  end
end

function Pool:submit(fn, ...)
  local task = new_task(fn, ...)
  task.on_finish = function()
    self.running = self.running - 1
    self:_next()
  end
  self.tasks[#self.tasks + 1] = task
  self.qtail = self.qtail + 1
  self.queue[self.qtail] = task
  self:_next()
  return task
end

-- pool:wait() -> the results of every task submitted since the last wait, in order
function Pool:wait()
  local tasks = self.tasks
  self.tasks = {}
  local out = { n = #tasks }
  for i, t in ipairs(tasks) do out[i] = t:pack() end
  return out
end

-- timers and signals ------------------------------------------------------------------------

local Timer = {}
Timer.__index = Timer

function M.timer(first, every, fn)
  if fn == nil then fn, every = every, 0 end
  if type(fn) ~= "function" then error("loop.timer: a function expected", 2) end
  local t = setmetatable({ ticks = 0, skipped = 0 }, Timer)
  t.handle = c.timer(first, every or 0, function()
    if t.task and not t.task.finished then
      t.skipped = t.skipped + 1
      return
    end
    t.ticks = t.ticks + 1
    t.task = spawn_detached("timer callback", fn, t)
  end)
  return t
end

function M.after(seconds, fn) return M.timer(seconds, 0, fn) end
function M.every(seconds, fn) return M.timer(seconds, seconds, fn) end

function Timer:stop() self.handle:close() end
Timer.close = Timer.stop
function Timer:active() return self.handle:active() end

local Watcher = {}
Watcher.__index = Watcher

function M.on_signal(names, fn)
  if type(names) == "string" then names = { names } end
  if type(fn) ~= "function" then error("loop.on_signal: a function expected", 2) end
  local w = setmetatable({ handles = {}, count = 0 }, Watcher)
  for _, name in ipairs(names) do
    local ok, h = pcall(c.signal, name, function(_, signame)
      w.count = w.count + 1
      spawn_detached("signal handler", fn, signame)
    end)
    if not ok then
      w:close()
      error(h, 2)
    end
    w.handles[#w.handles + 1] = h
  end
  return w
end

function Watcher:close()
  for _, h in ipairs(self.handles) do h:close() end
end

-- work off the loop -------------------------------------------------------------------------

function M.sha256(data, raw)
  local md = c.sha256(data)
  if raw then return md end
  return (md:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end))
end

return M
