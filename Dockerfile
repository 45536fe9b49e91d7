# The wallet on the embedded default, for people who prefer containers to `make run`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY layers ./layers
COPY functions ./functions
RUN pip install --no-cache-dir . && useradd --create-home wallet && mkdir /data \
    && chown wallet /data
USER wallet
ENV WALLET_HOST=0.0.0.0 WALLET_PORT=8000 WALLET_DATA_DIR=/data
EXPOSE 8000
CMD ["wallet", "serve"]
