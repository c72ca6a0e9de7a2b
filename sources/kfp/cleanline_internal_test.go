package kfp

import (
	"strings"
	"testing"
)

func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		" ":                             "",
		"train-model":                   "train-model",
		" padded ":                      "padded",
		"a  b":                          "a b",
		"a\tb\r\nc":                     "a b c",
		"\x1b[31mOOMKilled\x1b[0m":      "OOMKilled",
		"\x1b]0;title\x07name":          "name",
		"café  crème":                   "café crème",
		"ends with space ":              "ends with space",
		"exit\u00a0code\u00a0\u00a0137": "exit code 137",
	} {
		if got := cleanLine(in, 100); got != want {
			t.Errorf("cleanLine(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("x", 30)
	if got := cleanLine(long, 10); got != strings.Repeat("x", 9)+"…" {
		t.Errorf("cleanLine(30 x, 10) = %q", got)
	}
}
