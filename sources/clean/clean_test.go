package clean

import "testing"

func TestText(t *testing.T) {
	cases := map[string]string{
		"fraud-detector":                         "fraud-detector",
		"red\x1b[31mtext\x1b[0m":                 "redtext",
		"title\x1b]0;pwned\x07after":             "titleafter",
		"osc\x1b]8;;http://x\x1b\\link":          "osclink",
		"bell\x07and\x00nul":                     "bellandnul",
		"multi\nline\ttab":                       "multi line tab",
		"c1\u009b2Jcsi":                          "c1csi",
		"bidi\u202eevil":                         "bidievil",
		"bad\xffutf8":                            "badutf8",
		"MLmodel not found at \"gs://b/x\"":      "MLmodel not found at \"gs://b/x\"",
		"ünïcödé ✓":                              "ünïcödé ✓",
		"cursor\x1b[2Aup\x1b7save":               "cursorupsave",
		"dcs\x1bPq#0;2;0;0;0#0~~\x1b\\after":     "dcsafter",
		"trailing escape\x1b":                    "trailing escape",
		"unterminated\x1b]0;title never ends...": "unterminated",
	}
	for in, want := range cases {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLinesKeepsNewlines(t *testing.T) {
	if got := Lines("a\x1b[1mb\nc\x07d"); got != "ab\ncd" {
		t.Fatalf("Lines = %q", got)
	}
}

func FuzzTextHasNoControls(f *testing.F) {
	f.Add("x\x1b[31my")
	f.Add("\x1b]0;t\x07")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		for _, r := range out {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("Text(%q) = %q keeps control %U", s, out, r)
			}
		}
	})
}
