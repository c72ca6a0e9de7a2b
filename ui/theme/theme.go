// Package theme builds the styles and glyphs the dashboard draws with. A
// Theme is built once by a constructor and passed down; nothing here is a
// package-level variable, so tests can build an uncoloured ASCII theme next
// to a coloured one.
package theme

import (
	"io"
	"os"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Glyphs are the symbols that carry state. Every state also has a word
// (CRIT, WARN, STALE), so colour is never the only signal.
type Glyphs struct {
	Crit     string // critical alert / failing row
	Warn     string // warning
	OK       string // healthy
	Cursor   string // selected row in a list
	BarFull  string // filled gauge cell
	BarEmpty string // empty gauge cell
	Ellipsis string // truncation mark
	Up       string // value rose
	Down     string // value fell
	Sep      string // separator between status items
	// Braille is false on old terminals: charts fall back to block characters
	// or plain text.
	Braille bool
	Border  lipgloss.Border
}

// Theme is every style the dashboard uses, from one renderer.
type Theme struct {
	Color  bool
	ASCII  bool
	Glyphs Glyphs

	Renderer *lipgloss.Renderer

	Base      lipgloss.Style // plain text
	Dim       lipgloss.Style // secondary text: labels, ages
	Bold      lipgloss.Style
	Title     lipgloss.Style // pane titles
	Header    lipgloss.Style // table headers
	Crit      lipgloss.Style // critical words and rows
	Warn      lipgloss.Style
	OK        lipgloss.Style
	Selected  lipgloss.Style // the selected row of a list
	Key       lipgloss.Style // key names in help and footers
	StatusBar lipgloss.Style
	Border    lipgloss.Style // unfocused pane border
	Focus     lipgloss.Style // focused pane border
	Chart     lipgloss.Style // chart lines
	ChartAxis lipgloss.Style
}

// Options choose how the terminal is drawn on.
type Options struct {
	// Color false draws without any colour (NO_COLOR, --no-color, goldens).
	Color bool
	// ASCII true avoids braille and box-drawing characters.
	ASCII bool
	// Output is where the program draws; it decides the colour profile when
	// Color is true. Nil means standard output.
	Output io.Writer
}

// New builds a theme.
func New(o Options) Theme {
	var r *lipgloss.Renderer
	out := o.Output
	if out == nil {
		out = os.Stdout
	}
	// A renderer per theme (not lipgloss's shared default) detects the colour
	// profile of the writer the program really draws on.
	r = lipgloss.NewRenderer(out)
	if !o.Color {
		r.SetColorProfile(termenv.Ascii)
	}
	t := Theme{Color: o.Color, ASCII: o.ASCII, Renderer: r, Glyphs: glyphs(o.ASCII)}

	s := r.NewStyle
	t.Base = s()
	t.Bold = s().Bold(true)
	t.Dim = s().Foreground(lipgloss.AdaptiveColor{Light: "242", Dark: "245"})
	t.Title = s().Bold(true)
	t.Header = s().Bold(true).Foreground(lipgloss.AdaptiveColor{Light: "238", Dark: "252"})
	t.Crit = s().Bold(true).Foreground(lipgloss.AdaptiveColor{Light: "160", Dark: "203"})
	t.Warn = s().Foreground(lipgloss.AdaptiveColor{Light: "130", Dark: "214"})
	t.OK = s().Foreground(lipgloss.AdaptiveColor{Light: "28", Dark: "78"})
	t.Key = s().Bold(true).Foreground(lipgloss.AdaptiveColor{Light: "25", Dark: "117"})
	t.StatusBar = s()
	t.Border = s().Foreground(lipgloss.AdaptiveColor{Light: "250", Dark: "240"})
	t.Focus = s().Bold(true).Foreground(lipgloss.AdaptiveColor{Light: "25", Dark: "117"})
	t.Chart = s().Foreground(lipgloss.AdaptiveColor{Light: "25", Dark: "117"})
	t.ChartAxis = t.Dim
	// Reverse video marks the selected row in colour; without colour
	// (termenv's Ascii profile drops every attribute) the cursor glyph that
	// panes draw beside the row carries the selection alone.
	t.Selected = s().Reverse(true)
	return t
}

func glyphs(ascii bool) Glyphs {
	if ascii {
		return Glyphs{
			Crit: "X", Warn: "!", OK: "-", Cursor: ">",
			BarFull: "#", BarEmpty: ".", Ellipsis: "...", Up: "^", Down: "v", Sep: "|",
			Braille: false,
			Border:  lipgloss.ASCIIBorder(),
		}
	}
	return Glyphs{
		Crit: "✗", Warn: "▲", OK: "●", Cursor: "▸",
		BarFull: "█", BarEmpty: "░", Ellipsis: "…", Up: "↑", Down: "↓", Sep: "│",
		Braille: true,
		Border:  lipgloss.RoundedBorder(),
	}
}
