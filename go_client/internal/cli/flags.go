package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// globalOptions are the persistent flags every command shares.
type globalOptions struct {
	dbAddr  string
	logAddr string
	token   string
	timeout time.Duration
	headers []string
	tls     bool
	cacert  string
	output  string
}

// envFallbacks names the variable each global flag falls back to, in the
// environment or else the .env file (config.go). Defaults in
// the flag definitions stay the documented ones, so --help shows the real
// default rather than whatever the environment holds (or a secret token).
var envFallbacks = []struct{ flag, env string }{
	{"db-addr", "MERCH_DB_ADDR"},
	{"log-addr", "MERCH_LOG_ADDR"},
	{"token", "MERCH_SERVICE_TOKEN"},
	{"timeout", "MERCH_TIMEOUT"},
	{"tls", "MERCH_TLS"},
	{"cacert", "MERCH_CACERT"},
	{"output", "MERCH_OUTPUT"},
}

func (a *app) addGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	o := &a.opts
	f.StringVar(&o.dbAddr, "db-addr", "127.0.0.1:50051",
		"DB service address host:port; a comma list of replicas is balanced round-robin (env MERCH_DB_ADDR)")
	f.StringVar(&o.logAddr, "log-addr", "127.0.0.1:50052",
		"logging service address host:port, or a comma list of replicas (env MERCH_LOG_ADDR)")
	f.StringVar(&o.token, "token", "",
		"service token, sent as 'authorization: Bearer <token>' (env MERCH_SERVICE_TOKEN; default: the dev token file <state dir>/service_token)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Second,
		"deadline of each call; for logs tail/send it bounds connecting and the final answer (env MERCH_TIMEOUT)")
	f.StringArrayVarP(&o.headers, "header", "H", nil,
		"extra request metadata 'key: value', repeatable (default none)")
	f.BoolVar(&o.tls, "tls", false,
		"use TLS with the system's roots instead of plaintext (env MERCH_TLS; default false)")
	f.StringVar(&o.cacert, "cacert", "",
		"PEM file of the CA that signed the servers' certificates; implies --tls (env MERCH_CACERT; default none)")
	f.StringVarP(&o.output, "output", "o", "text",
		"output format: text for people, json for scripts (protojson, one object per line) (env MERCH_OUTPUT)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return a.resolveGlobals(cmd)
	}
}

// resolveGlobals applies the environment fallbacks and checks the global
// flags once, before any command runs; a bad value is a usage error.
func (a *app) resolveGlobals(cmd *cobra.Command) error {
	flags := cmd.Flags()
	env, err := loadSettings(a.LookupEnv, a.Getwd, a.Executable)
	if err != nil {
		return usageError{err}
	}
	for _, fb := range envFallbacks {
		f := flags.Lookup(fb.flag)
		if f == nil || f.Changed {
			continue
		}
		v, source, ok := env.lookup(fb.env)
		if !ok || v == "" {
			continue
		}
		if err := f.Value.Set(v); err != nil {
			return usageError{fmt.Errorf("%s=%q (from %s): %w", fb.env, v, source, err)}
		}
	}
	if !flags.Changed("token") && a.opts.token == "" {
		// Neither the flag nor a variable: the dev token file the services keep.
		token, _, err := env.serviceToken()
		if err != nil {
			return err
		}
		a.opts.token = token
	}
	if a.opts.output != "text" && a.opts.output != "json" {
		return usageError{fmt.Errorf("--output must be text or json, not %q", a.opts.output)}
	}
	if a.opts.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout must be positive, not %s", a.opts.timeout)}
	}
	md, err := requestMetadata(a.opts.headers, a.opts.token)
	if err != nil {
		return usageError{err}
	}
	a.md = md
	return nil
}

func (a *app) jsonOutput() bool { return a.opts.output == "json" }
