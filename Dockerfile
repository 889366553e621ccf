# A small non-root image: dependencies from the hash-locked requirements.lock, then the code.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY backend ./backend
COPY channels ./channels
COPY agent ./agent
COPY policy ./policy
COPY widget ./widget
RUN pip install --no-deps . && useradd --system --uid 10001 frontdesk
USER frontdesk
ENV ENVIRONMENT=production LOG_FORMAT=json
EXPOSE 8000
CMD ["frontdesk", "serve", "--host", "0.0.0.0"]
