# csml as a container image: `docker build -t cs-ml-service .` then
# `docker run -p 8000:8000 -v $(pwd)/model_store:/app/model_store cs-ml-service`
# (the seed's two commands). docs/DEPLOYMENT.md describes the image, its volume and variables;
# deploy/test-image.sh builds and tests it with podman where no Docker engine is available.
#
# Two stages on Debian 12: the build stage has the -dev packages of scripts/install-deps.sh
# (less the test, benchmark and lint tools) and compiles only the csml target; the runtime
# stage has the shared libraries the binary links (ldd), ca-certificates for an HTTPS CS API,
# curl for the HEALTHCHECK, and no compiler.

# Both stages start from this image. deploy/test-image.sh passes a locally built Debian 12.
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${DEBIAN_IMAGE} AS build
# Keep in step with scripts/install-deps.sh (deploy/validate checks every name is listed there).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libxgboost-dev xgboost libsimdjson-dev libcurl4-openssl-dev libcli11-dev libspdlog-dev \
      libfmt-dev libexpected-dev libh2o-evloop-dev libssl-dev zlib1g-dev libuv1-dev libwslay-dev \
      libzstd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Parallel compile jobs; 0 lets Ninja choose (one per core, plus two).
ARG BUILD_JOBS=0
RUN cmake --preset release -DCSML_BUILD_TESTS=OFF -DCSML_BUILD_BENCH=OFF \
 && if [ "$BUILD_JOBS" -gt 0 ]; then jobs="-j$BUILD_JOBS"; else jobs=""; fi \
 && cmake --build --preset release --target csml -- $jobs \
 && strip --strip-debug -o /usr/local/bin/csml build/release/apps/cli/csml \
 && /usr/local/bin/csml --help >/dev/null

FROM ${DEBIAN_IMAGE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libxgboost0 libsimdjson14 libcurl4 libspdlog1.10 libfmt9 libh2o-evloop0.13 libssl3 libzstd1 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric user, so Kubernetes' runAsNonRoot can check it and a host directory can be
# handed to it (chown 10001) when csml train writes the registry from a container.
RUN groupadd --gid 10001 csml \
 && useradd --uid 10001 --gid csml --home-dir /app --no-create-home --shell /usr/sbin/nologin \
      csml \
 && mkdir -p /app/model_store \
 && chown csml:csml /app /app/model_store
COPY --from=build /usr/local/bin/csml /usr/local/bin/csml
WORKDIR /app
ENV MODEL_DIR=/app/model_store \
    CSML_LOG_LEVEL=info
USER 10001:10001
EXPOSE 8000
# /healthz answers 200 with a model and 503 without one (the registry is empty or the served
# version failed to load), so a container with nothing to serve reports itself unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:8000/healthz || exit 1
# csml is PID 1 and waits for SIGTERM itself (sigwait), so `docker stop` stops it cleanly:
# no new connections, responses in progress finish, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/csml"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
