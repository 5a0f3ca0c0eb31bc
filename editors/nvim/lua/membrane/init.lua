-- membrane-dev for Neovim: the language server for program folders, the
-- code-lens commands it offers, and nvim-dap's `membrane` adapter for
-- time-travel debugging. Works on Neovim 0.7 (vim.lsp.start_client) and on
-- later versions (vim.lsp.start).

local program = require("membrane.program")

local M = {}

--- The options setup() takes, with their defaults.
M.defaults = {
  -- The membrane-dev binary; "membrane-dev" is looked up on PATH.
  path = "membrane-dev",
  -- File types whose buffers in program folders get the language server.
  filetypes = { "typescript", "javascript", "typescriptreact", "javascriptreact" },
  -- Sent to the server as initializationOptions.
  init_options = {},
  -- Passed to the language client as they are.
  capabilities = nil,
  on_attach = nil,
  -- Refresh code lenses on these events; false turns code lenses off.
  codelens_events = { "BufEnter", "InsertLeave", "BufWritePost", "CursorHold" },
  -- nvim-dap integration: false turns it off. mode is "executable" (stdio)
  -- or "server" (TCP on a free loopback port) for the `membrane` adapter;
  -- `membrane_server` is always the server mode.
  dap = { mode = "executable", host = "127.0.0.1" },
}

M.options = vim.deepcopy(M.defaults)

-- Language clients by program folder, for Neovim without vim.lsp.start.
local clients = {}

local function notify(msg, level)
  vim.notify("membrane: " .. msg, level or vim.log.levels.INFO)
end

--- lsp_config is the client configuration for the program folder root.
function M.lsp_config(root)
  local o = M.options
  return {
    name = "membrane",
    cmd = { o.path, "lsp" },
    root_dir = root,
    workspace_folders = {
      { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") },
    },
    init_options = o.init_options,
    capabilities = o.capabilities or vim.lsp.protocol.make_client_capabilities(),
    on_attach = function(client, bufnr)
      M._on_attach(client, bufnr)
      if o.on_attach then
        o.on_attach(client, bufnr)
      end
    end,
  }
end

--- attach starts or reuses the language server for bufnr's program folder.
--- It returns the client id, or nil when the buffer is in no program.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if vim.api.nvim_buf_get_option(bufnr, "buftype") ~= "" then
    return nil
  end
  local root = program.root_of(vim.api.nvim_buf_get_name(bufnr))
  if root == nil then
    return nil
  end
  if vim.fn.executable(M.options.path) ~= 1 then
    local msg = M.options.path .. " was not found; install it or pass path to setup()"
    notify(msg, vim.log.levels.ERROR)
    return nil
  end
  local config = M.lsp_config(root)
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = clients[root]
  if id == nil or vim.lsp.get_client_by_id(id) == nil or vim.lsp.client_is_stopped(id) then
    id = vim.lsp.start_client(config)
    if id == nil then
      notify("the language server did not start for " .. root, vim.log.levels.ERROR)
      return nil
    end
    clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

-- _on_attach turns on code lenses when the server offers them.
function M._on_attach(client, bufnr)
  local caps = client.server_capabilities or client.resolved_capabilities or {}
  local lens = caps.codeLensProvider or caps.code_lens
  if not lens or not M.options.codelens_events then
    return
  end
  local group = vim.api.nvim_create_augroup("membrane_codelens_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd(M.options.codelens_events, {
    group = group,
    buffer = bufnr,
    callback = function()
      pcall(vim.lsp.codelens.refresh)
    end,
  })
  if vim.api.nvim_get_current_buf() == bufnr then
    pcall(vim.lsp.codelens.refresh)
  end
end

--- current_root is the program folder of the current buffer, or nil.
function M.current_root()
  return program.root_of(vim.api.nvim_buf_get_name(0))
end

-- run_cli runs membrane-dev with args and calls done(code, stdout, stderr).
local function run_cli(args, done)
  local out, err = {}, {}
  local cmd = { M.options.path }
  vim.list_extend(cmd, args)
  local job = vim.fn.jobstart(cmd, {
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = function(_, data)
      out = data
    end,
    on_stderr = function(_, data)
      err = data
    end,
    on_exit = function(_, code)
      vim.schedule(function()
        done(code, vim.trim(table.concat(out, "\n")), vim.trim(table.concat(err, "\n")))
      end)
    end,
  })
  if job <= 0 then
    notify("could not start " .. M.options.path, vim.log.levels.ERROR)
  end
end

--- valid_args checks an action's arguments: empty, or a JSON object.
--- It returns the JSON text to send, or nil and a sentence saying why not.
function M.valid_args(text)
  text = vim.trim(text or "")
  if text == "" then
    return "{}"
  end
  local ok, value = pcall(vim.fn.json_decode, text)
  if not ok then
    return nil, "the arguments are not valid JSON"
  end
  -- json_decode gives a table for objects and arrays alike; the text tells.
  if type(value) ~= "table" or text:sub(1, 1) ~= "{" then
    return nil, 'the arguments must be a JSON object such as {"by": 2}'
  end
  return text
end

