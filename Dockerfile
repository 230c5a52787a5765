# The runner starts this image with its own workdir (/github/workspace) and as root, so there is
# no WORKDIR and no USER here.
FROM python:3.11.14-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONIOENCODING=utf-8 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY requirements.txt /action/requirements.txt
RUN pip install --no-cache-dir -r /action/requirements.txt

COPY entrypoint.py /action/entrypoint.py
COPY drift /action/drift

ENTRYPOINT ["python", "/action/entrypoint.py"]
