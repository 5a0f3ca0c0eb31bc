package lsp

import "sort"

// action is an exported action of a program, as its entry file declares it.
type action struct {
	name string
	at   span  // the name in the entry file
	d    *decl // its declaration; for a method of Root, Root's
}

// actions lists the actions the entry file exports, in source order: its
// exported functions, then the methods of an exported Root object that no
// top-level export shadows.
func actions(entry *fileInfo) []action {
	if entry == nil {
		return nil
	}
	top := map[string]*decl{}
	for _, d := range entry.decls {
		if d.top && d.kind != declImport {
			top[d.name] = d
		}
	}
	var out []action
	seen := map[string]bool{}
	for exported, local := range entry.exports {
		d := top[local]
		if d == nil || !d.fn || exported == "default" {
			continue
		}
		out = append(out, action{name: exported, at: d.at, d: d})
		seen[exported] = true
	}
	if root := top[entry.exports["Root"]]; root != nil && entry.exports["Root"] != "" {
		for _, p := range root.props {
			if !seen[p.name] {
				out = append(out, action{name: p.name, at: p.at, d: root})
				seen[p.name] = true
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.start < out[j].at.start })
	return out
}

// actionNames returns the set of action names.
func actionNames(as []action) map[string]bool {
	out := map[string]bool{}
	for _, a := range as {
		out[a.name] = true
	}
	return out
}
