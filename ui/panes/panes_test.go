package panes

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
)

func TestPipelinesShowsTheRateVerdictCountsAndFailures(t *testing.T) {
	in := fixtureInput(asciiTheme())
	p := paneByID(Pipelines)
	body := p.Body(in, 90, 14)
	mustContain(t, body,
		"success 91.2%  ! < 95%  (52/57 finished)",
		"runs 60  ok 52  fail 5  running 3",
		"duration avg 35m  p95 41m",
		"last 57 runs",
		"failed runs (5), newest first",
		"47m ago OOMKilled: exit code 137 in step train (attempt 1)")
	if got := p.Title(in); got != "PIPELINES 24h" {
		t.Errorf("title %q", got)
	}
	if got := plain(p.Summary(in, 80)); got != "pipelines 91.2%  ! < 95%" {
		t.Errorf("summary %q", got)
	}
	if got := p.Rows(in); got != 5 {
		t.Errorf("rows %d, want the 5 failed runs", got)
	}
	// Short: the numbers stay, the trend and the list go first.
	short := p.Body(in, 90, 3)
	mustContain(t, short, "success 91.2%", "runs 60", "avg 35m")
	mustNotContain(t, short, "last 57 runs", "failed runs")
}

func TestPipelinesFailuresLeadWithTheErrorMessage(t *testing.T) {
	in := fixtureInput(asciiTheme())
	runs := append([]sources.PipelineRun(nil), in.Snap.Pipelines.Runs...)
	for i := range runs {
		if runs[i].State == sources.RunFailed {
			runs[i].Name = "recommendation-training-pipeline-20260310-1" + pad5(i)[3:]
			runs[i].Error = "train-model: OOMKilled (exit code 137)"
		}
	}
	in.Snap.Pipelines.Runs = runs
	p := paneByID(Pipelines)
	// A pane 28 cells wide, as at 120x40: the age and the message, no name.
	narrow := p.Body(in, 28, 14)
	mustContain(t, narrow, "47m train-model: OOMKil", "failed runs (5)")
	mustNotContain(t, narrow, "recommendation")
	for _, l := range strings.Split(plain(narrow), "\n") {
		if strings.Contains(l, "ago") && !strings.Contains(l, "train-model: OOM") {
			t.Errorf("failure row without its message: %q", l)
		}
	}
	// Wide: the run name follows when it fits whole.
	wide := p.Body(in, 120, 14)
	mustContain(t, lineWith(t, wide, "47m ago"), "train-model: OOMKilled (exit code 137)  run recommendation-training-pipeline-20260310-103")
	// Zoomed: each failure gets a second line with its run.
	in.Zoomed = true
	zoomed := plain(p.Body(in, 80, 20))
	if got := strings.TrimSpace(lineWith(t, zoomed, "47m ago")); got != "47m ago train-model: OOMKilled (exit code 137)" {
		t.Errorf("zoomed failure row %q", got)
	}
	mustContain(t, zoomed, "\n          run recommendation-training-pipeline-20260310-103")
	// No message: the name says which run it was.
	in.Zoomed = false
	runs[3].Error = ""
	mustContain(t, p.Body(in, 60, 14), "47m ago no error message  run recommendation-training-")
}

func TestPipelinesAboveTheThresholdSaysOK(t *testing.T) {
	in := fixtureInput(asciiTheme())
	runs := append([]sources.PipelineRun(nil), in.Snap.Pipelines.Runs...)
	for i := range runs {
		if runs[i].State == sources.RunFailed {
			runs[i].State = sources.RunSucceeded
		}
	}
	in.Snap.Pipelines.Runs = runs
	p := paneByID(Pipelines)
	mustContain(t, p.Body(in, 80, 10), "success 100.0% ok", "- no failed runs")
	mustNotContain(t, p.Summary(in, 80), "!")
}

