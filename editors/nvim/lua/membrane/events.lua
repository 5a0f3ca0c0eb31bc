-- :MembraneEvents lists the log's events of the current membrane debug
-- session (nvim-dap) in a scratch buffer; <CR> on a line jumps there with
-- the custom request membrane/seek.

local M = {}

--- format_event renders one event as a line: "#SEQ KIND  TIME  SUMMARY".
function M.format_event(e)
  local summary = tostring(e.summary or ""):gsub("%s+", " ")
  local time = ""
  if type(e.time) == "string" then
    time = e.time:match("T(%d%d:%d%d:%d%d[%.%d]*)") or e.time
  end
  local parts = { string.format("#%d %s", e.seq, e.kind or "?") }
  if time ~= "" then
    parts[#parts + 1] = time
  end
  if summary ~= "" then
    parts[#parts + 1] = summary
  end
  return table.concat(parts, "  ")
end

local function session()
  local ok, dap = pcall(require, "dap")
  if not ok then
    return nil, "the event list needs nvim-dap"
  end
  local s = dap.session()
  if s == nil or s.config == nil or s.config.type ~= "membrane" then
    return nil, "start a membrane debug session first"
  end
  return s
end

--- seek jumps the membrane debug session to the start of event seq.
function M.seek(seq)
  local s, why = session()
  if not s then
    return vim.notify("membrane: " .. why, vim.log.levels.ERROR)
  end
  s:request("membrane/seek", { seq = seq }, function(err)
    if err then
      local why = tostring(err.message or err)
      vim.notify("membrane: could not jump to event " .. seq .. ": " .. why, vim.log.levels.ERROR)
    end
  end)
end

--- show opens the event list of the membrane debug session.
function M.show()
  local s, why = session()
  if not s then
    return vim.notify("membrane: " .. why, vim.log.levels.ERROR)
  end
  s:request("membrane/events", vim.empty_dict(), function(err, body)
    if err then
      return vim.notify("membrane: the events could not be read: " .. tostring(err.message or err),
        vim.log.levels.ERROR)
    end
    local events = (body and body.events) or {}
    table.sort(events, function(a, b)
      return a.seq < b.seq
    end)
    local lines, seqs = {}, {}
    for i, e in ipairs(events) do
      lines[i] = M.format_event(e)
      seqs[i] = e.seq
    end
    vim.cmd("botright new")
    local buf = vim.api.nvim_get_current_buf()
    vim.api.nvim_buf_set_name(buf, "membrane-events://" .. buf)
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "wipe"
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
    vim.bo[buf].modifiable = false
    vim.keymap.set("n", "<CR>", function()
      local seq = seqs[vim.api.nvim_win_get_cursor(0)[1]]
      if seq then
        M.seek(seq)
      end
    end, { buffer = buf, desc = "Jump to this event" })
  end)
end

return M
