# syntax=docker/dockerfile:1
# The operator's CLI (docs/operations.md), for one-shot runs: `init`,
# `migrate-controlplane`, `migrate-all`, `create-admin`, backups, moves.
# Build from the repository root:
#
#   docker build -f deploy/docker/provisioner.Dockerfile -t storefleet/provisioner .
#   docker run --rm --env-file storefleet.env storefleet/provisioner status
#
# Like the control plane it carries the PostgreSQL 15 client tools (backup,
# restore, verify and move run pg_dump and pg_restore through pipes, without
# temporary files). Runs as the numeric non-root user 10001; a CLI has no
# health to check.

# Keep in step with the go directive of go.mod (deploy/deploy_test.go checks).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/provisioner ./provisioner

FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends postgresql-client-15 ca-certificates tzdata \
	&& rm -rf /var/lib/apt/lists/* \
	&& groupadd --system --gid 10001 storefleet \
	&& useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
		--shell /usr/sbin/nologin storefleet
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
COPY --from=build /out/provisioner /usr/local/bin/provisioner
USER 10001:10001
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/provisioner"]
CMD ["--help"]
