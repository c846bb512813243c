# Consentry server image. Build: docker build -t consentry .   Run: see compose.yaml and docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY consentry ./consentry
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/consentry --create-home consentry

USER consentry
# Listen on every interface of the container; set CONSENTRY_ISSUER to the public https URL.
# The SQLite default suits one container; set CONSENTRY_DATABASE_URL=postgresql+asyncpg://… for several.
ENV CONSENTRY_HOST=0.0.0.0 \
    CONSENTRY_PORT=8080 \
    CONSENTRY_DATA_DIR=/var/lib/consentry \
    CONSENTRY_DATABASE_URL=sqlite+aiosqlite:////var/lib/consentry/consentry.db
VOLUME ["/var/lib/consentry"]
EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/.well-known/openid-configuration', timeout=4)"]

# "serve" migrates and bootstraps (a no-op once done), then runs CONSENTRY_WORKERS processes.
ENTRYPOINT ["consentry"]
CMD ["serve"]
