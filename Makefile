# One command sets up a fresh machine, one runs every test.
.PHONY: setup test gotest editortest bench

setup:
	./.ci/setup

test: gotest editortest

gotest:
	go vet ./...
	go test -race -timeout 20m ./...

editortest:
	./.ci/editor-tests

bench:
	go test -run '^$$' -bench . -benchtime 1x ./...
