package main

import (
	"github.com/rogpeppe/go-internal/testscript"
)

func scriptSetup(env *testscript.Env) error {
	env.Setenv("NO_COLOR", "1")
	return nil
}

func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){}
}