--- run calls action NAME of the program in dir with args (JSON text); what
--- is missing is asked for.
function M.run(dir, name, args)
  dir = dir or M.current_root()
  if dir == nil then
    return notify("the current buffer is in no program folder", vim.log.levels.ERROR)
  end
  if name == nil or name == "" then
    local names = program.actions(dir)
    local ask = #names > 0 and function(cb)
      vim.ui.select(names, { prompt = "Action: " }, cb)
    end or function(cb)
      vim.ui.input({ prompt = "Action: " }, cb)
    end
    return ask(function(choice)
      if choice and choice ~= "" then
        M.run(dir, choice, args)
      end
    end)
  end
  if args == nil then
    local prompt = { prompt = name .. " arguments (JSON object): ", default = "" }
    return vim.ui.input(prompt, function(text)
      if text ~= nil then
        M.run(dir, name, text)
      end
    end)
  end
  local json, why = M.valid_args(args)
  if json == nil then
    return notify(why, vim.log.levels.ERROR)
  end
  run_cli({ "call", "--dir", dir, name, json }, function(code, out, err)
    if code == 0 then
      notify(name .. " returned " .. (out ~= "" and out or "nothing"))
    else
      notify(name .. " failed: " .. err, vim.log.levels.ERROR)
    end
  end)
end

--- replay replays the program's log and reports whether it matched.
function M.replay(dir)
  dir = dir or M.current_root()
  if dir == nil then
    return notify("the current buffer is in no program folder", vim.log.levels.ERROR)
  end
  run_cli({ "replay", "--dir", dir }, function(code, out, err)
    if code == 0 then
      notify("the replay matched the log")
    elseif code == 1 and out ~= "" then
      notify("the replay diverged from the log:\n" .. out, vim.log.levels.WARN)
    else
      notify("the replay failed: " .. err, vim.log.levels.ERROR)
    end
  end)
end

--- log shows the program's log in a scratch split.
function M.log(dir)
  dir = dir or M.current_root()
  if dir == nil then
    return notify("the current buffer is in no program folder", vim.log.levels.ERROR)
  end
  run_cli({ "log", "--dir", dir }, function(code, out, err)
    if code ~= 0 then
      return notify("the log could not be read: " .. err, vim.log.levels.ERROR)
    end
    vim.cmd("botright new")
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "wipe"
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(out, "\n", { plain = true }))
    vim.bo[buf].modifiable = false
  end)
end

--- exit_node starts an exit node in a terminal split.
function M.exit_node(listen)
  local cmd = { M.options.path, "exit-node" }
  if listen and listen ~= "" then
    vim.list_extend(cmd, { "--listen", listen })
  end
  vim.cmd("botright split")
  vim.cmd("enew")
  vim.fn.termopen(cmd)
end

--- debug starts an nvim-dap session replaying the program's recorded log.
--- Given seq (the lens passes an action's last call), it travels to the
--- start of that event once the session first stops.
function M.debug(dir, seq)
  local ok, dap = pcall(require, "dap")
  if not ok then
    return notify("debugging needs nvim-dap", vim.log.levels.ERROR)
  end
  dir = dir or M.current_root()
  if dir == nil then
    return notify("the current buffer is in no program folder", vim.log.levels.ERROR)
  end
  local config = {
    type = "membrane",
    request = "launch",
    name = "Replay program",
    program = dir,
    code = "recorded",
    stopOnEntry = seq ~= nil,
  }
  if seq ~= nil and dap.listeners then
    dap.listeners.after.event_stopped["membrane_seek"] = function(session)
      dap.listeners.after.event_stopped["membrane_seek"] = nil
      session:request("membrane/seek", { seq = seq }, function(err)
        if err then
          notify("could not travel to event " .. seq .. ": " .. tostring(err.message or err),
            vim.log.levels.ERROR)
        end
      end)
    end
  end
  dap.run(config)
end

-- The code lenses' commands: arguments are [dir, action].
local function lens_command(fn)
  return function(command)
    local a = command.arguments or {}
    fn(a[1], a[2], a[3])
  end
end

local function register_commands()
  vim.lsp.commands["membrane.run"] = lens_command(function(dir, action)
    M.run(dir, action)
  end)
  vim.lsp.commands["membrane.debug"] = lens_command(function(dir, _, seq)
    M.debug(dir, seq)
  end)
  vim.lsp.commands["membrane.replay"] = lens_command(function(dir)
    M.replay(dir)
  end)
  vim.lsp.commands["membrane.log"] = lens_command(function(dir)
    M.log(dir)
  end)

  local cmd = vim.api.nvim_create_user_command
  cmd("MembraneRun", function(o)
    M.run(nil, o.fargs[1], o.fargs[2] and table.concat(vim.list_slice(o.fargs, 2), " ") or nil)
  end, { nargs = "*", desc = "Run an action: MembraneRun [NAME [ARGS_JSON]]" })
  cmd("MembraneReplay", function()
    M.replay()
  end, { desc = "Replay the program's log" })
  cmd("MembraneLog", function()
    M.log()
  end, { desc = "Show the program's log" })
  cmd("MembraneExitNode", function(o)
    M.exit_node(o.args)
  end, { nargs = "?", desc = "Start an exit node: MembraneExitNode [HOST:PORT]" })
  cmd("MembraneDebug", function()
    M.debug()
  end, { desc = "Debug the program's log with nvim-dap" })
  cmd("MembraneEvents", function()
    require("membrane.events").show()
  end, { desc = "List the log's events of the membrane debug session" })
end

--- setup registers the language server for program folders, the commands,
--- and the nvim-dap adapter when nvim-dap is installed.
function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  register_commands()

  local group = vim.api.nvim_create_augroup("membrane_lsp", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.options.filetypes,
    callback = function(ev)
      M.attach(ev.buf)
    end,
  })
  -- Buffers opened before setup() ran.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    local ft = vim.bo[buf].filetype
    if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(M.options.filetypes, ft) then
      M.attach(buf)
    end
  end

  if M.options.dap then
    local ok, dap = pcall(require, "dap")
    if ok then
      require("membrane.dap").register(dap, M.options)
    end
  end
end

return M
