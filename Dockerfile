# The web service: `python -m skill serve` on hypercorn, the production HTTP server.
# Serve it behind a TLS terminator on port 443 (docs/deploy.md); configure it by environment.
#
#   docker build -t alexa-pushover .
#   docker run -d --name alexa-pushover -p 127.0.0.1:5000:5000 \
#     -e ALEXA_SKILL_ID=amzn1.ask.skill.… -e PUSHOVER_TOKEN=… -e PUSHOVER_USER=… \
#     -v alexa-pushover-data:/data \
#     -v "$PWD/intents.yaml:/config/intents.yaml:ro" -e INTENT_MAP=/config/intents.yaml \
#     alexa-pushover
#
# Pinned to a patch release on a named Debian release: rebuilds are repeatable, and a bump is a
# commit (check Docker Hub's python page for the newest 3.13.x-slim-trixie).
FROM python:3.13.9-slim-trixie

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OUTBOX_PATH=/data/outbox.sqlite3

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY skill/ ./skill/
COPY intents.yaml ./
# Bytecode now, since the app user cannot write it at run time.
RUN python -m compileall -q skill \
 && groupadd --system --gid 10001 skill \
 && useradd --system --uid 10001 --gid skill --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin skill \
 && mkdir -p /data /config \
 && chown skill:skill /data

# A numeric user, so orchestrators can check that it is not root.
USER 10001:10001

# The outbox (OUTBOX_PATH): notifications that wait for a retry survive a restart here.
VOLUME ["/data"]
EXPOSE 5000

# slim has no curl; the standard library asks /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:5000/healthz', timeout=4).status != 200)"]

CMD ["python", "-m", "skill", "serve", "--host", "0.0.0.0", "--port", "5000"]
