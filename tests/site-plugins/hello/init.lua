-- An example site plugin: a folder on CERTBENCH_PLUGINS with init.lua adds `certbench hello`.
-- It shows the whole plugin contract: metadata, a command with options, a result table that
-- `--json` prints as is and `text` renders for people, and a profile other plugins can use.
local fs = require "certbench.fs"

return {
  name = "hello",
  version = "1.0",
  summary = "example site plugin: greets and counts bytes of a file",
  commands = {
    greet = {
      summary = "say hello, optionally about a file",
      options = function(p)
        p:argument("who", "whom to greet")
        p:option("--file", "a file whose size to report")
        p:flag("--shout", "upper-case")
      end,
      run = function(args, ctx)
        local size
        if args.file then
          local data, err = fs.read(args.file)
          if not data then return nil, err end
          size = #data
        end
        local text = "hello, " .. args.who
        if args.shout then text = text:upper() end
        return { greeting = text, size = size }
      end,
      text = function(res, ctx)
        ctx.ui.say("%s", res.greeting)
        if res.size then ctx.ui.say("%d bytes", res.size) end
      end,
    },
    fail = {
      summary = "always fails with exit code 3 (tests the error path)",
      run = function() return nil, "hello: it failed on purpose", 3 end,
    },
  },
  -- site plugins can also carry certificate profiles for the ca/vcs plugins
  profiles = { ["site-server"] = { eku = { "serverAuth" }, days = 90 } },
}
