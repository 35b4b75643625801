// opsflow-compose-config loads a compose file with compose-go (the loader `docker compose config` uses) and prints
// the normalized project as JSON: variables interpolated from the environment, `${VAR:?message}` enforced, YAML
// anchors and merges resolved, defaults filled in. A file the loader rejects exits 1 with the loader's message.
// Built from the Go module proxy by dev/compose-config.ts; test/unit/docker-compose.test.ts uses it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: opsflow-compose-config <compose file>")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions([]string{os.Args[1]}, cli.WithOsEnv, cli.WithName("opsflow"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(string(out))
}
