# RIIM: one image for the web server, the workers and beat (docker-compose.yml picks the command).

# Front-end packages from npm, the same lock file as `make setup`.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=riim_site.settings.production \
    MEDIA_ROOT=/data/media \
    RIIM_VAR_DIR=/data/var \
    RIIM_WEIGHTS_DIR=/data/weights \
    RIIM_MODEL_CACHE_DIR=/data/model-cache
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --from=assets /app/node_modules ./node_modules
COPY . .
# Build-time settings only: the real SECRET_KEY, hosts and database come from the environment at run time.
RUN SECRET_KEY=build-only ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 RIIM_VAR_DIR=/tmp/var \
        python manage.py compilemessages --ignore node_modules -v 0 \
    && SECRET_KEY=build-only ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 RIIM_VAR_DIR=/tmp/var \
        python manage.py collectstatic --noinput -v 0 -i '*.map' -i '*.d.ts' -i '*.tsbuildinfo' -i '*.min.js.html' -i '*.node.js' -i '*.node.min.*' -i miniprogram \
    && useradd --create-home --uid 1000 riim \
    && mkdir -p /data/media/models /data/var /data/weights /data/model-cache \
    && chown -R riim:riim /data
USER riim
VOLUME ["/data/media", "/data/media/models", "/data/weights"]
EXPOSE 8000
CMD ["gunicorn", "riim_site.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
