# An image with sopgate installed, for the GitLab template (SOPGATE_IMAGE): a gate job then
# installs nothing and starts in well under a second.
#   docker build -t registry.example.com/platform/sopgate:0.1.0 .
FROM python:3.12-slim
COPY pyproject.toml README.md /src/
COPY sopgate /src/sopgate
RUN python -m pip install --no-cache-dir --disable-pip-version-check uv \
    && python -m uv pip install --system --no-cache --compile-bytecode /src \
    && python -m pip uninstall -y -q uv \
    && rm -rf /src \
    && sopgate --version
