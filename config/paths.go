package config

import "path/filepath"

// Path is where mltop looks for its configuration file when neither --config
// nor MLTOP_CONFIG names one: $XDG_CONFIG_HOME/mltop/config.yaml, or
// $HOME/.config/mltop/config.yaml when XDG_CONFIG_HOME is unset. It returns ""
// when neither variable is set, which Load treats as "no file".
// env is injected (os.Getenv in production) so tests never read the real
// environment.
func Path(env func(string) string) string {
	dir := xdgDir(env, "XDG_CONFIG_HOME", ".config")
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "mltop", "config.yaml")
}

// StateDir is where mltop keeps what it writes while running (the log file,
// the audit log): $XDG_STATE_HOME/mltop, or $HOME/.local/state/mltop. It
// returns "" when neither variable is set.
func StateDir(env func(string) string) string {
	dir := xdgDir(env, "XDG_STATE_HOME", filepath.Join(".local", "state"))
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "mltop")
}

// LogPath is the log file to write: log_file / --log-file when set, otherwise
// mltop.log in StateDir. It returns "" when there is nowhere to put it.
func (c Config) LogPath(env func(string) string) string {
	if c.LogFile != "" {
		return c.LogFile
	}
	dir := StateDir(env)
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "mltop.log")
}

// xdgDir applies the XDG base directory rule: the variable when it holds an
// absolute path (the spec says relative values must be ignored), otherwise
// $HOME joined with the fallback.
func xdgDir(env func(string) string, variable, homeFallback string) string {
	env = orEmpty(env)
	if dir := env(variable); filepath.IsAbs(dir) {
		return dir
	}
	if home := env("HOME"); home != "" {
		return filepath.Join(home, homeFallback)
	}
	return ""
}

// orEmpty turns a nil environment into an empty one, so a caller that forgot
// to inject os.Getenv gets defaults rather than a nil-function panic.
func orEmpty(env func(string) string) func(string) string {
	if env == nil {
		return func(string) string { return "" }
	}
	return env
}
