package theme

import (
	"bytes"
	"strings"
	"testing"
)

func TestNoColorDrawsNoEscapes(t *testing.T) {
	th := New(Options{Color: false, Output: &bytes.Buffer{}})
	for name, s := range map[string]string{
		"crit": th.Crit.Render("CRIT"), "warn": th.Warn.Render("WARN"), "focus": th.Focus.Render("x"),
		"selected": th.Selected.Render("row"), "dim": th.Dim.Render("2s"),
	} {
		if strings.Contains(s, "\x1b") {
			t.Errorf("%s rendered with an escape sequence: %q", name, s)
		}
	}
}

func TestASCIIGlyphsAreASCII(t *testing.T) {
	g := New(Options{ASCII: true, Output: &bytes.Buffer{}}).Glyphs
	b := g.Border
	for _, s := range []string{g.Crit, g.Warn, g.OK, g.Cursor, g.BarFull, g.BarEmpty, g.Ellipsis, g.Up, g.Down, g.Sep,
		b.Top, b.Bottom, b.Left, b.Right, b.TopLeft, b.TopRight, b.BottomLeft, b.BottomRight} {
		for _, r := range s {
			if r > 0x7e || r < 0x20 {
				t.Errorf("ASCII theme glyph %q has %U", s, r)
			}
		}
	}
	if g.Braille {
		t.Error("ASCII theme allows braille")
	}
	if New(Options{Output: &bytes.Buffer{}}).Glyphs.Crit == g.Crit {
		t.Error("the Unicode theme should use its own glyphs")
	}
}
