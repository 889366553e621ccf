FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY backend ./backend
COPY channels ./channels
COPY agent ./agent
COPY policy ./policy
COPY widget ./widget
RUN pip install --no-cache-dir -e . && useradd --system frontdesk
USER frontdesk
EXPOSE 8000
CMD ["frontdesk", "serve"]
