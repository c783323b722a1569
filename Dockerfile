# calico-bot: one image for `serve`, `worker` and one-shot `check` runs.
# Build stage: a virtual environment with the package and its runtime dependencies only.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/calico-bot
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY checks ./checks
RUN /opt/calico-bot/bin/pip install .

# Runtime stage: the venv, a non-root user, nothing else.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/calico-bot/bin:$PATH PYTHONUNBUFFERED=1
COPY --from=build /opt/calico-bot /opt/calico-bot
RUN useradd --system --uid 10001 --no-create-home calico-bot
USER 10001
ENTRYPOINT ["python", "-m", "bot"]
CMD ["--help"]
