# gmhsc production image: one image for the web app (gunicorn), the Celery worker and Celery beat.
# Build:  docker build -t gmhsc .
# Run:    see docker-compose.yml and the README ("Running the production shape").

# ---- front-end assets: GOV.UK Frontend and axe-core from the pinned npm lockfile --------------
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY scripts/vendor.sh scripts/vendor.sh
RUN mkdir -p static && bash scripts/vendor.sh \
    && cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css.map \
          node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js.map static/vendor/govuk/
# (collectstatic's hashed storage follows the sourceMappingURL comments, so the maps must exist)

# ---- the application ----------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=gmhsc.settings.production \
    LOG_FORMAT=json \
    MEDIA_ROOT=/data/media

# WeasyPrint (PDF exports and board packs) needs Pango and a font; curl is for healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
        fonts-dejavu-core curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system gmhsc && useradd --system --gid gmhsc --home-dir /app gmhsc
WORKDIR /app

# Dependencies first so code changes do not reinstall them (the code itself runs from /app).
COPY pyproject.toml README.md ./
COPY gmhsc/__init__.py gmhsc/__init__.py
RUN mkdir -p localities budgets commissioning boards \
    && touch localities/__init__.py budgets/__init__.py commissioning/__init__.py boards/__init__.py \
    && pip install . \
    && pip uninstall -y gmhsc

COPY . .
COPY --from=assets /src/static/vendor static/vendor
RUN SECRET_KEY=build-only-collectstatic-key-000000000000000000000000000 \
       DATABASE_URL=sqlite:////tmp/build.sqlite3 \
       python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3 \
    && mkdir -p /data/media \
    && chown -R gmhsc:gmhsc /data

USER gmhsc
EXPOSE 8000
VOLUME ["/data/media"]
CMD ["gunicorn", "gmhsc.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--timeout", "120", "--access-logfile", "-", "--forwarded-allow-ips", "*"]
