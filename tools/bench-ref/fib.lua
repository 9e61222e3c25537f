-- SPDX-License-Identifier: MIT
-- tools/bench-ref/fib.lua: Lua 5.4 reference for vm.fib_sends_per_s (make bench).
local function fib(n)
  if n < 2 then return 1 end
  return fib(n - 1) + fib(n - 2) + 1
end
local t0 = os.clock()
local calls = fib(27)
local dt = os.clock() - t0
print(string.format("ref.lua_fib_calls_per_s\t%.6g\tcalls/s", calls / dt))
