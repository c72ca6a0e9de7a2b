package text

import "testing"

func TestTruncatePrefersWordBoundary(t *testing.T) {
	got := Truncate("recommendation classifier model", 20, "...")
	if got != "recommendation..." {
		t.Fatalf("got %q", got)
	}
	if got := Truncate("recommendation-classifier", 12, "…"); got != "recommendat…" || Width(got) != 12 {
		t.Fatalf("got %q (width %d)", got, Width(got))
	}
	if got := Truncate("short", 10, "…"); got != "short" {
		t.Fatalf("got %q", got)
	}
}

func TestFitAndBlock(t *testing.T) {
	if got := Fit("ab", 4, "…"); got != "ab  " {
		t.Fatalf("Fit = %q", got)
	}
	b := Block("one\ntwo three four", 6, 3, "…")
	want := "one   \ntwo…  \n      "
	if b != want {
		t.Fatalf("Block = %q, want %q", b, want)
	}
}

func TestJoinDropsWholeParts(t *testing.T) {
	if got := Join([]string{"prom ok", "kube ok", "mlflow STALE 3m"}, "  ", 20); got != "prom ok  kube ok" {
		t.Fatalf("Join = %q", got)
	}
}

func TestWidthIgnoresStyling(t *testing.T) {
	if w := Width("\x1b[1mbold\x1b[0m"); w != 4 {
		t.Fatalf("width %d", w)
	}
}
