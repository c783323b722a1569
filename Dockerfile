# calico-bot: one image for `serve`, `worker` and one-shot `check` runs.
# Reproducible: the base image is pinned by digest (the multi-arch index of python:3.11-slim-bookworm,
# Python 3.11.16, linux/amd64 and linux/arm64) and every Python package is installed from a lock file
# with its sha256 checked (requirements/*.lock, made by scripts/lock from pyproject.toml).
# Refresh the base: `docker buildx imagetools inspect python:3.11-slim-bookworm` (or
# `crane digest python:3.11-slim-bookworm`) prints the index digest; put it in both FROM lines.
# Refresh the Python packages: scripts/lock (see the README, "Dependencies and the lock").

# Build stage: calico-bot's wheel (built with the locked build backend) and a virtual environment
# with the locked runtime dependencies and that wheel, nothing else.
FROM python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/build.lock requirements/runtime.lock ./requirements/
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes -r requirements/build.lock \
    && python -m venv /opt/calico-bot \
    && /opt/calico-bot/bin/pip install --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY checks ./checks
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/calico-bot/bin/pip install --no-deps /wheels/calico_bot-*.whl

# Runtime stage: the venv, a non-root user, nothing else. It runs with a read-only root filesystem
# (deploy/: /tmp is the only writable place), so Python writes no bytecode. Commands:
#   serve   the Slack app (HTTP on $PORT, default 3000: /slack/events, /healthz, /readyz, /metrics)
#   worker  the job runner (needs REDIS_URL; /healthz, /readyz, /metrics on $PORT)
#   check   a one-shot diagnosis, e.g. `docker run -v $PWD/dump:/dump calico-bot check --from-dump /dump`
FROM python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b
ENV PATH=/opt/calico-bot/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/calico-bot /opt/calico-bot
RUN groupadd --system --gid 10001 calico-bot \
    && useradd --system --uid 10001 --gid 10001 --no-create-home calico-bot
USER 10001:10001
EXPOSE 3000
ENTRYPOINT ["python", "-m", "bot"]
CMD ["--help"]
