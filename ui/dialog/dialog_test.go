package dialog

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

func plain() *theme.Theme {
	th := theme.New(theme.Options{Color: false})
	return &th
}

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

func rollback() actions.Plan {
	return actions.Plan{
		ID:      "p1",
		Request: actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-detector"},
		Context: "prod-gke", ResourceVersion: "884213",
		Summary: "canaryTrafficPercent 20 -> 0: all traffic to fraud-detector-predictor-00001",
		Changes: []actions.Change{{Path: "spec.predictor.canaryTrafficPercent", From: "20", To: "0"}},
	}
}

func checks(statuses ...actions.CheckStatus) actions.Preflight {
	pre := actions.Preflight{PlanID: "p1", Verdict: "ROLLBACK at 3m"}
	for i, s := range statuses {
		pre.Checks = append(pre.Checks, actions.Check{
			Name: fmt.Sprintf("check%d", i), Status: s, Detail: fmt.Sprintf("detail of check %d", i),
			Remedy: fmt.Sprintf("remedy of check %d", i),
		})
	}
	return pre
}

func TestOnlyYSaysYes(t *testing.T) {
	c := NewConfirm(rollback(), checks(actions.CheckPass, actions.CheckWarn), false)
	if _, a := c.Update(runes("y")); a != Yes {
		t.Errorf("y answered %d", a)
	}
	no := []tea.KeyMsg{
		{Type: tea.KeyEnter}, {Type: tea.KeyEsc}, {Type: tea.KeySpace}, {Type: tea.KeyTab}, {Type: tea.KeyUp},
		runes("n"), runes("N"), runes("Y"), runes("q"), runes("yy"), {Type: tea.KeyRunes, Runes: []rune("y"), Alt: true},
		{Type: tea.KeyRunes, Runes: []rune("y"), Paste: true},
	}
	for _, k := range no {
		if _, a := c.Update(k); a != No {
			t.Errorf("%q answered %d, want no", k.String(), a)
		}
	}
}

func TestBlockedOnlyCloses(t *testing.T) {
	c := NewConfirm(rollback(), checks(actions.CheckPass, actions.CheckFail), false)
	if !c.Blocked() {
		t.Fatal("a failing check does not block")
	}
	if _, a := c.Update(runes("y")); a != Open {
		t.Errorf("y on a blocked plan answered %d, want the dialog to stay", a)
	}
	for _, k := range []tea.KeyMsg{{Type: tea.KeyEnter}, {Type: tea.KeyEsc}, runes("n")} {
		if _, a := c.Update(k); a != No {
			t.Errorf("%q on a blocked plan answered %d, want close", k.String(), a)
		}
	}
	// Even a protected plan's typed name cannot pass a failing check.
	p := rollback()
	p.Protected = true
	c = NewConfirm(p, checks(actions.CheckFail), false)
	for _, r := range "fraud-detector" {
		c, _ = c.Update(runes(string(r)))
	}
	if _, a := c.Update(tea.KeyMsg{Type: tea.KeyEnter}); a == Yes {
		t.Error("typing the name passed a failing check")
	}
}

func TestProtectedTyping(t *testing.T) {
	p := rollback()
	p.Protected = true
	c := NewConfirm(p, checks(actions.CheckPass), false)
	type step struct {
		key   tea.KeyMsg
		typed string
		want  Answer
	}
	steps := []step{
		{runes("y"), "y", Open},
		{tea.KeyMsg{Type: tea.KeyEnter}, "y", Open},
		{tea.KeyMsg{Type: tea.KeyBackspace}, "", Open},
		{tea.KeyMsg{Type: tea.KeyBackspace}, "", Open},
		{runes("fraud-detector"), "fraud-detector", Open}, // a burst or a paste types too
		{runes(" \t"), "fraud-detector", Open},            // spaces never belong to a name
		{runes("x"), "fraud-detectorx", Open},
		{tea.KeyMsg{Type: tea.KeyEnter}, "fraud-detectorx", Open},
		{tea.KeyMsg{Type: tea.KeyCtrlU}, "", Open},
		{runes("FRAUD-DETECTOR"), "FRAUD-DETECTOR", Open},
		{tea.KeyMsg{Type: tea.KeyEnter}, "FRAUD-DETECTOR", Open}, // names are case-sensitive
		{tea.KeyMsg{Type: tea.KeyCtrlU}, "", Open},
		{runes("fraud-detector"), "fraud-detector", Open},
		{tea.KeyMsg{Type: tea.KeyEnter}, "fraud-detector", Yes},
	}
	for i, s := range steps {
		before := c.Typed()
		prev := c
		var a Answer
		c, a = c.Update(s.key)
		if a != s.want || c.Typed() != s.typed {
			t.Fatalf("step %d (%q): typed %q answer %d, want %q %d", i, s.key.String(), c.Typed(), a, s.typed, s.want)
		}
		if prev.Typed() != before {
			t.Fatalf("step %d changed the previous value's text", i)
		}
	}
	if _, a := NewConfirm(p, checks(), false).Update(tea.KeyMsg{Type: tea.KeyEsc}); a != No {
		t.Error("esc does not say no in a protected namespace")
	}
}

