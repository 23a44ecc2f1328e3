# Everything a fresh Debian machine needs, as root: `make demo`, `make test`.
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages the tests and the demo use (the real registry, busybox for
# images, id-mapping helpers and fuse-overlayfs for rootless, iproute2; gcc,
# libc6-dev and binutils for the probes the security tests compile and to
# check the exec trampoline's machine code against its source; netavark,
# aardvark-dns and iptables for root bridge networking: bridges, veths, NAT,
# published ports and the user networks' DNS server; passt (pasta) and
# slirp4netns for rootless networking: the container's eth0 and its published
# ports, as a user without root).
APT_PACKAGES := docker-registry busybox-static uidmap fuse-overlayfs iproute2 libseccomp2 \
                python3-venv passwd procps catatonit skopeo util-linux gcc libc6-dev binutils \
                binutils-aarch64-linux-gnu netavark aardvark-dns iptables passt slirp4netns

.PHONY: all deps venv test test-pythons unit integration demo lint bench clean

all: test

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@# pasta and slirp4netns open /dev/net/tun as the user: udev makes it 0666 on
	@# a usual Debian; a machine without udev (a VM, a container) leaves it 0600.
	@if [ -c /dev/net/tun ] && [ "$$(stat -c %a /dev/net/tun)" != 666 ]; then \
	  echo "chmod 0666 /dev/net/tun (as udev does)"; chmod 0666 /dev/net/tun; \
	fi

$(BIN)/rs-docker: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

venv: $(BIN)/rs-docker

test: deps venv
	$(BIN)/pytest -q tests

# The unit suite on every newer CPython the machine has (pyproject: >= 3.11).
test-pythons: venv
	bash scripts/test-pythons.sh

unit: venv
	$(BIN)/pytest -q tests/unit

integration: deps venv
	$(BIN)/pytest -q tests/integration

demo: deps venv
	bash scripts/demo.sh

lint: venv
	$(BIN)/ruff check src tests

bench: deps venv
	bash bench/run

clean:
	rm -rf $(VENV) .venv-py*/ build src/*.egg-info
