-- Drives the plugin in a real, headless Neovim against the real membrane-dev
-- binary. Started by the editor test runner as
--
--   MEMBRANE_BIN=... MEMBRANE_PROGRAMS=... nvim --headless -u NONE -i NONE -n \
--     --cmd "set rtp^=editors/nvim" -c "luafile editors/nvim/test/run.lua"
--
-- MEMBRANE_PROGRAMS holds two program folders: broken/ (index.ts with a
-- syntax error on line 7) and good/. Each check prints "ok" or "FAIL" and a
-- name; Neovim exits with the number of failures.

local bin = assert(os.getenv("MEMBRANE_BIN"), "MEMBRANE_BIN is not set")
local programs = assert(os.getenv("MEMBRANE_PROGRAMS"), "MEMBRANE_PROGRAMS is not set")
local wait_ms = tonumber(os.getenv("MEMBRANE_WAIT_MS") or "") or 60000

local failures, passes = 0, 0

local function say(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end

local function check(name, ok, detail)
  if ok then
    passes = passes + 1
    say("ok    nvim: " .. name)
  else
    failures = failures + 1
    say("FAIL  nvim: " .. name .. (detail and (": " .. detail) or ""))
  end
end

-- protect runs one group of checks, counting an error in it as a failure.
local function protect(name, fn)
  local ok, err = pcall(fn)
  if not ok then
    check(name, false, tostring(err))
  end
end

local function clients_of(buf)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = buf })
  end
  return vim.tbl_values(vim.lsp.buf_get_clients(buf))
end

-- A stand-in for nvim-dap's module table, which nvim-dap's users fill with
-- adapters and configurations; nvim-dap itself is not installable here.
local fake_dap = { adapters = {}, configurations = {} }
package.loaded["dap"] = fake_dap

-- -u NONE leaves file type detection off; the plugin keys on file types.
vim.cmd("filetype on")

local membrane = require("membrane")
membrane.setup({ path = bin })

protect("program folders", function()
  local program = require("membrane.program")
  check("good/ is a program folder", program.is_program_folder(programs .. "/good"))
  check("a plain folder is not", not program.is_program_folder(programs))
  check(
    "root_of finds the program above a nested file",
    program.root_of(programs .. "/good/lib/util.ts") == programs .. "/good"
  )
  local names = program.actions(programs .. "/good")
  check("actions lists the exported functions", vim.tbl_contains(names, "increment")
    and vim.tbl_contains(names, "remind"), table.concat(names, ","))
  check("a commented import does not count",
    not program.imports_membrane('// import { state } from "membrane"\n'))
end)

protect("action arguments", function()
  check("empty arguments are {}", membrane.valid_args("") == "{}")
  check("an object passes", membrane.valid_args('{"by": 2}') == '{"by": 2}')
  check("an array is refused", membrane.valid_args("[1]") == nil)
  check("bad JSON is refused", membrane.valid_args("{by: 2}") == nil)
end)

