"""Rewrite an rs-docker container's config.json into an OCI bundle config
that crun runs the same way: the crun row "equivalent bundle" of bench/run.

usage: eq_bundle.py CONTAINER_DIR BUNDLE_DIR   (run with rs-docker's python)

Kept from rs-docker's config: process (capabilities, rlimits, no_new_privs,
user, env), linux.seccomp, maskedPaths/readonlyPaths, namespaces (incl.
cgroup), resources, hostname. Changed: the mounts become the full list the
rs-docker runtime mounts (its defaults: /proc, /dev, /dev/pts, /dev/shm,
/dev/mqueue, /sys, /sys/fs/cgroup, then the config's own), minus our "/"
overlay convention; root.path points at BUNDLE_DIR/rootfs (a plain copy of
the unpacked image); the per-container files (hostname, hosts, resolv.conf)
are read from BUNDLE_DIR; our annotations and cgroupsPath are dropped.
"""

from __future__ import annotations

import json
import os
import sys

from rs_docker.runtime import namespaces
from rs_docker.runtime.rootfs import mounts


def convert(config: dict, container_dir: str, bundle_dir: str) -> dict:
    ns = namespaces.plan(config)
    _root, planned = mounts.plan(config, "user" in ns.types, "network" in ns.new,
                                 "cgroup" in ns.new)
    out_mounts = []
    for m in planned:
        source = m.get("source") or ""
        if source.startswith(container_dir + "/"):
            m = {**m, "source": os.path.join(bundle_dir, os.path.relpath(source, container_dir))}
        out_mounts.append(m)
    config = {**config, "mounts": out_mounts,
              "root": {"path": "rootfs", "readonly": bool((config.get("root") or {})
                                                          .get("readonly"))},
              "process": {**config["process"], "args": ["true"], "terminal": False}}
    config.pop("annotations", None)
    config["linux"] = {k: v for k, v in config["linux"].items() if k != "cgroupsPath"}
    return config


def main(container_dir: str, bundle_dir: str) -> None:
    container_dir, bundle_dir = os.path.abspath(container_dir), os.path.abspath(bundle_dir)
    with open(os.path.join(container_dir, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(bundle_dir, "config.json"), "w") as f:
        json.dump(convert(config, container_dir, bundle_dir), f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
