# A small non-root image: dependencies from the hash-locked requirements.lock into a virtualenv, then
# the code. PYTHON_IMAGE is any Debian-based image with Python 3.11 and its venv module (the default,
# or one built from Debian's packages by deploy/container/verify-container.sh where no registry is
# reachable).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN python3 -m venv /opt/venv
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY backend ./backend
COPY channels ./channels
COPY agent ./agent
COPY policy ./policy
COPY widget ./widget
# Installed in place (editable): the code finds alembic.ini, the migrations, the widget and its
# templates beside it, as in a checkout. Our code is compiled here (pip compiled the libraries):
# a read-only image otherwise compiles every module at every start. DATA_DIR holds what the
# processes write (audit archives, backups): a volume in docker-compose.yml.
RUN pip install --no-deps -e . && python3 -m compileall -q backend channels agent policy alembic && useradd --system --uid 10001 frontdesk \
    && mkdir -p /var/lib/frontdesk && chown frontdesk /var/lib/frontdesk
USER frontdesk
ENV ENVIRONMENT=production LOG_FORMAT=json DATA_DIR=/var/lib/frontdesk
EXPOSE 8000
CMD ["frontdesk", "serve", "--host", "0.0.0.0"]
