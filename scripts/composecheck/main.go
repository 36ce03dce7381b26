// Command composecheck validates a Compose file with compose-go, the library
// Docker Compose itself uses to load files: schema, interpolation, anchors,
// depends_on conditions. It needs no Docker engine. Prints the services.
//
//	go run ./scripts/composecheck compose.yaml [--env-file .env.example]
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 && !(len(args) == 3 && args[1] == "--env-file") {
		return fmt.Errorf("usage: composecheck FILE [--env-file FILE]")
	}
	opts := []cli.ProjectOptionsFn{cli.WithName("merch"), cli.WithOsEnv}
	if len(args) == 3 {
		opts = append(opts, cli.WithEnvFiles(args[2]), cli.WithDotEnv)
	}
	options, err := cli.NewProjectOptions([]string{args[0]}, opts...)
	if err != nil {
		return err
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		return err
	}
	names := project.ServiceNames()
	sort.Strings(names)
	for _, name := range names {
		service := project.Services[name]
		replicas := 1
		if service.Deploy != nil && service.Deploy.Replicas != nil {
			replicas = *service.Deploy.Replicas
		}
		var deps []string
		for dep, cfg := range service.DependsOn {
			deps = append(deps, dep+":"+cfg.Condition)
		}
		sort.Strings(deps)
		health := "none"
		if service.HealthCheck != nil && len(service.HealthCheck.Test) > 0 {
			health = "yes"
		}
		fmt.Printf("%s replicas=%d healthcheck=%s depends_on=[%s]\n", name, replicas, health, strings.Join(deps, ","))
	}
	return nil
}
