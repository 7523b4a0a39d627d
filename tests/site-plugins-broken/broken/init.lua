-- a plugin with a syntax error: it must be reported by name, and not break the others
return { name = "broken", commands = { x = { run = function() end } }
