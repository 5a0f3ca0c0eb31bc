package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	// crash_test.go starts this binary as membrane-dev itself.
	if os.Getenv("MEMBRANE_DEV_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"membrane-dev": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the scenarios in testscripts/: what a user types, the
// files they touch and what must appear.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testscripts",
		RequireExplicitExec: true,
		Setup:               scriptSetup,
		Cmds:                scriptCmds(),
	})
}
