# The Tally API. Needs DATABASE_URL (see docker-compose.yml); without it the image would
# start an embedded PostgreSQL inside the container, which loses its data with the container.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

COPY . /src
RUN pip install /src && rm -rf /src && useradd --create-home --uid 10001 tally
USER tally
WORKDIR /home/tally

EXPOSE 8000
CMD ["tally", "serve", "--host", "0.0.0.0", "--port", "8000"]
