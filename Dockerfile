# syntax=docker/dockerfile:1
# One image per service, from one multi-stage build:
#   docker build --target target   -t attain-target .
#   docker build --target tracking -t attain-tracking .
#   docker build --target review   -t attain-review .
#   docker build --target notify   -t attain-notify .
#   docker build --target gateway  -t attain-gateway .
# Each image also carries the `attain` CLI: Kubernetes runs
# `attain migrate <service>` from it in an init container (k8s/).
# (No Docker engine runs where Attain is developed; this file is kept simple
# and is not built in CI.)

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# BuildKit cache mounts keep the registry and compiled dependencies
# between builds; only changed crates recompile.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
    && mkdir -p /out \
    && cp target/release/attain target/release/attain-target target/release/attain-tracking \
          target/release/attain-review target/release/attain-notify target/release/attain-gateway /out/

FROM debian:bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home attain
USER 10001
ENV APP__SERVER__HOST=0.0.0.0 \
    APP__TELEMETRY__FORMAT=json
WORKDIR /app

FROM runtime AS target
COPY --from=build /out/attain-target /out/attain /app/
EXPOSE 50051
ENTRYPOINT ["/app/attain-target"]

FROM runtime AS tracking
COPY --from=build /out/attain-tracking /out/attain /app/
EXPOSE 50052
ENTRYPOINT ["/app/attain-tracking"]

FROM runtime AS review
COPY --from=build /out/attain-review /out/attain /app/
EXPOSE 50053
ENTRYPOINT ["/app/attain-review"]

FROM runtime AS notify
COPY --from=build /out/attain-notify /out/attain /app/
EXPOSE 50054
ENTRYPOINT ["/app/attain-notify"]

FROM runtime AS gateway
COPY --from=build /out/attain-gateway /out/attain /app/
EXPOSE 50050
ENTRYPOINT ["/app/attain-gateway"]
