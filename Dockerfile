# syntax=docker/dockerfile:1
#
# Two stages, after uv's Docker integration guide:
#   builder  resolves uv.lock into /app/.venv (dependencies in a layer of their own)
#   runtime  the same Python base with only the venv and the code; no uv, no compilers
# Both stages use the same base image, so the venv's interpreter path holds in the final one.

FROM python:3.11-slim-bookworm AS builder

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv

# Compile bytecode at install time (faster start), copy out of the cache mount instead of
# hard-linking into it, and use the image's interpreter, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0

WORKDIR /app

# Dependencies only: this layer is rebuilt when uv.lock or pyproject.toml change, not when the code does.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --locked --no-install-project --no-dev

# Then the code. `[tool.uv] package = false`: the project is not installed, it runs from /app.
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev \
    && python -m compileall -q --invalidation-mode checked-hash app migrations


FROM python:3.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="service" \
      org.opencontainers.image.description="The reference FastAPI service: API, Arq worker and Alembic migrations." \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-bookworm"

# A fixed numeric id, so `runAsNonRoot` style checks can verify it without reading /etc/passwd.
# The metrics directory: every serving process writes its values there and a scrape adds them up
# (docs/decisions/0072). Empty in every new container; Kubernetes mounts an emptyDir over it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --no-log-init --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin app \
    && install -d -o 10001 -g 10001 -m 0700 /tmp/prometheus-multiproc

WORKDIR /app

# Root-owned and read-only for the process: the dependencies, the migrations and their config.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/alembic.ini /app/alembic.ini
# The version's one home (app/core/version.py reads it); the project is not installed as a package.
COPY --from=builder /app/pyproject.toml /app/pyproject.toml
COPY --from=builder /app/migrations /app/migrations
# The application code belongs to the runtime user only so that `docker compose watch` can sync
# edits into it (Compose writes as the container's user).
COPY --from=builder --chown=10001:10001 /app/app /app/app

ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc

USER 10001:10001

EXPOSE 8000

# slim has no curl: ask /health/live with the standard library; any error or non-2xx exits 1.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=3)"]

# The serving command is the one recorded in docs/decisions (OPS-3). httptools, with the request-head
# size and time limits uvicorn lacks (app/serving.py). --no-proxy-headers: X-Forwarded-For is believed
# only from the proxies in APP_FORWARDED_ALLOW_IPS (docs/security.md), never from whoever connects.
# --no-server-header: the response does not name the server software.
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--loop", "uvloop", "--http", "app.serving:BoundedHttpToolsProtocol", "--no-proxy-headers", "--no-access-log", "--no-server-header", "--timeout-graceful-shutdown", "20"]
