package config

import (
	"testing"
	"time"
)

func TestPathAndStateDir(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		wantPath  string
		wantState string
		wantLog   string
	}{
		{"xdg set", map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "XDG_STATE_HOME": "/x/state", "HOME": "/home/u"},
			"/x/cfg/mltop/config.yaml", "/x/state/mltop", "/x/state/mltop/mltop.log"},
		{"home only", map[string]string{"HOME": "/home/u"},
			"/home/u/.config/mltop/config.yaml", "/home/u/.local/state/mltop", "/home/u/.local/state/mltop/mltop.log"},
		// The XDG spec says relative values are invalid and must be ignored.
		{"relative xdg ignored", map[string]string{"XDG_CONFIG_HOME": "cfg", "XDG_STATE_HOME": "state", "HOME": "/home/u"},
			"/home/u/.config/mltop/config.yaml", "/home/u/.local/state/mltop", "/home/u/.local/state/mltop/mltop.log"},
		{"nothing set", nil, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := envOf(tt.env)
			if got := Path(env); got != tt.wantPath {
				t.Errorf("Path = %q, want %q", got, tt.wantPath)
			}
			if got := StateDir(env); got != tt.wantState {
				t.Errorf("StateDir = %q, want %q", got, tt.wantState)
			}
			if got := Default().LogPath(env); got != tt.wantLog {
				t.Errorf("LogPath = %q, want %q", got, tt.wantLog)
			}
		})
	}
	if got := Path(nil); got != "" {
		t.Errorf("Path(nil) = %q, want empty", got)
	}
}

func TestLogPathPrefersSetting(t *testing.T) {
	c := Default()
	c.LogFile = "/var/log/mltop.log"
	if got := c.LogPath(envOf(map[string]string{"HOME": "/home/u"})); got != "/var/log/mltop.log" {
		t.Errorf("LogPath = %q", got)
	}
}

func TestSourceRefresh(t *testing.T) {
	c := Default()
	c.Refresh = 7 * time.Second
	if got := c.SourceRefresh(c.Prometheus.Source); got != 7*time.Second {
		t.Errorf("prometheus (no own refresh) = %v, want the global 7s", got)
	}
	if got := c.SourceRefresh(c.MLflow.Source); got != 30*time.Second {
		t.Errorf("mlflow = %v, want its own 30s", got)
	}
}

func TestFilePathOrder(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	e := env(map[string]string{"MLTOP_CONFIG": "/etc/mltop.yaml", "XDG_CONFIG_HOME": "/x"})
	if p, by := FilePath("/flag.yaml", e); p != "/flag.yaml" || by != "--config" {
		t.Errorf("flag: %q %q", p, by)
	}
	if p, by := FilePath("", e); p != "/etc/mltop.yaml" || by != "MLTOP_CONFIG" {
		t.Errorf("env: %q %q", p, by)
	}
	if p, by := FilePath("", env(map[string]string{"XDG_CONFIG_HOME": "/x"})); p != "/x/mltop/config.yaml" || by != "" {
		t.Errorf("default: %q %q", p, by)
	}
}
