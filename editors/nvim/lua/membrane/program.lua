-- Program folders: which folders hold a membrane-dev program, and the
-- actions a program's entry file exports. Pure Lua over the file system, so
-- it works on Neovim 0.7 and later.

local M = {}

local uv = vim.loop

--- The entry files a program folder may hold, in the order the runtime tries them.
M.entry_files = { "index.ts", "index.js" }

local function is_file(p)
  local st = uv.fs_stat(p)
  return st ~= nil and st.type == "file"
end

local function is_dir(p)
  local st = uv.fs_stat(p)
  return st ~= nil and st.type == "directory"
end

local function read(p)
  local fd = io.open(p, "r")
  if not fd then
    return ""
  end
  local text = fd:read("*a") or ""
  fd:close()
  return text
end

local function join(a, b)
  if a:sub(-1) == "/" then
    return a .. b
  end
  return a .. "/" .. b
end

local function dirname(p)
  local d = p:match("^(.*)/[^/]*$")
  if d == nil or d == "" then
    return "/"
  end
  return d
end

--- strip_comments removes line and block comments, keeping string literals.
function M.strip_comments(src)
  local out = {}
  local i, n = 1, #src
  while i <= n do
    local c, nx = src:sub(i, i), src:sub(i + 1, i + 1)
    if c == "/" and nx == "/" then
      local e = src:find("\n", i, true)
      i = e or (n + 1)
    elseif c == "/" and nx == "*" then
      local _, e = src:find("*/", i + 2, true)
      i = (e or n) + 1
      out[#out + 1] = " "
    elseif c == '"' or c == "'" or c == "`" then
      local j = i + 1
      while j <= n and src:sub(j, j) ~= c do
        if src:sub(j, j) == "\\" then
          j = j + 1
        end
        j = j + 1
      end
      out[#out + 1] = src:sub(i, j)
      i = j + 1
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return table.concat(out)
end

--- imports_membrane tells whether source text imports the runtime module "membrane".
function M.imports_membrane(src)
  local code = M.strip_comments(src)
  local patterns = {
    "from%s*[\"']membrane[\"']",
    "import%s*[\"']membrane[\"']",
    "import%s*%(%s*[\"']membrane[\"']%s*%)",
    "require%s*%(%s*[\"']membrane[\"']%s*%)",
  }
  for _, p in ipairs(patterns) do
    if code:find(p) then
      return true
    end
  end
  return false
end

--- entry_file returns the entry file of dir, or nil.
function M.entry_file(dir)
  for _, name in ipairs(M.entry_files) do
    local f = join(dir, name)
    if is_file(f) then
      return f
    end
  end
  return nil
end

--- is_program_folder tells whether dir holds a program: an index.ts or
--- index.js that imports "membrane", or an entry file beside .membrane/.
function M.is_program_folder(dir)
  if M.entry_file(dir) == nil then
    return false
  end
  if is_dir(join(dir, ".membrane")) then
    return true
  end
  for _, name in ipairs(M.entry_files) do
    local f = join(dir, name)
    if is_file(f) and M.imports_membrane(read(f)) then
      return true
    end
  end
  return false
end

--- root_of finds the program folder holding file: the nearest folder above
--- it that is a program folder, never one inside node_modules.
function M.root_of(file)
  if file == nil or file == "" then
    return nil
  end
  local dir = dirname(vim.fn.fnamemodify(file, ":p"))
  while true do
    if not dir:find("/node_modules/", 1, true) and not dir:match("/node_modules$") then
      if M.is_program_folder(dir) then
        return dir
      end
    end
    local parent = dirname(dir)
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

--- actions lists the names of the exported functions of a program's entry file.
function M.actions(dir)
  local entry = M.entry_file(dir)
  if entry == nil then
    return {}
  end
  local code = M.strip_comments(read(entry))
  local names, seen = {}, {}
  local function add(name)
    if name and not seen[name] and name ~= "Root" then
      seen[name] = true
      names[#names + 1] = name
    end
  end
  -- One pass over the exports, so that names come in source order.
  for rest in code:gmatch("export%s+([^\n]*)") do
    local name = rest:match("^async%s+function%s*%*?%s*([%a_$][%w_$]*)")
      or rest:match("^function%s*%*?%s*([%a_$][%w_$]*)")
    if name == nil then
      local bound, value = rest:match("^const%s+([%a_$][%w_$]*)%s*=%s*(.*)")
      value = value and value:gsub("^async%s+", "")
      if value and (value:match("^function") or value:match("^%(")
        or value:match("^[%a_$][%w_$]*%s*=>")) then
        name = bound
      end
    end
    add(name)
  end
  return names
end

return M
