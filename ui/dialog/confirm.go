package dialog

import (
	"strings"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// Answer is what the user said to a dialog.
type Answer int

const (
	// Open: no answer yet, the dialog stays.
	Open Answer = iota
	// Yes: apply the plan.
	Yes
	// No: close without applying. For a blocked preflight it is the only
	// answer there is.
	No
)

// maxTypedName bounds the typed confirmation: a Kubernetes name is at most
// 253 characters.
const maxTypedName = 253

// Confirm asks whether to apply one planned action. It shows what will
// change and why it may or may not be safe, and takes one answer. No is
// the default: enter, esc, n and any key other than y decline, because a
// dialog dismissed by reflex must change nothing. In a protected namespace
// yes is typing the service's name and enter; after a failing check there
// is no yes at all.
type Confirm struct {
	plan actions.Plan
	pre  actions.Preflight
	// typed is the name typed so far in a protected namespace.
	typed []rune
	// mismatch is set by enter on a name that is not the service's.
	mismatch bool
	// replanned marks a plan made again because the service changed
	// since the previous one.
	replanned bool
}

// NewConfirm opens the dialog for a plan and its preflight. replanned says
// the plan replaces one that met a changed service.
func NewConfirm(p actions.Plan, pre actions.Preflight, replanned bool) Confirm {
	return Confirm{plan: p, pre: pre, replanned: replanned}
}

// Plan is the plan the dialog asks about.
func (c Confirm) Plan() actions.Plan { return c.plan }

// Preflight is the plan's preflight.
func (c Confirm) Preflight() actions.Preflight { return c.pre }

// Blocked reports whether a failing check forbids the action.
func (c Confirm) Blocked() bool { return c.pre.Blocked() }

// Typed is the name typed so far in a protected namespace.
func (c Confirm) Typed() string { return string(c.typed) }

// Update takes one key.
func (c Confirm) Update(msg tea.KeyMsg) (Confirm, Answer) {
	if c.Blocked() {
		// y is ignored rather than read as "close": the dialog stays,
		// saying why it cannot go ahead, until the user closes it.
		if isRune(msg, 'y') {
			return c, Open
		}
		return c, No
	}
	if c.plan.Protected {
		return c.typeName(msg)
	}
	if isRune(msg, 'y') {
		return c, Yes
	}
	return c, No
}

// typeName edits the typed confirmation. Only enter on the exact name says
// yes; a wrong name says nothing, so a slip never applies and never loses
// what was typed.
func (c Confirm) typeName(msg tea.KeyMsg) (Confirm, Answer) {
	switch msg.Type {
	case tea.KeyEsc:
		return c, No
	case tea.KeyEnter:
		if string(c.typed) == c.plan.Request.Name {
			return c, Yes
		}
		c.mismatch = true
	case tea.KeyBackspace:
		if len(c.typed) > 0 {
			c.typed = c.typed[:len(c.typed)-1]
		}
		c.mismatch = false
	case tea.KeyCtrlU:
		c.typed, c.mismatch = nil, false
	case tea.KeyRunes:
		for _, r := range msg.Runes {
			if unicode.IsPrint(r) && !unicode.IsSpace(r) && len(c.typed) < maxTypedName {
				// A copy: earlier model values must keep their own text.
				c.typed = append(append([]rune(nil), c.typed...), r)
			}
		}
		c.mismatch = false
	}
	return c, Open
}

func isRune(msg tea.KeyMsg, r rune) bool {
	// A pasted "y" is text that happened to be on the clipboard, not an answer.
	return msg.Type == tea.KeyRunes && !msg.Alt && !msg.Paste && len(msg.Runes) == 1 && msg.Runes[0] == r
}

// Title is the dialog's border title: "Roll back fraud-detector (ml-prod,
// ctx demo)".
func (c Confirm) Title() string {
	where := clean.Text(c.plan.Request.Namespace)
	if c.plan.Context != "" {
		where += ", ctx " + clean.Text(c.plan.Context)
	}
	return Describe(c.plan.Request).Title + " (" + where + ")"
}

// labelWidth is the column of the section labels ("Verdict  ").
const labelWidth = 9

// markWidth is a check's status column: glyph, space, word, space.
const markWidth = 7

// Lines draws the dialog's content in at most h lines of at most w cells.
// The answer line always shows. When the content is too tall it is
// squeezed step by step, least useful first: the passing checks fold into
// one line, the notes go, then every item keeps one line; a failing or
// warning check and the patch stay to the last. Whatever is still too
// much is cut at the end, and the cut says so.
func (c Confirm) Lines(t *theme.Theme, w, h int) []string {
	if w <= labelWidth+markWidth || h <= 0 {
		return nil
	}
	tail := c.answerLines(t, w)
	if len(tail) >= h {
		return tail[len(tail)-h:]
	}
	var head []string
	for sq := squeeze(0); sq <= squeezeMost; sq++ {
		head = c.details(t, w, sq)
		if len(head)+len(tail) <= h {
			break
		}
	}
	if room := h - len(tail); len(head) > room {
		more := text.Truncate(t.Glyphs.Ellipsis+" more than fits: enlarge the terminal", w, t.Glyphs.Ellipsis)
		head = append(head[:room-1], t.Dim.Render(more))
	}
	return append(head, tail...)
}

// squeeze is how hard the details are pressed to fit; each level keeps
// what the ones below it do.
type squeeze int

const (
	squeezeNone    squeeze = iota
	squeezeFold            // passing and skipped checks share one line
	squeezeNoNotes         // the notes go
	squeezeOneLine         // every item keeps its first line
	squeezeMost    = squeezeOneLine
)

// layout breaks plain text into lines of w cells: wrapped, or cut to one
// line once the squeeze allows no more.
func (sq squeeze) layout(t *theme.Theme, s string, w int) []string {
	if sq >= squeezeOneLine {
		return []string{text.Truncate(s, w, t.Glyphs.Ellipsis)}
	}
	return wrap(s, w)
}

// details are the plan, the verdict, the checks, the patch and the notes.
func (c Confirm) details(t *theme.Theme, w int, sq squeeze) []string {
	inner := w - labelWidth
	var out []string
	if c.replanned {
		for _, l := range sq.layout(t, t.Glyphs.Warn+" the service changed since the last plan; nothing was overwritten. This plan is made against its current state.", w) {
			out = append(out, t.Warn.Render(l))
		}
	}
	section := func(label string, lines []string) {
		for i, l := range lines {
			lead := strings.Repeat(" ", labelWidth)
			if i == 0 {
				lead = t.Header.Render(label) + strings.Repeat(" ", labelWidth-text.Width(label))
			}
			out = append(out, lead+l)
		}
	}
	section("Plan", sq.layout(t, clean.Text(c.plan.Summary), inner))
	if verdict := clean.Text(c.pre.Verdict); verdict != "" {
		section("Verdict", sq.layout(t, verdict, inner))
	} else {
		section("Verdict", []string{t.Dim.Render("no verdict available")})
	}
	section("Checks", c.checkLines(t, inner, sq))
	section("Patch", c.patchLines(t, inner, sq))
	if sq < squeezeNoNotes {
		var notes []string
		for _, n := range c.plan.Notes {
			notes = append(notes, sq.layout(t, clean.Text(n), inner)...)
		}
		section("Notes", notes)
	}
	return out
}

// checkLines lists each check with its status word, its detail and what to
// do about it. Folded, the passing and skipped checks share one line.
func (c Confirm) checkLines(t *theme.Theme, w int, sq squeeze) []string {
	if len(c.pre.Checks) == 0 {
		return []string{t.Dim.Render("no checks ran")}
	}
	indent := strings.Repeat(" ", markWidth)
	room := w - markWidth
	var out, passed []string
	for _, ch := range c.pre.Checks {
		name := clean.Text(ch.Name)
		if sq >= squeezeFold && (ch.Status == actions.CheckPass || ch.Status == actions.CheckSkip) {
			passed = append(passed, name)
			continue
		}
		line := name
		if d := clean.Text(ch.Detail); d != "" {
			line += ": " + d
		}
		for i, l := range sq.layout(t, line, room) {
			lead := indent
			if i == 0 {
				lead = statusMark(t, ch.Status)
			}
			out = append(out, lead+l)
		}
		if r := clean.Text(ch.Remedy); r != "" && (ch.Status == actions.CheckWarn || ch.Status == actions.CheckFail) {
			for _, l := range sq.layout(t, "-> "+r, room) {
				out = append(out, indent+t.Dim.Render(l))
			}
		}
	}
	if len(passed) > 0 {
		for i, l := range sq.layout(t, strings.Join(passed, ", "), room) {
			lead := indent
			if i == 0 {
				lead = statusMark(t, actions.CheckPass)
			}
			out = append(out, lead+l)
		}
	}
	return out
}

// statusMark is the check's glyph and word in markWidth cells: the word
// carries the state, so it reads the same without colour.
func statusMark(t *theme.Theme, s actions.CheckStatus) string {
	word := text.Fit(s.String(), 4, "")
	switch s {
	case actions.CheckPass:
		return t.OK.Render(t.Glyphs.OK+" "+word) + " "
	case actions.CheckWarn:
		return t.Warn.Render(t.Glyphs.Warn+" "+word) + " "
	case actions.CheckFail:
		return t.Crit.Render(t.Glyphs.Crit+" "+word) + " "
	}
	return "  " + t.Dim.Render(word) + " "
}

// patchLines is the patch as a diff of its changes, the first carrying how
// it is sent: a merge patch guarded by the resourceVersion the plan saw.
func (c Confirm) patchLines(t *theme.Theme, w int, sq squeeze) []string {
	how := "(merge"
	if rv := clean.Text(c.plan.ResourceVersion); rv != "" {
		how += ", resourceVersion " + rv
	}
	how += ")"
	if len(c.plan.Changes) == 0 {
		return sq.layout(t, "no change "+how, w)
	}
	var out []string
	for i, ch := range c.plan.Changes {
		lines := changeLines(ch, w)
		if i == 0 {
			// How the patch is sent follows the first change, or goes
			// under it.
			last := len(lines) - 1
			if text.Width(lines[last])+3+text.Width(how) <= w {
				lines[last] += "   " + t.Dim.Render(how)
			} else {
				for _, l := range wrap(how, w) {
					lines = append(lines, t.Dim.Render(l))
				}
			}
		}
		out = append(out, lines...)
	}
	return out
}

// changeLines is one change of the diff, "path: from -> to", on one line
// when it fits; otherwise the path comes first and "from -> to" stays
// whole under it. A change is never squeezed away: it is what the user
// confirms.
func changeLines(ch actions.Change, w int) []string {
	path := clean.Text(ch.Path) + ":"
	diff := side(ch.From, ch.FromAbsent, "(unset)") + " -> " + side(ch.To, ch.ToAbsent, "(removed)")
	if text.Width(path)+1+text.Width(diff) <= w {
		return []string{path + " " + diff}
	}
	return append(wrap(path, w), wrap("  "+diff, w)...)
}

func side(v string, absent bool, word string) string {
	if absent {
		return word
	}
	return clean.Text(v)
}

// answerLines are the question and how to answer it, after a blank line.
func (c Confirm) answerLines(t *theme.Theme, w int) []string {
	p := Describe(c.plan.Request)
	out := []string{""}
	switch {
	case c.Blocked():
		out = append(out, text.Truncate(t.Crit.Render("blocked: fix the failing checks")+"   "+t.Dim.Render("any key closes"), w, t.Glyphs.Ellipsis))
	case c.plan.Protected:
		ns := clean.Text(c.plan.Request.Namespace)
		name := clean.Text(c.plan.Request.Name)
		ask := ns + " is protected: type " + name + " and press enter (esc: no)"
		if text.Width(p.Question)+2+text.Width(ask) <= w {
			out = append(out, t.Bold.Render(p.Question)+"  "+ask)
		} else {
			out = append(append(out, t.Bold.Render(p.Question)), wrap(ask, w)...)
		}
		cursor := "▏"
		if t.ASCII {
			cursor = "_"
		}
		typed := t.Key.Render("> ") + clean.Text(string(c.typed)) + cursor
		if c.mismatch {
			typed += "   " + t.Warn.Render("not the service's name")
		}
		out = append(out, text.Truncate(typed, w, t.Glyphs.Ellipsis))
	default:
		q := t.Bold.Render(p.Question) + "  " + t.Key.Render("[y]") + " yes   " + t.Key.Render("[N]") + " no (default)"
		out = append(out, text.Truncate(q, w, t.Glyphs.Ellipsis))
	}
	return out
}

// wrap breaks plain text into lines of at most w cells at spaces; a word
// longer than a line is cut. Unlike ansi.Wrap it never breaks at a hyphen,
// so a service name the user must read (or type) stays whole.
func wrap(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		for text.Width(word) > w {
			if line != "" {
				lines, line = append(lines, line), ""
			}
			lines = append(lines, ansi.Truncate(word, w, ""))
			word = ansi.TruncateLeft(word, w, "")
		}
		switch {
		case word == "":
		case line == "":
			line = word
		case text.Width(line)+1+text.Width(word) <= w:
			line += " " + word
		default:
			lines, line = append(lines, line), word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}
