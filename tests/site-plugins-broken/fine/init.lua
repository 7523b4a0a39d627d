return { summary = "a fine plugin next to a broken one", commands = {
  ping = { summary = "pong", run = function() return { pong = true } end,
           text = function(r, ctx) ctx.ui.say("pong") end } } }
