FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY connectors ./connectors
COPY manage.py ./
RUN pip install --no-cache-dir .
RUN useradd --create-home gateway && mkdir -p /app/var && chown gateway /app/var
USER gateway
EXPOSE 8000
CMD ["gunicorn", "gateway.wsgi:application", "--bind", "0.0.0.0:8000"]
