package exampleutil

import (
	"os"
	"os/exec"
	"testing"
)

// ChromiumPath finds a Chromium binary for browser tests. When none is installed the
// test is skipped locally but fails on CI (CI=true), where .ci/setup-extra.sh
// installs Debian's chromium: CI must never pass a browser test by skipping it.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not installed but CI=true: the browser test must run in CI")
	}
	t.Skip("chromium not installed")
	return ""
}
