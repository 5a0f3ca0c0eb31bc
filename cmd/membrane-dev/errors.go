package main

import "strings"

// isCobraUsage recognises the argument errors cobra produces itself (unknown
// command, wrong number of arguments), which carry no type of their own.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag",
		"unknown shorthand flag", "flag needs an argument", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// oneLine keeps an error to the sentence the user reads first; a program
// error's JS stack, which follows on later lines, is kept as it is.
func oneLine(err error) string {
	return strings.TrimSpace(err.Error())
}
