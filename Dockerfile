# syntax=docker/dockerfile:1
#
# storywire images (docs/deploy.md). Two targets from one build:
#
#   docker build -t storywire:0.1.0 .                                   # `live` (default, the last stage)
#   docker build -t storywire-beam-worker:0.1.0 --target beam-worker .  # Flink/Dataflow SDK harness
#
# live:        `storywire run` (and every other subcommand) as a non-root user, state in /var/lib/storywire,
#              metrics and health on 9464 (/metrics, /healthz, /readyz), a HEALTHCHECK on /healthz.
# beam-worker: Apache Beam's Python SDK container (its /opt/apache/beam/boot entrypoint) with storywire
#              installed: `--sdk_container_image` on Dataflow, the worker pool / DOCKER environment on Flink.
#              Same Beam version as the live image, so it also launches jobs (it carries apache-beam[gcp]).
#
# Base images are pinned to exact tags; pin them by digest in your registry mirror (docs/deploy.md).

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
ARG BEAM_VERSION=2.77.0
ARG BEAM_SDK_IMAGE=apache/beam_python3.11_sdk:${BEAM_VERSION}

# ---- build: wheels for storywire and every dependency, and the live image's virtual environment ----------------
FROM ${PYTHON_IMAGE} AS build
ARG BEAM_VERSION
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# What the wheel is built from (tests/unit/test_packaging.py builds it from the same files). storywire/ holds
# relative links to the three folders beside it; COPY keeps links as links, so they resolve here too.
COPY pyproject.toml README.md ./
COPY storywire/ storywire/
COPY connectors/ connectors/
COPY pipelines/ pipelines/
COPY schemas/ schemas/
# The live image and the Beam workers must run the same Beam release: pin it for the whole resolution.
RUN echo "apache-beam==${BEAM_VERSION}" > /tmp/constraints.txt \
    && pip wheel --constraint /tmp/constraints.txt --wheel-dir /wheels . \
    && python -m venv /opt/storywire \
    && /opt/storywire/bin/pip install --no-index --find-links /wheels --constraint /tmp/constraints.txt storywire

# ---- beam-worker: the SDK harness for Flink and Dataflow -------------------------------------------------------
FROM ${BEAM_SDK_IMAGE} AS beam-worker
ARG BEAM_VERSION
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Into the SDK image's own interpreter (the one its boot program starts); its apache-beam stays as it is.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    echo "apache-beam==${BEAM_VERSION}" > /tmp/constraints.txt \
    && pip install --no-index --find-links /wheels --constraint /tmp/constraints.txt storywire \
    && python -c "import storywire.pipelines.graphs.live, storywire.pipelines.graphs.replay" \
    && groupadd --system --gid 10001 storywire \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/storywire --create-home \
       --shell /usr/sbin/nologin storywire
USER 10001:10001
ENTRYPOINT ["/opt/apache/beam/boot"]

# ---- live: `storywire run` ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS live
ARG BEAM_VERSION
LABEL org.opencontainers.image.title="storywire" \
      org.opencontainers.image.description="Streaming news monitoring on Apache Beam: feeds and WARC archives to stories on Kafka" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.apache.beam.version="${BEAM_VERSION}"
RUN groupadd --system --gid 10001 storywire \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/storywire --no-create-home \
       --shell /usr/sbin/nologin storywire \
    && mkdir -p /var/lib/storywire/state /etc/storywire \
    && chown -R 10001:10001 /var/lib/storywire
COPY --from=build /opt/storywire /opt/storywire
ENV PATH=/opt/storywire/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STORYWIRE__METRICS__PORT=9464
WORKDIR /var/lib/storywire
USER 10001:10001
EXPOSE 9464
# /healthz answers 200 while the fetch dispatcher beats (503 after 30 s without). It is served once the sinks'
# broker was reached and the topics exist, hence the start period. No curl in a slim image: Python asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('STORYWIRE__METRICS__PORT', '9464') + '/healthz', timeout=4)"]
ENTRYPOINT ["storywire"]
CMD ["run", "--config", "/etc/storywire/config.yaml"]
