package exitnode

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// DefaultTokenFile is where the token lives when no file is named: a file in
// the user's configuration directory.
func DefaultTokenFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the configuration directory for the token file: %w", err)
	}
	return filepath.Join(dir, "membrane-dev", "exit-node-token"), nil
}

// LoadToken reads the token from path. When the file does not exist it is
// created, mode 0600, holding a new random token, and created is true so the
// caller can tell the user where it is. An empty token file is an error: the
// exit node never runs without a token.
func LoadToken(path string) (token string, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		token = strings.TrimSpace(string(data))
		if token == "" {
			return "", false, fmt.Errorf("token file %s is empty", path)
		}
		return token, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read token file: %w", err)
	}

	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, fmt.Errorf("make a token: %w", err)
	}
	token = hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("create the token file's directory: %w", err)
	}
	// O_EXCL: if another process created the file meanwhile, read theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadToken(path)
	}
	if err != nil {
		return "", false, fmt.Errorf("create token file: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("write token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("write token file: %w", err)
	}
	return token, true, nil
}

// ReadToken reads an existing token file, for a client of a standalone
// exit node. Unlike LoadToken it never creates one.
func ReadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("exit node token file %s does not exist", path)
	}
	if err != nil {
		return "", fmt.Errorf("read exit node token file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("exit node token file %s is empty", path)
	}
	return token, nil
}

// tokenCheck compares presented tokens with the configured one in constant
// time. Both sides are hashed first so the comparison does not depend on
// the length of what a client sent either.
type tokenCheck struct{ sum [32]byte }

func newTokenCheck(token string) tokenCheck { return tokenCheck{sha256.Sum256([]byte(token))} }

// allows reports whether the Proxy-Authorization header carries the token,
// as "Bearer TOKEN" or as the password of "Basic" credentials.
func (c tokenCheck) allows(h http.Header) bool {
	ok := 0
	for _, v := range h.Values("Proxy-Authorization") {
		if presented, found := presentedToken(v); found {
			sum := sha256.Sum256([]byte(presented))
			ok |= subtle.ConstantTimeCompare(sum[:], c.sum[:])
		}
	}
	return ok == 1
}

func presentedToken(v string) (string, bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found {
		return "", false
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "bearer":
		return rest, true
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", false
		}
		_, password, found := strings.Cut(string(raw), ":")
		return password, found
	}
	return "", false
}
