# rs-docker inside Docker, for macOS and Windows hosts (see rs-docker.sh).
# The store lives in a volume at /var/lib/rs-docker: overlayfs needs its upper
# and work dirs on a real filesystem, not on the container's own overlay.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv ca-certificates libseccomp2 uidmap fuse-overlayfs catatonit iproute2 \
      netavark aardvark-dns iptables passt slirp4netns \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN python3 -m venv /opt/rs-docker \
 && /opt/rs-docker/bin/pip install --no-cache-dir /src \
 && ln -s /opt/rs-docker/bin/rs-docker /usr/local/bin/rs-docker
VOLUME /var/lib/rs-docker
ENTRYPOINT ["rs-docker"]
CMD ["--help"]
