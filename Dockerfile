# The runner starts this image with its own workdir (/github/workspace) and as root, so there is
# no WORKDIR and no USER here.

# The log scanner is plain C loaded with ctypes; the full image of the same Debian release has
# the compiler, so the slim runtime image needs none.
FROM python:3.11.14-bookworm AS native
COPY drift/native/*.c drift/native/*.h /build/
RUN cc -O2 -std=c11 -shared -fPIC -o /build/_scan.so /build/*.c

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
COPY --from=native /build/_scan.so /action/drift/native/_scan.so

ENTRYPOINT ["python", "/action/entrypoint.py"]