func TestTitleAndPhrases(t *testing.T) {
	c := NewConfirm(rollback(), checks(), false)
	if got := c.Title(); got != "Roll back fraud-detector (ml-prod, ctx prod-gke)" {
		t.Errorf("title %q", got)
	}
	p := rollback()
	p.Context = ""
	if got := NewConfirm(p, checks(), false).Title(); got != "Roll back fraud-detector (ml-prod)" {
		t.Errorf("title without a context %q", got)
	}
	cases := []struct {
		r                      actions.Request
		title, doing, question string
	}{
		{actions.Request{Kind: actions.Promote, Name: "a"}, "Promote a", "promoting a", "Promote now?"},
		{actions.Request{Kind: actions.Rollback, Name: "a"}, "Roll back a", "rolling back a", "Roll back now?"},
		{actions.Request{Kind: actions.Rollback, Name: "a", ToPreviousModel: true}, "Roll back a to the previous model", "rolling back a", "Roll back now?"},
		{actions.Request{Kind: actions.Pin, Name: "a"}, "Pin minReplicas of a to 1", "pinning minReplicas of a to 1", "Pin now?"},
		{actions.Request{Kind: actions.Pin, Name: "a", MinReplicas: 3}, "Pin minReplicas of a to 3", "pinning minReplicas of a to 3", "Pin now?"},
		{actions.Request{Kind: actions.Pin, Name: "a", Unpin: true}, "Unpin minReplicas of a", "unpinning minReplicas of a", "Unpin now?"},
		{actions.Request{Kind: "drain\x1b[2J", Name: "a\x07"}, "Drain a", "drain a", "Apply now?"},
	}
	for _, c := range cases {
		p := Describe(c.r)
		if p.Title != c.title || p.Doing != c.doing || p.Question != c.question {
			t.Errorf("%+v: %+v", c.r, p)
		}
	}
}

func TestLinesFitAndKeepWhatMatters(t *testing.T) {
	pre := checks(actions.CheckPass, actions.CheckPass, actions.CheckSkip, actions.CheckWarn, actions.CheckPass, actions.CheckFail, actions.CheckPass)
	p := rollback()
	p.Notes = []string{"a note that explains what the plan does not do, long enough to wrap on a narrow dialog"}
	p.Changes = append(p.Changes, actions.Change{Path: "spec.predictor.model.storageUri", From: "s3://models/fraud/2", To: "s3://models/fraud/1"})
	c := NewConfirm(p, pre, true)
	th := plain()
	for _, w := range []int{17, 30, 50, 76, 96} {
		for h := 1; h <= 30; h++ {
			lines := c.Lines(th, w, h)
			if len(lines) > h {
				t.Fatalf("%dx%d: %d lines", w, h, len(lines))
			}
			for _, l := range lines {
				if text.Width(l) > w {
					t.Fatalf("%dx%d: line of %d cells: %q", w, h, text.Width(l), l)
				}
			}
			all := strings.Join(lines, "\n")
			if h >= 2 && !strings.Contains(all, "blocked") {
				t.Fatalf("%dx%d: the answer line is gone:\n%s", w, h, all)
			}
			// With room for the essentials, the failing and warning
			// checks and the diff are never squeezed out.
			if h >= 16 && w >= 50 {
				for _, s := range []string{"FAIL check5", "warn check3", "20 -> 0", "s3://models/fraud/2 ->", "s3://models/fraud/1"} {
					if !strings.Contains(all, s) {
						t.Errorf("%dx%d lacks %q:\n%s", w, h, s, all)
					}
				}
			}
		}
	}
	// Roomy: every check on its own line with its remedy (not a passing
	// one's), the notes, the conflict banner.
	all := strings.Join(c.Lines(th, 96, 40), "\n")
	for _, s := range []string{"ok   check0: detail of check 0", "skip check2", "-> remedy of check 5", "a note that explains", "changed since the last plan", "(merge, resourceVersion 884213)"} {
		if !strings.Contains(all, s) {
			t.Errorf("roomy dialog lacks %q:\n%s", s, all)
		}
	}
	if strings.Contains(all, "remedy of check 0") || strings.Contains(all, "remedy of check 2") {
		t.Errorf("a passing or skipped check shows a remedy:\n%s", all)
	}
	// Tight: the passing checks fold into one line.
	tight := strings.Join(c.Lines(th, 76, 16), "\n")
	if !strings.Contains(tight, "ok   check0, check1, check2, check4, check6") {
		t.Errorf("passing checks not folded:\n%s", tight)
	}
	if cut := strings.Join(c.Lines(th, 76, 8), "\n"); !strings.Contains(cut, "more than fits") {
		t.Errorf("a cut dialog does not say so:\n%s", cut)
	}
}