func TestPipelinesCursorWalksTheFailures(t *testing.T) {
	in := fixtureInput(asciiTheme())
	in.Focused = true
	p := paneByID(Pipelines)
	for cursor, name := range map[int]string{0: "(attempt 1)", 2: "(attempt 3)", 4: "(attempt 5)"} {
		in.Cursor = cursor
		// Five lines of figures and one of failures: the list must scroll.
		body := p.Body(in, 80, 6)
		if got := cursorLine(t, body); !strings.Contains(got, name) {
			t.Errorf("cursor %d marks %q, want %s", cursor, got, name)
		}
	}
}

func TestTrainingShowsTheDropAndTheChartWhenThereIsRoom(t *testing.T) {
	p := paneByID(Training)
	in := fixtureInput(asciiTheme())
	body := p.Body(in, 80, 12)
	mustContain(t, body, "cv_f1_mean 0.857  -0.030 vs prev 0.887  ! WARN drop > 0.02",
		"train time 27m (5h ago, train-11)", "cv_f1_mean over the last 12 runs, oldest left")
	mustContain(t, p.Title(in), "TRAINING recommendation-v3 cv_f1_mean")
	if got := plain(p.Summary(in, 80)); got != "cv_f1_mean 0.857 (-0.030) !" {
		t.Errorf("summary %q", got)
	}
	// Small heights drop the chart, keep the numbers.
	short := p.Body(in, 80, 2)
	mustContain(t, short, "0.857", "-0.030", "! WARN", "train time 27m")
	mustNotContain(t, short, "*", "0.838")

	uni := fixtureInput(unicodeTheme())
	if !strings.ContainsAny(p.Body(uni, 80, 12), "⠁⠂⠄⡀⠈⠐⠠⢀⣀⠉⠒⠤") {
		t.Errorf("unicode theme should draw the chart in braille:\n%s", p.Body(uni, 80, 12))
	}
}

func TestTrainingChartLabelsItsScaleAndShowsTheLatestRun(t *testing.T) {
	in := fixtureInput(asciiTheme())
	body := plain(paneByID(Training).Body(in, 40, 14))
	lines := strings.Split(body, "\n")
	chart := lines[3:13]
	// The y axis: the metric with three decimals, top and bottom of the
	// range (the runs span 0.840..0.887, with 5 % headroom).
	if !strings.HasPrefix(chart[0], "0.889|") || !strings.HasPrefix(chart[len(chart)-1], "0.838|") {
		t.Errorf("scale labels:\n%s", body)
	}
	labels := 0
	for _, l := range chart {
		if l[0] != ' ' {
			labels++
			if dot := strings.IndexByte(l, '.'); l[dot+4] != '|' {
				t.Errorf("label without three decimals: %q", l)
			}
		}
	}
	if labels < 3 {
		t.Errorf("%d labels on a 10-line chart:\n%s", labels, body)
	}
	// Every run is a '*'; the newest is in the last column, at the height of
	// 0.857 (a third of the way up from 0.838 to 0.889: the seventh of ten
	// lines).
	if n := strings.Count(strings.Join(chart, "\n"), "*"); n != 12 {
		t.Errorf("%d runs drawn, want 12:\n%s", n, body)
	}
	if got := chart[6]; got[len(got)-1] != '*' {
		t.Errorf("latest run not in the last column of its line:\n%s", body)
	}
	for i, l := range chart {
		if i != 6 && l[len(l)-1] == '*' {
			t.Errorf("latest run on line %d, want 6:\n%s", i, body)
		}
	}
	// A narrow chart keeps the newest runs.
	many := in
	runs := append([]sources.TrainingRun(nil), in.Snap.Training.Runs...)
	for i := 0; i < 100; i++ {
		r := runs[0]
		r.Value = 0.5
		runs = append([]sources.TrainingRun{r}, runs...)
	}
	many.Snap.Training.Runs = runs
	narrow := plain(paneByID(Training).Body(many, 28, 14))
	mustContain(t, narrow, "last 22 runs, oldest left")
	if n := strings.Count(narrow, "*"); n != 22 {
		t.Errorf("%d runs drawn, want the newest 22:\n%s", n, narrow)
	}
	for _, l := range strings.Split(narrow, "\n")[3:13] {
		if strings.HasSuffix(l, "*") {
			return // the newest run ends the chart
		}
	}
	t.Errorf("the newest run is not in the last column:\n%s", narrow)
}

