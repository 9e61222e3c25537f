-- SPDX-License-Identifier: MIT
-- tools/bench-ref/sieve.lua: Lua 5.4 reference for vm.sieve_s (make bench).
local function sieve()
  local count = 0
  for _ = 1, 20 do
    local flags = {}
    for i = 1, 8190 do flags[i] = true end
    count = 0
    for i = 2, 8190 do
      if flags[i - 1] then
        count = count + 1
        local k = i + i
        while k <= 8190 do flags[k - 1] = false; k = k + i end
      end
    end
  end
  return count
end
local t0 = os.clock()
local n = sieve()
local dt = os.clock() - t0
assert(n == 1027)
print(string.format("ref.lua_sieve_s\t%.6g\ts", dt))
