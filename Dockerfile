# The runner starts this image with its own workdir (/github/workspace) and as root, so there is
# no WORKDIR and no USER here.

# The log scanners are loaded with ctypes: plain C (_scan.so), and the text reader's RE2 scanner
# in C++ (_textscan.so, on Debian's libre2). The full image of the same Debian release has the
# compilers, so the slim runtime image needs none, only RE2's shared library.
FROM python:3.11.14-bookworm AS native
# g++ is in the full image already; it is named for builders whose base lacks it. RE2 is
# bookworm's (20220601), not pinned to a Debian revision, whose rebuild suffix (+b1 on amd64) may
# differ on arm64, which the release also builds.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ libre2-dev \
    && rm -rf /var/lib/apt/lists/*
COPY drift/native/*.c drift/native/*.h drift/native/*.cc /build/
RUN cc -O2 -std=c11 -shared -fPIC -o /build/_scan.so /build/*.c \
    && c++ -O2 -std=c++17 -shared -fPIC -o /build/_textscan.so /build/textscan.cc -lre2

FROM python:3.11.14-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONIOENCODING=utf-8 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libre2-9 \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt /action/requirements.txt
RUN pip install --no-cache-dir -r /action/requirements.txt

COPY entrypoint.py /action/entrypoint.py
COPY drift /action/drift
COPY --from=native /build/_scan.so /build/_textscan.so /action/drift/native/

ENTRYPOINT ["python", "/action/entrypoint.py"]