func TestTrainingWithoutADropHasNoWarning(t *testing.T) {
	in := fixtureInput(asciiTheme())
	runs := append([]sources.TrainingRun(nil), in.Snap.Training.Runs...)
	runs[len(runs)-1].Value = 0.880 // 0.007 below the previous: within 0.02
	in.Snap.Training.Runs = runs
	p := paneByID(Training)
	body := p.Body(in, 80, 4)
	mustContain(t, body, "cv_f1_mean 0.880  -0.007 vs prev 0.887")
	mustNotContain(t, body, "WARN")
	mustNotContain(t, p.Summary(in, 80), "!")
}

func TestRegistryShowsWaitsAgainstTheLimitAndTheChampion(t *testing.T) {
	in := fixtureInput(asciiTheme())
	p := paneByID(Registry)
	body := p.Body(in, 80, 8)
	mustContain(t, body, "waiting 3  oldest 30h ! > 24h", "champion v7  recommendation-v3")
	if l := lineWith(t, body, "v8 "); !strings.Contains(l, "! v8") || !strings.Contains(l, "30h") || !strings.Contains(l, "READY") {
		t.Errorf("v8 waits past the limit: %q", l)
	}
	if l := lineWith(t, body, "v9 "); strings.Contains(l, "!") || !strings.Contains(l, "5h") {
		t.Errorf("v9 waits within the limit: %q", l)
	}
	mustContain(t, lineWith(t, body, "v10"), "40m", "PENDING")
	if got := plain(p.Summary(in, 80)); got != "registry 3 waiting, oldest 30h !" {
		t.Errorf("summary %q", got)
	}
	if p.Rows(in) != 3 {
		t.Errorf("rows %d", p.Rows(in))
	}
	in.Focused, in.Cursor = true, 2
	mustContain(t, cursorLine(t, p.Body(in, 80, 3)), "v10")
}

func TestRegistryNamesTheChampionVersionFirst(t *testing.T) {
	in := fixtureInput(asciiTheme())
	reg := in.Snap.Registry
	reg.Promoted = append([]sources.ModelVersion(nil), reg.Promoted...)
	reg.Promoted[0].Model = "recommendation-classifier"
	reg.Waiting = append([]sources.ModelVersion(nil), reg.Waiting...)
	for i := range reg.Waiting {
		reg.Waiting[i].Model = "recommendation-classifier"
	}
	in.Snap.Registry = reg
	p := paneByID(Registry)
	// 28 cells, as at 120x40: the version survives, the name is cut.
	narrow := p.Body(in, 28, 6)
	if got := strings.TrimSpace(lineWith(t, narrow, "champion")); !strings.HasPrefix(got, "champion v7") {
		t.Errorf("champion line %q", got)
	}
	mustContain(t, narrow, "3 waiting, oldest 30h !", "! v8   30h")
	mustContain(t, p.Body(in, 60, 6), "champion v7  recommendation-classifier")
}

func TestRegistryGroupsSeveralModels(t *testing.T) {
	in := fixtureInput(asciiTheme())
	now := fixtureNow()
	in.Snap.Registry = sources.Registry{
		PromotedAlias: "champion",
		Promoted: []sources.ModelVersion{
			{Model: "recommendation-v3", Version: "7"}, {Model: "fraud-model", Version: "3"}, {Model: "churn", Version: "12"},
		},
		// Oldest first across models, as MLflow's adapter orders them.
		Waiting: []sources.ModelVersion{
			{Model: "recommendation-v3", Version: "8", Status: "READY", Created: now.Add(-30 * time.Hour)},
			{Model: "fraud-model", Version: "4", Status: "READY", Created: now.Add(-6 * time.Hour)},
			{Model: "recommendation-v3", Version: "9", Status: "READY", Created: now.Add(-5 * time.Hour)},
		},
	}
	p := paneByID(Registry)
	body := plain(p.Body(in, 60, 10))
	want := []string{
		"waiting 3 in 2 models  oldest 30h ! > 24h",
		"recommendation-v3  champion v7",
		"  ! v8  30h  READY",
		"    v9   5h  READY",
		"fraud-model  champion v3",
		"    v4   6h  READY",
		"churn  champion v12, nothing waiting",
	}
	got := strings.Split(body, "\n")
	for i, w := range want {
		if strings.TrimRight(got[i], " ") != w {
			t.Errorf("line %d: %q, want %q", i, got[i], w)
		}
	}
	// The cursor walks the versions in the order they are listed.
	order := WaitingVersions(in.Snap.Registry)
	if len(order) != 3 || order[1].Version != "9" || order[2].Version != "4" {
		t.Errorf("cursor order %v", order)
	}
	in.Focused, in.Cursor = true, 2
	mustContain(t, cursorLine(t, p.Body(in, 60, 10)), "v4")
	// A short pane scrolls to the cursor.
	mustContain(t, cursorLine(t, p.Body(in, 60, 3)), "v4")
	// Narrow: the model name gives way to its champion.
	mustContain(t, p.Body(in, 24, 10), "recommen...  champion v7", "\nchurn  champion v12")
}

