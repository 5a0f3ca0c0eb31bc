package exitnode

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadTokenCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf", "membrane-dev", "exit-node-token")
	token, created, err := LoadToken(path)
	if err != nil {
		t.Fatal(err)
	}
	if !created || len(token) < 32 {
		t.Fatalf("created=%v token=%q", created, token)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", info.Mode().Perm())
	}
	again, created, err := LoadToken(path)
	if err != nil || created || again != token {
		t.Errorf("second load: token=%q created=%v err=%v", again, created, err)
	}

	if read, err := ReadToken(path); err != nil || read != token {
		t.Errorf("ReadToken = %q, %v", read, err)
	}
	if _, err := ReadToken(path + ".missing"); err == nil {
		t.Error("ReadToken accepted a missing file")
	}
	if _, err := os.Stat(path + ".missing"); err == nil {
		t.Error("ReadToken created a file")
	}

	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, _, err := LoadToken(empty); err == nil {
		t.Error("an empty token file was accepted")
	}
}

func TestTokenCheck(t *testing.T) {
	c := newTokenCheck("s3cret-token")
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	cases := []struct {
		header string
		ok     bool
	}{
		{"Bearer s3cret-token", true},
		{"bearer s3cret-token", true},
		{basic("anyone", "s3cret-token"), true},
		{basic("", "s3cret-token"), true},
		{"", false},
		{"Bearer", false},
		{"Bearer s3cret-toke", false},
		{"Bearer s3cret-token2", false},
		{basic("s3cret-token", ""), false},
		{"Basic !!!", false},
		{"Token s3cret-token", false},
	}
	for _, c2 := range cases {
		h := http.Header{}
		if c2.header != "" {
			h.Set("Proxy-Authorization", c2.header)
		}
		if got := c.allows(h); got != c2.ok {
			t.Errorf("allows(%q) = %v, want %v", c2.header, got, c2.ok)
		}
	}
}
