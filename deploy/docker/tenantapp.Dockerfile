# syntax=docker/dockerfile:1
# The tenant app: every vendor's storefront, back office and APIs
# (docs/deploy.md). Build from the repository root:
#
#   docker build -f deploy/docker/tenantapp.Dockerfile -t storefleet/tenantapp .
#
# A static binary on distroless, as the numeric non-root user 65532. Run it
# with a read-only root filesystem and a small writable /tmp (a tmpfs or an
# emptyDir): uploads larger than the in-memory limit (feed files up to
# 512 MiB, images over 1 MiB) are spooled there by net/http while the
# request lasts. Nothing else is written. Distroless has no shell or HTTP
# client, so there is no HEALTHCHECK here: the orchestrator probes
# GET /healthz and GET /readyz on port 8080 itself (Caddy's active health
# checks, Kubernetes probes).

# Keep in step with the go directive of go.mod (deploy/deploy_test.go checks).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/tenantapp ./tenantapp

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tenantapp /usr/local/bin/tenantapp
ENV STOREFLEET_TENANT_ADDR=:8080 \
	STOREFLEET_LOG_FORMAT=json
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/tenantapp"]