func TestServingTableRowsCarryTheirState(t *testing.T) {
	in := fixtureInput(asciiTheme())
	p := paneByID(Serving)
	body := p.Body(in, 120, 8)
	head := strings.Fields(lineWith(t, body, "NAME"))
	if strings.Join(head, " ") != "NAME MODE READY RPS ERR% P99 5xx 1h" {
		t.Errorf("header %q", head)
	}
	cases := map[string][]string{
		"fraud-detector":            {"X fraud-detector  c20%", "KN", "yes", "100.0", "1.20!", "471ms"},
		"churn-model":               {"X churn-model", "STD", "NO", churnReason},
		"search-ranker":             {"! search-ranker  min=0", "KN", "5.0", "0.00", "100ms"},
		"image-embedder":            {"! image-embedder  oom1 gpu", "12.0", "1.00", "242ms"},
		"recommendation-classifier": {"    recommendation-classifier", "50.0", "0.20", "242ms"},
	}
	for name, wants := range cases {
		mustContain(t, lineWith(t, body, name), wants...)
	}
	if got := p.Title(in); got != "SERVING ml-prod 5 services" {
		t.Errorf("title %q", got)
	}
	mustContain(t, p.Summary(in, 80), "serving 5 services: X 2 CRIT ! 2 WARN")
}

func TestServingColumnsShrinkWithWidth(t *testing.T) {
	in := fixtureInput(asciiTheme())
	p := paneByID(Serving)
	header := func(w int) string { return strings.Join(strings.Fields(lineWith(t, p.Body(in, w, 7), "NAME")), " ") }
	for w, want := range map[int]string{
		120: "NAME MODE READY RPS ERR% P99 5xx 1h",
		63:  "NAME MODE READY RPS ERR% P99 5xx 1h",
		62:  "NAME MODE READY RPS ERR% P99",
		51:  "NAME READY RPS ERR% P99",
		46:  "NAME READY ERR% P99",
		38:  "NAME ERR% P99",
		24:  "NAME ERR%",
	} {
		if got := header(w); got != want {
			t.Errorf("width %d: header %q, want %q", w, got, want)
		}
	}
}

func TestServingFilterNarrowsTheRowsAndTheTitle(t *testing.T) {
	in := fixtureInput(asciiTheme())
	in.Filter = "FRAUD"
	rows := VisibleServices(in.Snap, in.Filter)
	if len(rows) != 1 || rows[0].Name != "fraud-detector" {
		t.Fatalf("filter FRAUD gave %v", rows)
	}
	p := paneByID(Serving)
	if got := p.Title(in); got != "SERVING ml-prod 1/5 services filter: FRAUD" {
		t.Errorf("title %q", got)
	}
	body := p.Body(in, 80, 6)
	mustContain(t, body, "fraud-detector")
	mustNotContain(t, body, "churn-model")
	if p.Rows(in) != 1 {
		t.Errorf("rows %d", p.Rows(in))
	}
	in.Filter = "nothing-like-it"
	mustContain(t, p.Body(in, 80, 4), `no service name contains "nothing-like-it"`)
}

