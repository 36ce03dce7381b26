package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRepo lays out a repository root (its markers: Makefile and proto/) under a
// temporary folder, with the given files (path relative to the root -> content).
func fakeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "repo")
	for path, content := range map[string]string{"Makefile": "", "proto/.keep": "", "go_client/internal/.keep": ""} {
		files[path] = content
	}
	for path, content := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// runIn runs merchctl as if started in folder cwd as the executable exe ("" for none).
func runIn(cwd, exe string, env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	s := Streams{
		In: strings.NewReader(""), Out: &out, Err: &errOut,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Getwd:     func() (string, error) { return cwd, nil },
	}
	if exe != "" {
		s.Executable = func() (string, error) { return exe, nil }
	}
	code := Run(context.Background(), args, s)
	return result{code, out.String(), errOut.String()}
}

func TestServiceTokenLookupOrderFlagEnvDotenvThenStateFile(t *testing.T) {
	f := startFake(t)
	tests := []struct {
		name  string
		files map[string]string // in the repository
		cwd   string            // relative to the repository; "/outside" is a folder outside it
		exe   bool              // run as <repo>/bin/merchctl
		env   map[string]string
		flags []string
		want  string // the authorization metadata sent; "" for none
	}{
		{name: "nothing anywhere sends no token", cwd: ".", want: ""},
		{name: "the state file at the repository root",
			files: map[string]string{".merch/service_token": "from-file\n"}, cwd: "go_client/internal",
			want: "Bearer from-file"},
		{name: ".env wins over the state file",
			files: map[string]string{".merch/service_token": "from-file", ".env": "MERCH_SERVICE_TOKEN=from-dotenv\n"},
			cwd:   "go_client", want: "Bearer from-dotenv"},
		{name: "the environment wins over .env",
			files: map[string]string{".merch/service_token": "from-file", ".env": "MERCH_SERVICE_TOKEN=from-dotenv\n"},
			cwd:   ".", env: map[string]string{"MERCH_SERVICE_TOKEN": "from-env"}, want: "Bearer from-env"},
		{name: "the flag wins over everything",
			files: map[string]string{".merch/service_token": "from-file", ".env": "MERCH_SERVICE_TOKEN=from-dotenv\n"},
			cwd:   ".", env: map[string]string{"MERCH_SERVICE_TOKEN": "from-env"}, flags: []string{"--token", "from-flag"},
			want: "Bearer from-flag"},
		{name: "an empty variable in the environment means the state file",
			files: map[string]string{".merch/service_token": "from-file", ".env": "MERCH_SERVICE_TOKEN=from-dotenv\n"},
			cwd:   ".", env: map[string]string{"MERCH_SERVICE_TOKEN": ""}, want: "Bearer from-file"},
		{name: "a relative MERCH_STATE_DIR in .env is taken from the .env's folder",
			files: map[string]string{"state/service_token": "in-dotenv-state", ".env": "MERCH_STATE_DIR=state\n",
				".merch/service_token": "wrong"},
			cwd: "go_client/internal", want: "Bearer in-dotenv-state"},
		{name: "a relative MERCH_STATE_DIR in the environment is taken from the current folder",
			files: map[string]string{"go_client/st/service_token": "in-env-state", ".env": "MERCH_STATE_DIR=state\n"},
			cwd:   "go_client", env: map[string]string{"MERCH_STATE_DIR": "st"}, want: "Bearer in-env-state"},
		{name: "outside the repository, the executable's repository",
			files: map[string]string{".merch/service_token": "by-exe", "bin/merchctl": ""},
			cwd:   "/outside", exe: true, want: "Bearer by-exe"},
		{name: "outside the repository, the executable's .env",
			files: map[string]string{".merch/service_token": "by-exe", ".env": "MERCH_SERVICE_TOKEN=exe-dotenv\n", "bin/merchctl": ""},
			cwd:   "/outside", exe: true, want: "Bearer exe-dotenv"},
		{name: "an explicit empty flag sends none",
			files: map[string]string{".merch/service_token": "from-file"}, cwd: ".", flags: []string{"--token="}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.files == nil {
				tt.files = map[string]string{}
			}
			root := fakeRepo(t, tt.files)
			cwd := filepath.Join(root, tt.cwd)
			if tt.cwd == "/outside" {
				cwd = t.TempDir()
			}
			exe := ""
			if tt.exe {
				exe = filepath.Join(root, "bin", "merchctl")
			}
			args := append([]string{"greet", "--db-addr", f.addr}, tt.flags...)
			r := runIn(cwd, exe, tt.env, args...)
			if r.code != 0 {
				t.Fatalf("exit %d, err %q", r.code, r.errOut)
			}
			got := strings.Join(f.lastMD.Get("authorization"), ",")
			if got != tt.want {
				t.Errorf("authorization = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAddressesComeFromDotenvAndTheEnvironmentWins(t *testing.T) {
	f := startFake(t)
	root := fakeRepo(t, map[string]string{".env": "MERCH_DB_ADDR=" + f.addr + "\nMERCH_OUTPUT=json\n"})
	r := runIn(root, "", nil, "greet")
	if r.code != 0 || !strings.Contains(r.out, `"message"`) {
		t.Fatalf("address and output from .env: exit %d, out %q, err %q", r.code, r.out, r.errOut)
	}
	r = runIn(root, "", map[string]string{"MERCH_DB_ADDR": "127.0.0.1:1", "MERCH_OUTPUT": "text"}, "greet", "--timeout", "2s")
	if r.code != RPCExitBase+14 {
		t.Fatalf("the environment's address must win over .env: exit %d, out %q, err %q", r.code, r.out, r.errOut)
	}
	r = runIn(root, "", map[string]string{"MERCH_DB_ADDR": "127.0.0.1:1"}, "greet", "--db-addr", f.addr, "-o", "text")
	if r.code != 0 || r.out != "Welcome to the gRPC Service!\n" {
		t.Fatalf("the flag must win over the environment: exit %d, out %q, err %q", r.code, r.out, r.errOut)
	}
}

func TestAMalformedDotenvIsAUsageErrorNamingTheFile(t *testing.T) {
	root := fakeRepo(t, map[string]string{".env": "MERCH_DB_ADDR='unterminated\n"})
	r := runIn(root, "", nil, "greet")
	if r.code != ExitUsage || !strings.Contains(r.errOut, filepath.Join(root, ".env")) {
		t.Fatalf("exit %d, err %q", r.code, r.errOut)
	}
}
