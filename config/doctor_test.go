package config

import (
	"strings"
	"testing"
)

func TestDefaultMatrixIsTheSeedsTable(t *testing.T) {
	rows := Default().Doctor.Compatibility
	if len(rows) != 3 {
		t.Fatalf("%d rows, want the seed's three", len(rows))
	}
	want := []map[string]string{
		{"kfp": "2.3.0", "mlflow": "2.17.x", "kserve": "0.14.x", "kubernetes": "1.28-1.30"},
		{"kfp": "2.2.0", "mlflow": "2.15.x", "kserve": "0.13.x", "kubernetes": "1.27-1.29"},
		{"kfp": "2.1.0", "mlflow": "2.12.x", "kserve": "0.12.x", "kubernetes": "1.26-1.28"},
	}
	for i, text := range rows {
		row, err := ParseCompatRow(text)
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		for comp, spec := range want[i] {
			if got := row.Spec(comp).Text; got != spec {
				t.Errorf("row %d %s = %q, want %q", i, comp, got, spec)
			}
		}
	}
}

func TestVersionSpecMatches(t *testing.T) {
	tests := []struct {
		spec, version string
		match, known  bool
	}{
		{"2.17.x", "2.17.2", true, true},
		{"2.17.x", "2.16.1", false, true},
		{"2.17", "2.17.0", true, true},
		{"2.3.0", "2.3.0", true, true},
		{"2.3.0", "v2.3.0", true, true},
		{"2.3.0", "2.3.1", false, true},
		{"2.3.x", "2.3.1", true, true},
		{"0.14.x", "v0.14.1", true, true},
		{"0.14.x", "v0.13.2", false, true},
		{"1.28-1.30", "v1.30.9-gke.1043002", true, true},
		{"1.28-1.30", "v1.28.0", true, true},
		{"1.28-1.30", "v1.31.0", false, true},
		{"1.28-1.30", "v1.27.15+k3s1", false, true},
		{"2.x", "2.99.1", true, true},
		{"2.17.x", "latest", false, false},
		{"2.17.x", "", false, false},
		{"2.17.x", "2", false, false},
	}
	for _, tt := range tests {
		spec, err := ParseVersionSpec(tt.spec)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		match, known := spec.Matches(tt.version)
		if match != tt.match || known != tt.known {
			t.Errorf("%s matches %q = %v (known %v), want %v (known %v)", tt.spec, tt.version, match, known, tt.match, tt.known)
		}
	}
	var any VersionSpec
	if m, k := any.Matches("1.0.0"); !m || !k || !any.Any() {
		t.Error("the zero spec must accept any version")
	}
}

func TestParseCompatRowRejects(t *testing.T) {
	for row, want := range map[string]string{
		"":                                "is empty",
		"kfp 2.3.0":                       `"kfp" is not component=version`,
		"kfp=":                            `"kfp=" is not component=version`,
		"airflow=2.9":                     `"airflow" is not a component`,
		"kfp=2.3.0 kfp=2.2.0":             "names kfp twice",
		"mlflow=2.17.y":                   `mlflow: "2.17.y" is not a version`,
		"kubernetes=1.30-1.28":            "runs backwards",
		"kserve=x":                        "names no version number",
		"kserve=0.x.1":                    `"0.x.1" is not a version`,
		"kserve=1.2.3.4":                  `"1.2.3.4" is not a version`,
		"kubernetes=1.28-":                `"" is not a version`,
		"kfp=2.3.0 mlflow=2.17.x k8s=1.2": "",
	} {
		_, err := ParseCompatRow(row)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", row, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: error %v, want it to contain %q", row, err, want)
		}
	}
	row, _ := ParseCompatRow("k8s=1.28-1.30")
	if row.Spec(ComponentKubernetes).Text != "1.28-1.30" || !row.Spec(ComponentKFP).Any() {
		t.Errorf("k8s alias or missing component: %+v", row)
	}
}

func TestValidateDoctor(t *testing.T) {
	c := Default()
	c.Doctor.Compatibility = append(c.Doctor.Compatibility, "kfp=2.4 airflow=1")
	c.Doctor.TrackedPipelines = []string{"training", " "}
	ps := problemsOf(t, c.Validate())
	if len(ps) != 2 {
		t.Fatalf("want two problems, got %v", ps)
	}
	if ps[0].Key != "doctor.compatibility" || !strings.Contains(ps[0].Msg, `row 4: "airflow" is not a component`) {
		t.Errorf("compatibility problem %+v", ps[0])
	}
	if ps[1].Key != "doctor.tracked_pipelines" || !strings.Contains(ps[1].Msg, "entry 2 is empty") {
		t.Errorf("tracked pipelines problem %+v", ps[1])
	}
	c = Default()
	c.Doctor.Compatibility = nil // turns the matrix check off
	if err := c.Validate(); err != nil {
		t.Errorf("an empty matrix is valid: %v", err)
	}
}

func TestDoctorRowsFromAFileAreLocated(t *testing.T) {
	cfg, ps, path := loadFile(t, `doctor:
  compatibility:
    - kfp=2.3.0 mlflow=2.17.x
    - kfp=2.2.0 mlflow=2.15
    - kfp=two
  tracked_pipelines: [recommendation-training-pipeline]
`)
	if len(ps) != 1 || ps[0].File != path || ps[0].Line != 5 || !strings.Contains(ps[0].Msg, "row 3") {
		t.Fatalf("problems %v, want one at %s:5", ps, path)
	}
	if len(cfg.Doctor.Compatibility) != 3 || cfg.Doctor.TrackedPipelines[0] != "recommendation-training-pipeline" {
		t.Errorf("doctor %+v", cfg.Doctor)
	}
}
