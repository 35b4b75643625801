// opsflow-promlint reads Prometheus text exposition on stdin and prints, as JSON, every sample (histograms and
// summaries flattened to their _bucket/_sum/_count series) and the naming problems Prometheus's own linter
// (client_golang's promlint, what `promtool check metrics` runs) finds. A line the official parser rejects
// exits 3 with the parser's message. Built from the Go module proxy by dev/promlint.ts; the metrics tests use it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type sample struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Value  string            `json:"value"`
}

type problem struct {
	Metric string `json:"metric"`
	Text   string `json:"text"`
}

func labels(pairs []*dto.LabelPair, extra ...string) map[string]string {
	out := map[string]string{}
	for _, p := range pairs {
		out[p.GetName()] = p.GetValue()
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

func number(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		fmt.Fprintf(os.Stderr, "parse error: %v\n", err)
		os.Exit(3)
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	samples := []sample{}
	for _, name := range names {
		for _, m := range families[name].GetMetric() {
			switch {
			case m.Counter != nil:
				samples = append(samples, sample{name, labels(m.Label), number(m.Counter.GetValue())})
			case m.Gauge != nil:
				samples = append(samples, sample{name, labels(m.Label), number(m.Gauge.GetValue())})
			case m.Untyped != nil:
				samples = append(samples, sample{name, labels(m.Label), number(m.Untyped.GetValue())})
			case m.Histogram != nil:
				for _, b := range m.Histogram.Bucket {
					samples = append(samples, sample{name + "_bucket", labels(m.Label, "le", number(b.GetUpperBound())), strconv.FormatUint(b.GetCumulativeCount(), 10)})
				}
				samples = append(samples, sample{name + "_sum", labels(m.Label), number(m.Histogram.GetSampleSum())})
				samples = append(samples, sample{name + "_count", labels(m.Label), strconv.FormatUint(m.Histogram.GetSampleCount(), 10)})
			case m.Summary != nil:
				samples = append(samples, sample{name + "_sum", labels(m.Label), number(m.Summary.GetSampleSum())})
				samples = append(samples, sample{name + "_count", labels(m.Label), strconv.FormatUint(m.Summary.GetSampleCount(), 10)})
			}
		}
	}
	found, err := promlint.New(bytes.NewReader(data)).Lint()
	if err != nil {
		fmt.Fprintf(os.Stderr, "lint error: %v\n", err)
		os.Exit(3)
	}
	problems := []problem{}
	for _, p := range found {
		problems = append(problems, problem{p.Metric, p.Text})
	}
	out, _ := json.Marshal(map[string]any{"samples": samples, "problems": problems})
	fmt.Println(string(out))
}
