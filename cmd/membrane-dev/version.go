package main

import (
	"fmt"

	"github.com/membrane-dev/membrane-dev/runtime"
	"github.com/spf13/cobra"
)

func init() {
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version of membrane-dev and of its runtime",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "membrane-dev %s (runtime %s)\n", runtime.Version, runtime.Version)
			return nil
		},
	})
}
