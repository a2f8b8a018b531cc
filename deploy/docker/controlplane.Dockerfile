# syntax=docker/dockerfile:1
# The control plane: admin console, admin API, TLS ask endpoint, Stripe
# platform webhook, and the job system (docs/deploy.md). Build from the
# repository root:
#
#   docker build -f deploy/docker/controlplane.Dockerfile -t storefleet/controlplane .
#
# Backups, verifications, restores and moves run pg_dump and pg_restore, so
# the image carries the PostgreSQL 15 client tools (they must be at least as
# new as the database servers: follow the servers' major version). The dumps
# stream through pipes into MinIO and back: no temporary files, so the root
# filesystem can be read-only. Runs as the numeric non-root user 10001.

# Keep in step with the go directive of go.mod (deploy/deploy_test.go checks).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/controlplane ./controlplane

FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends postgresql-client-15 ca-certificates curl tzdata \
	&& rm -rf /var/lib/apt/lists/* \
	&& groupadd --system --gid 10001 storefleet \
	&& useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin storefleet
# pg_dump and pg_restore straight from PostgreSQL 15, not through
# Debian's version-picking wrapper.
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
	STOREFLEET_CONTROLPLANE_ADDR=:8090 \
	STOREFLEET_LOG_FORMAT=json
COPY --from=build /out/controlplane /usr/local/bin/controlplane
EXPOSE 8090
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
	CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8090/healthz"]
ENTRYPOINT ["/usr/local/bin/controlplane"]
