-- nvim-dap integration: the `membrane` adapter, started as `membrane-dev dap`
-- on standard I/O (or, in server mode, with `--listen` on a free loopback
-- port), and launch configurations for TypeScript and JavaScript. Stepping
-- back and reverse continue are nvim-dap's own: dap.step_back() and
-- dap.reverse_continue().

local program = require("membrane.program")

local M = {}

--- executable_adapter is the adapter that speaks DAP on standard I/O.
function M.executable_adapter(opts)
  return { type = "executable", command = opts.path, args = { "dap" } }
end

--- server_adapter is the adapter nvim-dap starts with --listen on a port it
--- picks, then connects to.
function M.server_adapter(opts)
  local host = (opts.dap and opts.dap.host) or "127.0.0.1"
  return {
    type = "server",
    host = host,
    port = "${port}",
    executable = { command = opts.path, args = { "dap", "--listen", host .. ":${port}" } },
  }
end

-- program_dir is the program folder of the current buffer, asked for when
-- the buffer is in none.
local function program_dir()
  local root = program.root_of(vim.api.nvim_buf_get_name(0))
  if root then
    return root
  end
  return vim.fn.input("Program folder: ", vim.fn.getcwd() .. "/", "dir")
end

--- configurations are the launch configurations offered for a file type.
function M.configurations()
  return {
    {
      type = "membrane",
      request = "launch",
      name = "Replay program (recorded code)",
      program = program_dir,
      code = "recorded",
    },
    {
      type = "membrane",
      request = "launch",
      name = "Replay program (current code)",
      program = program_dir,
      code = "current",
      stopOnEntry = true,
    },
  }
end

--- register adds the adapters and configurations to nvim-dap. Existing
--- configurations of the same name are replaced, others are kept.
function M.register(dap, opts)
  local mode = (opts.dap and opts.dap.mode) or "executable"
  if mode == "server" then
    dap.adapters.membrane = M.server_adapter(opts)
  else
    dap.adapters.membrane = M.executable_adapter(opts)
  end
  dap.adapters.membrane_server = M.server_adapter(opts)

  for _, ft in ipairs(opts.filetypes or { "typescript", "javascript" }) do
    local list = dap.configurations[ft] or {}
    for _, config in ipairs(M.configurations()) do
      for i = #list, 1, -1 do
        if list[i].name == config.name and list[i].type == "membrane" then
          table.remove(list, i)
        end
      end
      list[#list + 1] = config
    end
    dap.configurations[ft] = list
  end
end

return M
