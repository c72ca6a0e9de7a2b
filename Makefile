# mltop: a terminal dashboard for the on-call engineers of an ML platform.
# `make demo` runs it on the embedded simulated platform; `make test` runs every test.

GO        ?= go
BIN       := bin/mltop
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# Tools the tests and screenshots need live outside the clone, so a clean
# clone (CI) reuses them instead of rebuilding them every run.
TOOLS_DIR ?= $(HOME)/.cache/mltop/bin
FREEZE    := $(TOOLS_DIR)/freeze
# The sources/prom tests run a real Prometheus server on 127.0.0.1.
export MLTOP_PROMETHEUS ?= $(TOOLS_DIR)/prometheus
SCENARIO  ?= incident
SPEED     ?= 1

export CGO_ENABLED ?= 0

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "mltop make targets:\n"} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/mltop (static, stripped)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mltop

.PHONY: demo
demo: build ## Run the dashboard on the embedded simulated platform (SCENARIO=incident|calm SPEED=1)
	./$(BIN) demo --scenario $(SCENARIO) --speed $(SPEED)

.PHONY: test
test: lint prometheus ## Run every test (installs what the tests need, without root)
	$(GO) test -count=1 ./...

.PHONY: race
race: prometheus ## Run the tests with the race detector
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

.PHONY: bench
bench: prometheus ## Run the benchmarks (render, refresh, fetch) and print their figures
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: lint
lint: ## go vet, gofmt, and the rule that ui/ imports no Kubernetes or Prometheus package
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	@leaks=$$($(GO) list -deps ./ui/... | grep -E '^k8s\.io/|^github\.com/prometheus/' || true); \
	  if [ -n "$$leaks" ]; then echo "ui/ must not depend on Kubernetes or Prometheus packages:"; echo "$$leaks"; exit 1; fi

.PHONY: prometheus
prometheus: ## Install the prometheus binary the sources/prom tests run (no root; cached in ~/.cache/mltop/bin)
	@MLTOP_TOOLS=$(TOOLS_DIR) ./.ci/install-prometheus

$(FREEZE):
	@mkdir -p $(TOOLS_DIR)
	GOBIN=$(TOOLS_DIR) $(GO) install github.com/charmbracelet/freeze@v0.2.2

.PHONY: screenshots
screenshots: build $(FREEZE) ## Regenerate screenshots/*.png from the demo (needs tmux)
	FREEZE=$(FREEZE) MLTOP=$(BIN) ./screenshots/capture.sh

.PHONY: clean
clean: ## Remove build output
	rm -rf bin