func TestPatchDiffWords(t *testing.T) {
	p := rollback()
	p.ResourceVersion = ""
	p.Changes = []actions.Change{
		{Path: "spec.predictor.canaryTrafficPercent", From: "20", ToAbsent: true},
		{Path: "metadata.annotations.mltop/pinned-from", FromAbsent: true, To: "0"},
	}
	all := strings.Join(NewConfirm(p, checks(actions.CheckPass), false).Lines(plain(), 96, 30), "\n")
	for _, s := range []string{"canaryTrafficPercent: 20 -> (removed)   (merge)", "pinned-from: (unset) -> 0"} {
		if !strings.Contains(all, s) {
			t.Errorf("diff lacks %q:\n%s", s, all)
		}
	}
	p.Changes = nil
	if all := strings.Join(NewConfirm(p, checks(), false).Lines(plain(), 96, 30), "\n"); !strings.Contains(all, "no change (merge)") || !strings.Contains(all, "no checks ran") || !strings.Contains(all, "ROLLBACK at 3m") {
		t.Errorf("empty plan:\n%s", all)
	}
}

func TestWrapKeepsNamesWhole(t *testing.T) {
	got := wrap("type fraud-detector and press enter", 20)
	want := []string{"type fraud-detector", "and press enter"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrap = %q, want %q", got, want)
	}
	if got := wrap("abcdefghij klm", 4); strings.Join(got, "|") != "abcd|efgh|ij|klm" {
		t.Errorf("long word: %q", got)
	}
	if got := wrap("", 10); len(got) != 1 || got[0] != "" {
		t.Errorf("empty: %q", got)
	}
}

func TestPinPrompt(t *testing.T) {
	var p PinPrompt
	if p.Value() != 1 {
		t.Errorf("default value %d, want 1", p.Value())
	}
	type step struct {
		key   tea.KeyMsg
		typed string
		res   PinResult
	}
	steps := []step{
		{runes("0"), "", PinTyping}, // no leading zero: pinning to 0 is what the pin prevents
		{runes("x"), "", PinTyping},
		{runes("2"), "2", PinTyping},
		{runes("0"), "20", PinTyping},
		{runes("05"), "200", PinTyping}, // three digits at most
		{tea.KeyMsg{Type: tea.KeyBackspace}, "20", PinTyping},
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("7"), Alt: true}, "20", PinTyping},
		{tea.KeyMsg{Type: tea.KeyCtrlU}, "", PinTyping},
		{runes("4"), "4", PinTyping},
		{tea.KeyMsg{Type: tea.KeyEnter}, "4", PinSet},
	}
	for i, s := range steps {
		var res PinResult
		p, res = p.Update(s.key)
		if p.Typed() != s.typed || res != s.res {
			t.Fatalf("step %d (%q): typed %q result %d, want %q %d", i, s.key.String(), p.Typed(), res, s.typed, s.res)
		}
	}
	if p.Value() != 4 {
		t.Errorf("value %d, want 4", p.Value())
	}
	if _, res := p.Update(runes("u")); res != PinUnset {
		t.Errorf("u answered %d, want unpin", res)
	}
	if q, res := p.Update(tea.KeyMsg{Type: tea.KeyEsc}); res != PinCancelled || q.Typed() != "" {
		t.Errorf("esc answered %d and kept %q", res, q.Typed())
	}
}
