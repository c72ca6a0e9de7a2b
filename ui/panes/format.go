package panes

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/health"
)

// safe is the last defence against hostile text: adapters already clean what
// they publish, but a pane must never be the place where an escape sequence
// from a cluster reaches the terminal. clean.Text is a no-op scan for plain
// ASCII, so calling it on every name costs next to nothing.
func safe(s string) string { return clean.Text(s) }

// oneLine cleans free text (condition messages, run errors) and squeezes runs
// of spaces, which multi-line messages leave behind once newlines are gone.
func oneLine(s string) string {
	s = strings.TrimSpace(safe(s))
	if !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// fmtRate formats requests per second: 0.05, 5.0, 100.0, 1.2k, 3.4M.
func fmtRate(v float64) string {
	switch {
	case v <= 0:
		return "0"
	case v < 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v < 1e6:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
}

// fmtCount formats a whole count with thousands separators: 4,800.
func fmtCount(v float64) string {
	n := int64(math.Round(v))
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtErrCell formats a 0..1 error share for a column already headed "ERR%":
// two decimals below 10 %, one above.
func fmtErrCell(f float64) string {
	p := 100 * f
	if p < 10 {
		return strconv.FormatFloat(p, 'f', 2, 64)
	}
	return strconv.FormatFloat(p, 'f', 1, 64)
}

// fmtLatency formats a latency compactly: 471ms, 1.45s, 12.3s.
func fmtLatency(d time.Duration) string {
	switch {
	case d < time.Second:
		return health.Millis(d)
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
}

// fmtDuration formats a run's wall time: 42s, 34m, 2h05m.
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	h := int(d.Hours())
	return fmt.Sprintf("%dh%02dm", h, int(d.Minutes())-60*h)
}

// ago formats how long before now t was: "2h ago"; "-" when t is unknown.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	return health.Age(d) + " ago"
}

// fmtMetric formats a training metric: three decimals for scores, fewer
// significant digits for larger values such as losses in the hundreds.
func fmtMetric(v float64) string {
	if math.Abs(v) < 10 {
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 5, 64)
}

// fmtDelta formats a signed change of a metric: +0.012, -0.030.
func fmtDelta(v float64) string {
	if math.Abs(v) < 10 {
		return fmt.Sprintf("%+.3f", v)
	}
	return fmt.Sprintf("%+.4g", v)
}

// fmtPct formats a 0..1 fraction with the dashboard's percent rule.
func fmtPct(f float64) string { return health.Percent(f) }

// fmtWholePct formats a threshold such as 0.95 as "95%".
func fmtWholePct(f float64) string {
	return strconv.FormatFloat(100*f, 'f', -1, 64) + "%"
}

// fmtRatio formats a ratio limit such as 2 as "2x".
func fmtRatio(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) + "x" }

// modeShort is the MODE column: KN, STD, MM.
func modeShort(mode string) string {
	switch mode {
	case sources.ModeKnative:
		return "KN"
	case sources.ModeStandard:
		return "STD"
	case sources.ModeModelMesh:
		return "MM"
	}
	return "-"
}

// shortRevision drops the "<service>-predictor-" prefix KServe puts on
// revision names, so "fraud-detector-predictor-00002" reads "00002".
func shortRevision(service, rev string) string {
	rev = safe(rev)
	for _, prefix := range []string{service + "-predictor-", service + "-"} {
		if strings.HasPrefix(rev, prefix) && len(rev) > len(prefix) {
			return rev[len(prefix):]
		}
	}
	return rev
}

// namespaceLabel names the watched namespaces for a title.
func namespaceLabel(ns []string) string {
	switch len(ns) {
	case 0:
		return "all namespaces"
	case 1:
		return safe(ns[0])
	}
	return fmt.Sprintf("%d namespaces", len(ns))
}

// plural returns "1 service" / "2 services".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
