# airtable-coda-sync: the Bitbucket Pipelines pipe image.
#
# Real CI (and anywhere Docker Hub is reachable):
#   docker build -t airtable-coda-sync .
# On a machine where only a local base image exists and pip needs a private CA bundle
# (how this is done with ../shared/tools/docker-sandbox is in docs/container.md):
#   mkdir -p build && cp "$PIP_CERT" build/pip-ca.crt
#   docker build --network host --build-arg BASE_IMAGE=local/debian-python:bookworm -t airtable-coda-sync .
#
# The base must be Debian-like with python3 (>= 3.11) and the venv module. Bookworm is named
# explicitly so the git pin below matches the Debian release of the default base.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS base
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
LABEL org.opencontainers.image.title="airtable-coda-sync" \
      org.opencontainers.image.description="Bitbucket Pipelines pipe: sync Airtable work items and Coda docs with your commits, pull requests and releases" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://bitbucket.org/airtable-coda-sync/airtable-coda-sync"
# PYTHONSAFEPATH keeps the step's working directory (the user's clone) off sys.path, so a
# `pipe/` folder in the user's repository can never shadow this image's `pipe` package.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONSAFEPATH=1 \
    LANG=C.UTF-8 \
    PATH=/opt/venv/bin:$PATH
# git: GitPython runs the git binary. The official slim images lack it; the sandbox base has it.
# safe.directory '*': Pipelines mounts a clone owned by another user into this root container,
# and git refuses such a "dubiously owned" repository unless told otherwise in protected
# (system/global) configuration -- the repository's own config is ignored for this setting.
RUN if ! command -v git >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends git=1:2.39.* \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && git config --system --add safe.directory '*'

# ---------------------------------------------------------------------------------------------
FROM base AS build
# build/pip-ca.cr[t] is optional (the glob matches nothing in real CI): a CA bundle for pip when
# the build runs behind a TLS-intercepting proxy. It only exists in this stage, never in the image.
COPY requirements.txt build/pip-ca.cr[t] /tmp/build/
RUN python3 -m venv /opt/venv \
    && if [ -f /tmp/build/pip-ca.crt ]; then export PIP_CERT=/tmp/build/pip-ca.crt; fi \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/build/requirements.txt \
    && /opt/venv/bin/pip uninstall --yes --disable-pip-version-check pip setuptools \
    && site="$(/opt/venv/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && echo /opt/airtable-coda-sync > "$site/airtable-coda-sync.pth" \
    && rm -rf /tmp/build
COPY pipe/ /opt/airtable-coda-sync/pipe/
# Byte-compile once here: at run time PYTHONDONTWRITEBYTECODE stops Python writing .pyc files.
RUN /opt/venv/bin/python3 -m compileall -q /opt/airtable-coda-sync

# ---------------------------------------------------------------------------------------------
FROM base
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/airtable-coda-sync /opt/airtable-coda-sync
# Metadata next to the code, where official pipes keep it (code may read /pipe.yml).
COPY pipe.yml LICENSE README.md /
# No USER: Bitbucket runs pipes as root and a non-root pipe cannot write to the pipe storage
# directories Pipelines creates (BITBUCKET_PIPE_STORAGE_DIR); CyberArk's pipe reverted a non-root
# USER for this reason (Atlassian Community qaq-p/2833653).
# No WORKDIR: Pipelines starts the container with --workdir set to the step's clone directory.
ENTRYPOINT ["python3", "-m", "pipe"]
