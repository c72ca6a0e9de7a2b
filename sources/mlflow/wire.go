package mlflow

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// The JSON the REST API 2.0 speaks (mlflow/protos/service.proto and
// model_registry.proto): snake_case names, enums as strings, int64 as JSON
// numbers, empty fields omitted. Only the fields mltop reads are declared.

type getExperimentResponse struct {
	Experiment experiment `json:"experiment"`
}

type experiment struct {
	ExperimentID   string `json:"experiment_id"`
	Name           string `json:"name"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type searchRunsRequest struct {
	ExperimentIDs []string `json:"experiment_ids"`
	RunViewType   string   `json:"run_view_type"`
	MaxResults    int      `json:"max_results"`
	OrderBy       []string `json:"order_by"`
	PageToken     string   `json:"page_token,omitempty"`
}

type searchRunsResponse struct {
	Runs          []run  `json:"runs"`
	NextPageToken string `json:"next_page_token"`
}

type run struct {
	Info runInfo `json:"info"`
	Data runData `json:"data"`
}

type runInfo struct {
	RunID     string `json:"run_id"`
	RunUUID   string `json:"run_uuid"` // deprecated twin of run_id, all some old servers send
	RunName   string `json:"run_name"` // absent before MLflow 1.29; the mlflow.runName tag has it then
	Status    string `json:"status"`
	StartTime millis `json:"start_time"`
	EndTime   millis `json:"end_time"`
}

type runData struct {
	Metrics []metric `json:"metrics"`
	Tags    []tag    `json:"tags"`
}

type metric struct {
	Key   string      `json:"key"`
	Value metricValue `json:"value"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type searchRegisteredModelsResponse struct {
	RegisteredModels []registeredModel `json:"registered_models"`
	NextPageToken    string            `json:"next_page_token"`
}

type registeredModel struct {
	Name    string       `json:"name"`
	Aliases []modelAlias `json:"aliases"`
}

// modelAlias is RegisteredModel.aliases' element: objects there, while
// ModelVersion.aliases is a plain string array.
type modelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type searchModelVersionsResponse struct {
	ModelVersions []modelVersion `json:"model_versions"`
	NextPageToken string         `json:"next_page_token"`
}

type modelVersion struct {
	Name              string   `json:"name"`
	Version           string   `json:"version"` // a string holding an integer, e.g. "3"
	CreationTimestamp millis   `json:"creation_timestamp"`
	CurrentStage      string   `json:"current_stage"`
	Source            string   `json:"source"`
	RunID             string   `json:"run_id"`
	Status            string   `json:"status"`
	Aliases           []string `json:"aliases"`
}

// millis is an int64 timestamp in milliseconds. MLflow writes int64 fields
// as JSON numbers (proto_json_utils._mark_int64_fields); plain protobuf JSON
// writes them as strings, which a proxy re-encoding the answer may do, so
// both are read.
type millis int64

func (m *millis) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		*m = 0
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// Some encoders write large integers in exponent form.
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return fmt.Errorf("timestamp %q is not an integer", b)
		}
		n = int64(f)
	}
	*m = millis(n)
	return nil
}

// metricValue is a metric's double. Protobuf JSON writes non-finite doubles
// as the strings "NaN", "Infinity" and "-Infinity" (a diverged training
// logs NaN), which encoding/json cannot read into a float64.
type metricValue float64

func (v *metricValue) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	switch s {
	case "null":
		*v = metricValue(math.NaN())
		return nil
	case "NaN":
		*v = metricValue(math.NaN())
		return nil
	case "Infinity":
		*v = metricValue(math.Inf(1))
		return nil
	case "-Infinity":
		*v = metricValue(math.Inf(-1))
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("metric value %q is not a number", b)
	}
	*v = metricValue(f)
	return nil
}
