# cachectl — `make test` is the one test command (README); .ci/run calls it.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PKG      := github.com/cachectl/cachectl
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -X $(PKG)/internal/build.Version=$(VERSION) -X $(PKG)/internal/build.Commit=$(COMMIT) -X $(PKG)/internal/build.Date=$(DATE)
FUZZTIME ?= 30s
GORELEASER := go tool -modfile=tools/go.mod goreleaser

.PHONY: build test test-python test-short lint fuzz bench release-check snapshot clean

build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/cachectl ./cmd/cachectl

# Installs what the tests need (scripts/test-deps.sh: Debian packages, when
# missing and run as root), starts real redis-server/memcached instances on
# free loopback ports, runs the whole suite against them with CACHECTL_REQUIRE_SERVERS=1 (a missing server
# fails instead of skipping), and stops them again whatever happens.
# (The assignment is separate from eval so that a failed start stops the recipe:
# `eval "$(cmd)"` alone would succeed with empty output.)
test:
	scripts/test-deps.sh
	servers=$$(scripts/test-servers.sh start); \
	eval "$$servers"; \
	trap 'scripts/test-servers.sh stop' EXIT; \
	export CACHECTL_REQUIRE_SERVERS=1; \
	go vet ./...; \
	go test -race -count=1 ./...; \
	$(MAKE) --no-print-directory test-python

# The ASGI adapter's own tests (Debian's python3-starlette, -uvicorn, -httpx),
# also against the real aiocache and Litestar kept beside the repository
# (THIRDPARTY; its setup.sh prints the PYTHONPATH that imports them). Without
# that folder those tests skip, unless CACHECTL_REQUIRE_SERVERS is set.
THIRDPARTY ?= ../shared/thirdparty/python
test-python:
	if [[ -f $(THIRDPARTY)/setup.sh ]]; then pp=$$(bash $(THIRDPARTY)/setup.sh); eval "$$pp"; fi; \
	/usr/bin/python3 -m unittest discover -s contrib/python/cachectl_asgi/tests -t contrib/python/cachectl_asgi

# Unit tests only: integration tests skip without servers.
test-short:
	go test -count=1 ./...

lint:
	go vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# Runs every Fuzz target of the module for FUZZTIME each, one at a time
# (go test -fuzz takes exactly one target per run).
fuzz:
	@{ grep -rl --include='*_test.go' '^func Fuzz' . || true; } | sort | while read -r file; do \
		dir=$$(dirname "$$file"); \
		for name in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' "$$file" | cut -d' ' -f2); do \
			echo "fuzz $$dir $$name ($(FUZZTIME))"; \
			go test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s "$$dir"; \
		done; \
	done

bench:
	@for s in bench/*.sh; do [ -e "$$s" ] || continue; echo "== $$s"; "$$s"; done

release-check:
	$(GORELEASER) check

snapshot:
	$(GORELEASER) release --snapshot --clean

clean:
	rm -rf bin dist completions manpages
