# Storefleet. `make run` brings up the platform; `make test` runs every test
# against real services. See README.md.
.PHONY: run stop clean test test-services lint build bench fuzz load tools

run: ## bring up the whole platform with demo data and print where to look
	@deploy/local/run.sh

stop: ## stop the local platform's services (after an interrupted make run)
	@if [ -f .data/dev/apps.pid ]; then xargs -r kill < .data/dev/apps.pid 2>/dev/null || true; rm -f .data/dev/apps.pid; fi
	@deploy/local/services.sh stop dev

clean: stop ## stop and delete the local platform's data, .env and binaries (keeps .tools)
	rm -rf .data/dev .env bin

test: ## start throwaway services and run every test with -race
	@deploy/local/test.sh

test-services: ## start the test services and leave them running (for go test by hand)
	@deploy/local/services.sh start test

lint: ## gofmt, go vet, staticcheck (pinned)
	@deploy/local/tools.sh lint
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	go vet ./...
	.tools/bin/staticcheck ./...

build: ## build the three programs into bin/
	go build -o bin/ ./controlplane ./tenantapp ./provisioner

bench: ## run the benchmarks and print the table
	@deploy/local/bench.sh

fuzz: ## long fuzz runs (FUZZTIME per target, default 2m)
	@deploy/local/fuzz.sh

load: ## 200 vendors under a shopping mix for LOAD_DURATION (60s), then a check that nothing was lost; see docs/load.md
	@deploy/local/load.sh

tools: ## install the pinned tools and system packages
	@deploy/local/tools.sh all