func TestVisibleServicesOrderIsNamespaceThenName(t *testing.T) {
	snap := fixtureSnapshot()
	all := VisibleServices(snap, "")
	var names []string
	for _, r := range all {
		names = append(names, r.Name)
	}
	want := "churn-model fraud-detector image-embedder recommendation-classifier search-ranker"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("order %q, want %q", got, want)
	}

	// An unordered snapshot is sorted on a copy; the snapshot is left alone.
	shuffled := snap
	shuffled.Serving = []sources.ServiceRow{snap.Serving[4], snap.Serving[0], snap.Serving[2]}
	shuffled.Serving[0].Namespace = "a-team"
	got := VisibleServices(shuffled, "")
	if got[0].Namespace != "a-team" || got[1].Name != "churn-model" || got[2].Name != "image-embedder" {
		t.Errorf("sorted %v", got)
	}
	if shuffled.Serving[1].Name != "churn-model" || shuffled.Serving[0].Name != "search-ranker" {
		t.Errorf("the snapshot was reordered")
	}
	if n := len(VisibleServices(snap, "-")); n != 5 {
		t.Errorf("a filter every name matches kept %d rows", n)
	}
}

// manyServices is a snapshot of n services cycling through the fixture's five.
func manyServices(n int) sources.Snapshot {
	snap := fixtureSnapshot()
	rows := make([]sources.ServiceRow, n)
	for i := range rows {
		r := snap.Serving[i%len(snap.Serving)]
		r.Name = "svc-" + pad5(i)
		rows[i] = r
	}
	snap.Serving = rows
	return snap
}

func pad5(i int) string { return fmt.Sprintf("%05d", i) }

func TestServingCursorRowStaysVisibleWhenScrolling(t *testing.T) {
	in := fixtureInput(asciiTheme())
	in.Snap = manyServices(500)
	in.Focused = true
	p := paneByID(Serving)
	for _, cursor := range []int{0, 7, 8, 250, 498, 499, 600} {
		in.Cursor = cursor
		want := min(cursor, 499)
		body := p.Body(in, 100, 10)
		marked := cursorLine(t, body)
		if !strings.Contains(marked, "svc-"+pad5(want)) {
			t.Errorf("cursor %d: marked row %q", cursor, marked)
		}
		if cursor >= 8 {
			mustContain(t, lineWith(t, body, "NAME"), "/500")
		}
	}
}

func TestServingMarksTheSelectedServiceWhenNotFocused(t *testing.T) {
	in := fixtureInput(asciiTheme())
	in.Selected = sources.ServiceKey{Namespace: "ml-prod", Name: "search-ranker"}
	mustContain(t, cursorLine(t, paneByID(Serving).Body(in, 80, 8)), "search-ranker")
}

func TestServingHighlightsTheCursorRowInColour(t *testing.T) {
	in := fixtureInput(colourTheme())
	in.Focused, in.Cursor = true, 1
	body := paneByID(Serving).Body(in, 80, 8)
	var row string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(plain(l), "fraud-detector") {
			row = l
		}
	}
	if !strings.Contains(row, "\x1b[7m") {
		t.Errorf("cursor row is not reversed: %q", row)
	}
	if !strings.HasPrefix(plain(row), "▸") {
		t.Errorf("cursor row has no cursor glyph: %q", plain(row))
	}
}

func TestInfraShowsGaugesAndOOMKills(t *testing.T) {
	in := fixtureInput(asciiTheme())
	p := paneByID(Infra)
	body := p.Body(in, 100, 8)
	mustContain(t, body, "GPU util  max 73%  mean 36%",
		"gpu-node-1/0 [###############.....]  73%  mem 12.0/40.0G  image-embedder-predictor-7f9c6d-xk2p4",
		"gpu-node-1/1 [....................]   0%  mem 0.0/40.0G",
		"mean util 1h ",
		"OOM 24h: 1 ! > 0  2h ago image-embedder image-embedder-predictor-7f9c6d-xk2p4")
	if got := plain(p.Summary(in, 80)); got != "gpu max 73%  OOM 1 !" {
		t.Errorf("summary %q", got)
	}
	mustContain(t, p.Title(in), "INFRA 2 GPUs")
	// One line: the OOM count is what alerts, so it is what stays.
	mustContain(t, p.Body(in, 100, 1), "OOM 24h: 1")
}

