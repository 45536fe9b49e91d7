# The wallet, for people who prefer containers to `make run`. With no settings it runs
# embedded (SQLite, in-process log and pub/sub); with WALLET_KAFKA_BOOTSTRAP,
# WALLET_DATABASE_URL and WALLET_REDIS_URL it serves one role of the split topology
# (`wallet serve --role gateway|consumer|relay`), as docker-compose.yml's profile does.
# `pip install .` brings the engine drivers too: confluent-kafka, psycopg and redis are
# main dependencies, shipped as binary wheels, so the slim image needs no compiler.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY layers ./layers
# The local runtime and the `wallet` command: a package beside the layer, never inside it.
COPY runtime ./runtime
# The runtime loads the handlers from ./functions, as `sam local` would.
COPY functions ./functions
RUN pip install --no-cache-dir . && useradd --create-home wallet && mkdir /data \
    && chown wallet /data
USER wallet
ENV WALLET_HOST=0.0.0.0 WALLET_PORT=8000 WALLET_DATA_DIR=/data
EXPOSE 8000
CMD ["wallet", "serve"]
