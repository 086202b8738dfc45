# signet — see README.md. Every target works on a fresh machine with Go
# installed: tools the tests need are installed into bin/tools from the Go
# module proxy.

SHELL       := bash
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE        ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS     := -s -w -X github.com/signet-oci/signet/internal/cli.Version=$(VERSION) \
               -X github.com/signet-oci/signet/internal/cli.Commit=$(COMMIT) \
               -X github.com/signet-oci/signet/internal/cli.Date=$(DATE)
TOOLS       := $(CURDIR)/bin/tools
SEED_TOOLS  := $(CURDIR)/bin/seed-tools

# Pinned versions of the tools the tests run against.
DISTRIBUTION_VERSION := v3.1.2
ORAS_VERSION         := v1.3.6
GORELEASER_VERSION   := v2.15.1
CYCLONEDX_GOMOD_VERSION := v1.10.0
FUZZTIME             ?= 30s

.PHONY: all build test test-unit demo bench conformance docs docs-check lint fuzz tools seed-tools release-check clean

all: build

## build: build bin/signet with the version stamped in
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/signet ./cmd/signet

## test: everything: lint, docs check, unit tests and testscripts under -race,
## the OCI scripts against a real distribution registry, oras interop, and the
## genuine 2021 tools and the notation CLI (bin/seed-tools)
test: tools seed-tools lint docs-check
	./scripts/test.sh

## test-unit: go test -race ./... alone (no external registry or oras)
test-unit:
	$(GO) test -race -count=1 ./...

## demo: the whole prototype walkthrough against the embedded registry
demo: build
	./scripts/demo.sh

## bench: benchmarks and side-by-side comparisons (docs/performance.md)
bench: build tools
	./scripts/bench.sh

## conformance: the OCI distribution-spec conformance suite against the embedded registry
conformance: build
	SIGNET_BIN=$(CURDIR)/bin/signet ./scripts/conformance.sh

## docs: regenerate the CLI reference in docs/cli from the cobra commands
docs:
	$(GO) run ./internal/gendocs docs/cli

## docs-check: fail if docs/cli is not what the commands say
docs-check:
	@tmp=$$(mktemp -d) && $(GO) run ./internal/gendocs $$tmp && \
	if ! diff -r -q $$tmp docs/cli >/dev/null; then \
		diff -r $$tmp docs/cli | head -20; rm -rf $$tmp; \
		echo "docs/cli is stale: run 'make docs' and commit the result"; exit 1; \
	fi; rm -rf $$tmp

## lint: gofmt, go vet, and go.mod/go.sum tidy (go mod tidy -diff)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if ! out=$$($(GO) mod tidy -diff 2>&1); then echo "$$out"; \
		echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result"; exit 1; fi

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## tools: install the pinned distribution registry and oras CLI into bin/tools
tools: $(TOOLS)/registry $(TOOLS)/oras

$(TOOLS)/registry:
	GOBIN=$(TOOLS) $(GO) install github.com/distribution/distribution/v3/cmd/registry@$(DISTRIBUTION_VERSION)

$(TOOLS)/oras:
	GOBIN=$(TOOLS) $(GO) install oras.land/oras/cmd/oras@$(ORAS_VERSION)

## seed-tools: build the genuine tools into bin/seed-tools: the 2021 registry,
## nv2 and nv2-fixed from ../shared/seed-tools (skipped when it is absent),
## docker-generate v0.1.0 and notation v1.3.2 from the Go module proxy
seed-tools:
	./scripts/seed-tools.sh $(SEED_TOOLS)

$(TOOLS)/goreleaser:
	GOBIN=$(TOOLS) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

$(TOOLS)/cyclonedx-gomod:
	GOBIN=$(TOOLS) $(GO) install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$(CYCLONEDX_GOMOD_VERSION)

## release-check: goreleaser check, then a snapshot release into dist/ (every
## archive with its SBOM), then check each archive's contents
## (GORELEASER_FLAGS: extra flags for goreleaser release, e.g. --parallelism 1)
release-check: $(TOOLS)/goreleaser $(TOOLS)/cyclonedx-gomod
	$(TOOLS)/goreleaser check
	PATH="$(TOOLS):$$PATH" $(TOOLS)/goreleaser release --snapshot --clean $(GORELEASER_FLAGS)
	$(GO) run ./internal/releasecheck dist

clean:
	rm -rf bin dist build