protect("nvim-dap registration", function()
  local a = fake_dap.adapters.membrane
  check("adapter membrane runs `membrane-dev dap` on stdio",
    a and a.type == "executable" and a.command == bin and a.args[1] == "dap",
    vim.inspect(a))
  local s = fake_dap.adapters.membrane_server
  check("adapter membrane_server listens on a loopback port",
    s and s.type == "server" and s.port == "${port}"
      and table.concat(s.executable.args, " ") == "dap --listen 127.0.0.1:${port}",
    vim.inspect(s))
  local names = {}
  for _, c in ipairs(fake_dap.configurations.typescript or {}) do
    names[#names + 1] = c.type .. ":" .. c.code
  end
  check("launch configurations for recorded and current code",
    table.concat(names, ",") == "membrane:recorded,membrane:current", table.concat(names, ","))
end)

-- dap_initialize starts the adapter nvim-dap would start, sends it the DAP
-- initialize request and returns the response body (nil, why on failure).
-- For a server adapter it picks a free port and connects, as nvim-dap does.
local function dap_initialize(adapter)
  local uv = vim.loop
  local command, args, port = adapter.command, adapter.args, nil
  if adapter.type == "server" then
    local probe = uv.new_tcp()
    probe:bind("127.0.0.1", 0)
    port = probe:getsockname().port
    probe:close()
    command = adapter.executable.command
    args = vim.tbl_map(function(a)
      return (a:gsub("%${port}", tostring(port)))
    end, adapter.executable.args)
  end

  local stdin, stdout = uv.new_pipe(false), uv.new_pipe(false)
  local handle = uv.spawn(command, { args = args, stdio = { stdin, stdout, nil } }, function() end)
  if not handle then
    return nil, "could not start " .. command
  end
  local conn = adapter.type == "server" and uv.new_tcp() or nil
  local writer, reader = stdin, stdout
  if conn then
    local connected = false
    vim.wait(wait_ms, function()
      if connected then
        return true
      end
      local c = uv.new_tcp()
      c:connect("127.0.0.1", port, function(err)
        if err then
          c:close()
        else
          conn, connected = c, true
        end
      end)
      vim.wait(200)
      return connected
    end, 200)
    if not connected then
      handle:kill("sigterm")
      return nil, "could not connect to port " .. port
    end
    writer, reader = conn, conn
  end

  local buffer, body = "", nil
  reader:read_start(function(_, data)
    buffer = buffer .. (data or "")
    local head_end = buffer:find("\r\n\r\n", 1, true)
    if head_end then
      local len = tonumber(buffer:sub(1, head_end):match("Content%-Length:%s*(%d+)"))
      local text = len and buffer:sub(head_end + 4, head_end + 3 + len)
      if text and #text == len then
        body = text
      end
    end
  end)
  local request = vim.fn.json_encode({
    seq = 1,
    type = "request",
    command = "initialize",
    arguments = { adapterID = "membrane", linesStartAt1 = true, columnsStartAt1 = true },
  })
  writer:write("Content-Length: " .. #request .. "\r\n\r\n" .. request)
  vim.wait(wait_ms, function()
    return body ~= nil
  end, 50)
  pcall(reader.read_stop, reader)
  handle:kill("sigterm")
  if body == nil then
    return nil, "no answer to initialize"
  end
  local msg = vim.fn.json_decode(body)
  return msg.body or {}, msg.message
end

if os.getenv("MEMBRANE_DAP") == "1" then
  protect("debug adapter", function()
    for _, name in ipairs({ "membrane", "membrane_server" }) do
      local caps, why = dap_initialize(fake_dap.adapters[name])
      check("adapter " .. name .. " starts a debugger that supports step back",
        caps ~= nil and caps.supportsStepBack == true, why or vim.inspect(caps))
    end
  end)
end

-- The language server, for real.
protect("diagnostics", function()
  vim.cmd("edit " .. vim.fn.fnameescape(programs .. "/broken/index.ts"))
  local buf = vim.api.nvim_get_current_buf()
  local attached = vim.wait(wait_ms, function()
    return #clients_of(buf) > 0
  end, 100)
  check("the language server attaches to a program file", attached)
  local got = vim.wait(wait_ms, function()
    return #vim.diagnostic.get(buf) > 0
  end, 100)
  local diags = vim.diagnostic.get(buf)
  local lines = {}
  for _, d in ipairs(diags) do
    lines[#lines + 1] =
      string.format("%d:%d %s (%s)", d.lnum + 1, d.col + 1, d.message, d.source or "")
  end
  check("a diagnostic appears", got, "none after " .. wait_ms .. " ms")
  local on_line = false
  for _, d in ipairs(diags) do
    on_line = on_line or d.lnum == 6
  end
  check("the syntax error is reported on line 7", on_line, table.concat(lines, "; "))
  say("      diagnostics: " .. table.concat(lines, "; "))
end)

protect("completion", function()
  vim.cmd("edit " .. vim.fn.fnameescape(programs .. "/good/index.ts"))
  local buf = vim.api.nvim_get_current_buf()
  vim.wait(wait_ms, function()
    return #clients_of(buf) > 0
  end, 100)
  -- Line 1 is `import { state, sleep } from "membrane";`: complete just
  -- inside the braces.
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = 0, character = 9 },
  }
  local labels = {}
  local found = vim.wait(wait_ms, function()
    local replies = vim.lsp.buf_request_sync(buf, "textDocument/completion", params, 5000) or {}
    for _, reply in pairs(replies) do
      local items = reply.result and (reply.result.items or reply.result) or {}
      for _, item in ipairs(items) do
        labels[item.label] = true
      end
    end
    return labels.sleep == true
  end, 500)
  check("completion in the membrane import offers sleep", found,
    table.concat(vim.tbl_keys(labels), ","))
end)

protect("code lenses", function()
  local buf = vim.api.nvim_get_current_buf()
  local lenses = {}
  local found = vim.wait(wait_ms, function()
    pcall(vim.lsp.codelens.refresh)
    vim.wait(300)
    lenses = vim.lsp.codelens.get(buf) or {}
    return #lenses > 0
  end, 1000)
  local titles = {}
  for _, l in ipairs(lenses) do
    titles[#titles + 1] = string.format("%d:%s", l.range.start.line + 1,
      l.command and l.command.title or "(unresolved)")
  end
  check("a code lens appears on the actions", found, "none after " .. wait_ms .. " ms")
  say("      code lenses: " .. table.concat(titles, "; "))
end)

-- The commands, through the real binary: what the user sees is vim.notify.
protect("commands", function()
  local messages = {}
  vim.notify = function(msg)
    messages[#messages + 1] = msg
  end
  local function wait_for(pattern)
    local found
    vim.wait(wait_ms, function()
      for _, m in ipairs(messages) do
        if m:find(pattern) then
          found = m
          return true
        end
      end
      return false
    end, 100)
    return found
  end
  local good = programs .. "/good"

  -- The Run lens passes [dir, action]; the arguments are asked for.
  vim.ui.input = function(_, done)
    done('{"by": 4}')
  end
  vim.lsp.commands["membrane.run"]({ arguments = { good, "increment" } })
  local ran = wait_for("increment returned")
  check("the Run lens command calls the action with the arguments typed", ran ~= nil
    and ran:find("increment returned %d+") ~= nil, table.concat(messages, " | "))

  messages = {}
  vim.cmd("MembraneRun increment [1]")
  check("MembraneRun refuses arguments that are not an object",
    wait_for("must be a JSON object") ~= nil, table.concat(messages, " | "))

  messages = {}
  membrane.replay(good)
  check("MembraneReplay reports that the log matched",
    wait_for("the replay matched the log") ~= nil, table.concat(messages, " | "))
end)

say(string.format("nvim: %d passed, %d failed", passes, failures))
for _, c in ipairs(vim.lsp.get_active_clients and vim.lsp.get_active_clients() or {}) do
  c.stop()
end
vim.wait(2000, function()
  return #(vim.lsp.get_active_clients and vim.lsp.get_active_clients() or {}) == 0
end, 100)
vim.cmd("cquit " .. failures)
