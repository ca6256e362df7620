package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/otaconf/otaconf/cases"
	"github.com/otaconf/otaconf/harness"
	"github.com/otaconf/otaconf/harness/scenario"
)

func newListCmd() *cobra.Command {
	var (
		asJSON, scenarios bool
		include, exclude  []string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the conformance cases (or the scenarios) without running them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if scenarios {
				for _, s := range scenario.All {
					fmt.Fprintf(out, "%-18s %s\n", s.Name, s.Text)
				}
				return nil
			}
			sel, err := harness.Select(cases.All(), splitList(include), splitList(exclude))
			if err != nil {
				return usageError(err)
			}
			if asJSON {
				type row struct {
					ID       string   `json:"id"`
					Title    string   `json:"title"`
					Section  string   `json:"section"`
					TestPlan string   `json:"test_plan,omitempty"`
					Level    string   `json:"level"`
					PICS     []string `json:"pics,omitempty"`
					Scenario string   `json:"scenario,omitempty"`
				}
				rows := make([]row, 0, len(sel))
				for _, c := range sel {
					rows = append(rows, row{c.ID, c.Title, c.Section, c.TestPlan, c.Level.String(), c.PICS, string(c.Scenario)})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tLEVEL\tSECTION\tTEST PLAN\tTITLE")
			for _, c := range sel {
				title := c.Title
				if c.Scenario != "" {
					title += " [scenario " + string(c.Scenario) + "]"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Level, c.Section, dash(c.TestPlan), title)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "%d cases\n", len(sel))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&scenarios, "scenarios", false, "list the scenarios a provider can be set up for")
	cmd.Flags().StringSliceVar(&include, "include", nil, "only cases matching these ids, prefixes or globs")
	cmd.Flags().StringSliceVar(&exclude, "exclude", nil, "leave out cases matching these ids, prefixes or globs")
	return cmd
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
