package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/joho/godotenv"
)

// Where merchctl's settings come from, as for every process of the store:
// a flag given on the command line, else the environment, else the .env file,
// else the default. A variable set in the environment wins over .env even when
// empty, as python-dotenv does (it then means the default).
//
// The .env file is the first one found walking up from the current directory
// (as the Python services find theirs); failing that, the one at the root of the
// repository that holds this executable (bin/merchctl, two levels down).
//
// The service token, when no flag or variable gives it, is read from the file
// <state dir>/service_token that the services create in dev. The state dir is
// MERCH_STATE_DIR (a relative path is taken from the current directory when set
// in the environment, from the .env file's folder when set there), else .merch
// at the repository root: the first folder up from the current directory that
// holds .env or the repository's markers (Makefile and proto/), else the
// repository of the executable.

// serviceTokenFile is the file name, in the state dir, of the dev service token.
const serviceTokenFile = "service_token"

// settings are the environment and the .env file, read once per run.
type settings struct {
	lookupEnv func(string) (string, bool)
	dotenv    map[string]string // the .env file's values; nil when there is none
	dotenvDir string            // the folder of that .env file
	cwd       string            // the current directory ("" when unknown)
	root      string            // the repository root ("" when not found)
}

// loadSettings finds and reads the .env file and the repository root.
// getwd and executable may be nil (tests): then neither is looked for.
func loadSettings(lookupEnv func(string) (string, bool), getwd, executable func() (string, error)) (*settings, error) {
	s := &settings{lookupEnv: lookupEnv}
	if s.lookupEnv == nil {
		s.lookupEnv = func(string) (string, bool) { return "", false }
	}
	var exeRoot string
	if executable != nil {
		if exe, err := executable(); err == nil {
			if resolved, err := filepath.EvalSymlinks(exe); err == nil {
				exe = resolved
			}
			if dir := filepath.Dir(filepath.Dir(exe)); isRepoRoot(dir) {
				exeRoot = dir
			}
		}
	}
	if getwd != nil {
		if cwd, err := getwd(); err == nil {
			s.cwd = cwd
			if dir := findUp(cwd, func(d string) bool { return isFile(filepath.Join(d, ".env")) }); dir != "" {
				s.dotenvDir = dir
			}
			s.root = findUp(cwd, func(d string) bool { return isFile(filepath.Join(d, ".env")) || isRepoRoot(d) })
		}
	}
	if s.dotenvDir == "" && exeRoot != "" && isFile(filepath.Join(exeRoot, ".env")) {
		s.dotenvDir = exeRoot
	}
	if s.root == "" {
		s.root = exeRoot
	}
	if s.dotenvDir != "" {
		path := filepath.Join(s.dotenvDir, ".env")
		values, err := godotenv.Read(path)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		s.dotenv = values
	}
	return s, nil
}

// lookup returns a variable's value and where it came from ("env", ".env").
func (s *settings) lookup(name string) (value, source string, ok bool) {
	if v, ok := s.lookupEnv(name); ok {
		return v, "env", true
	}
	if v, ok := s.dotenv[name]; ok {
		return v, ".env", true
	}
	return "", "", false
}

// stateDir is the store's local state folder, "" when it cannot be told.
func (s *settings) stateDir() string {
	if v, source, ok := s.lookup("MERCH_STATE_DIR"); ok && strings.TrimSpace(v) != "" {
		v = strings.TrimSpace(v)
		if filepath.IsAbs(v) {
			return v
		}
		base := s.cwd
		if source == ".env" {
			base = s.dotenvDir
		}
		if base == "" {
			return ""
		}
		return filepath.Join(base, v)
	}
	if s.root == "" {
		return ""
	}
	return filepath.Join(s.root, ".merch")
}

// serviceToken is MERCH_SERVICE_TOKEN from the environment or .env, else the
// content of <state dir>/service_token; "" when none is set anywhere.
func (s *settings) serviceToken() (token, from string, err error) {
	if v, source, ok := s.lookup("MERCH_SERVICE_TOKEN"); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v), source, nil
	}
	dir := s.stateDir()
	if dir == "" {
		return "", "", nil
	}
	path := filepath.Join(dir, serviceTokenFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading the service token: %w (give it with --token or MERCH_SERVICE_TOKEN instead)", err)
	}
	return strings.TrimSpace(string(data)), path, nil
}

// findUp returns the first folder from start upwards for which match is true, or "".
func findUp(start string, match func(dir string) bool) string {
	dir := filepath.Clean(start)
	for {
		if match(dir) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// isRepoRoot tells the store's repository root by its markers.
func isRepoRoot(dir string) bool {
	return isFile(filepath.Join(dir, "Makefile")) && isDir(filepath.Join(dir, "proto"))
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