// withGPUs returns in with the given GPUs in place of the fixture's.
func withGPUs(in Input, gpus ...sources.GPU) Input {
	in.Snap.Infra.GPUs = gpus
	return in
}

func TestInfraGPULabelsAreNeverCut(t *testing.T) {
	fleet := []sources.GPU{
		{Node: "gpu-node-a", Device: "0", Pod: "image-embedder-predictor-00003-deployment-sj", Util: 66, MemUsedMB: 22 * 1024, MemTotMB: 80 * 1024},
		{Node: "gpu-node-a", Device: "1", Util: 63},
		{Node: "gpu-node-b", Device: "0", Util: 0},
		{Node: "gpu-node-b", Device: "1", Util: 0},
	}
	in := withGPUs(fixtureInput(asciiTheme()), fleet...)
	p := paneByID(Infra)
	// 28 cells, as at 120x40: the bar shrinks so the whole name fits.
	body := p.Body(in, 28, 8)
	mustContain(t, body, "gpu-node-a/0 [#####...]  66%", "gpu-node-b/1 [........]   0%")
	mustNotContain(t, body, "gpu-node...")
	// Narrower still: the shared "gpu-node-" goes, and a line names it.
	narrow := p.Body(in, 20, 8)
	mustContain(t, narrow, "a/0 [######...]  66%", "b/1 [.........]   0%", "nodes gpu-node-*")
	// Wide: memory in a column, then the pod using the GPU.
	mustContain(t, p.Body(in, 120, 8), "gpu-node-a/0 [#############.......]  66%  mem 22.0/80.0G  image-embedder-predictor-00003-deployment-sj")
	if got := commonNodePrefix(fleet[:1]); got != "gpu-node-" {
		t.Errorf("one node: prefix %q", got)
	}
	if got := commonNodePrefix([]sources.GPU{{Node: "alpha"}, {Node: "beta"}}); got != "" {
		t.Errorf("nothing shared: prefix %q", got)
	}
	if got := commonNodePrefix([]sources.GPU{{Node: "gpu-1"}, {Node: "gpu-1-big"}}); got != "gpu-" {
		t.Errorf("the prefix ends at a separator: %q", got)
	}
}

func TestInfraClampsOddUtilisation(t *testing.T) {
	in := withGPUs(fixtureInput(asciiTheme()),
		sources.GPU{Node: "n1", Device: "0", Util: math.NaN()},
		sources.GPU{Node: "n1", Device: "1", Util: -5},
		sources.GPU{Node: "n1", Device: "2", Util: 250},
		sources.GPU{Node: "n1", Device: "3", Util: math.Inf(1)},
	)
	p := paneByID(Infra)
	body := p.Body(in, 40, 8)
	mustContain(t, body,
		"n1/0 [....................]    -",
		"n1/1 [....................]   0%",
		"n1/2 [####################] 100%",
		"n1/3 [####################] 100%",
		"GPU util  max 100%  mean 67%")
	mustNotContain(t, body, "NaN", "250", "-5", "Inf")
	if got := plain(p.Summary(in, 80)); !strings.HasPrefix(got, "gpu max 100%") {
		t.Errorf("summary %q", got)
	}
	// No GPU reported a number: the figures say so.
	in = withGPUs(in, sources.GPU{Node: "n1", Device: "0", Util: math.NaN()})
	mustContain(t, p.Body(in, 40, 8), "GPU util  max -  mean -")
	mustContain(t, p.Summary(in, 80), "gpu max -")
}

func TestUnicodeThemeUsesItsGlyphs(t *testing.T) {
	in := fixtureInput(unicodeTheme())
	mustContain(t, paneByID(Serving).Body(in, 100, 8), "✗ fraud-detector", "▲ search-ranker", "▁")
	mustContain(t, paneByID(Infra).Body(in, 100, 8), "█░")
	mustContain(t, paneByID(Pipelines).Summary(in, 80), "▲ < 95%")
}
