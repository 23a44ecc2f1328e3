"""Container Device Interface: `--device vendor.com/class=name` and
`--gpus` through the CDI specs a vendor's toolkit writes (the NVIDIA
Container Toolkit: `nvidia-ctk cdi generate`), as Docker does with CDI on.

Specs are read from /etc/cdi and /var/run/cdi (the CDI spec's default
directories; RS_DOCKER_CDI_SPEC_DIRS, colon-separated, replaces them as
containerd's cdi_spec_dirs does). JSON specs only: a YAML spec is named in
the error. Of a device's containerEdits, env, deviceNodes and mounts are
applied; hooks are not run (rs-docker's runtime has no OCI hooks).

Source: cncf-tags/container-device-interface SPEC.md (the spec format, the
"all" device, the order of edits: the spec's own, then the device's).
"""

from __future__ import annotations

import os
import stat

from rs_docker import jsonio
from rs_docker.errors import UsageError
from rs_docker.values import record

DEFAULT_DIRS = ("/etc/cdi", "/var/run/cdi")
SPEC_MAX = 4 << 20


@record
class Edits:
    """What the asked-for devices add to a container: linux.devices
    entries (with "access"), env entries, OCI mounts."""

    devices: tuple = ()
    env: tuple = ()
    mounts: tuple = ()


def spec_dirs() -> tuple[str, ...]:
    text = os.environ.get("RS_DOCKER_CDI_SPEC_DIRS")
    return tuple(d for d in text.split(":") if d) if text else DEFAULT_DIRS


def load_specs(dirs) -> dict[str, list[dict]]:
    """The specs found, by kind (vendor.com/class); later directories win
    on the same kind and device name (SPEC.md: /var/run/cdi over /etc/cdi)."""
    from rs_docker.models.flags import read_regular_file

    out: dict[str, list[dict]] = {}
    for d in dirs:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            path = os.path.join(d, name)
            if name.endswith((".yaml", ".yml")):
                raise UsageError(f"CDI spec {path}: YAML specs are not supported, only JSON "
                                 f"(nvidia-ctk cdi generate --format=json)")
            if not name.endswith(".json"):
                continue
            try:
                doc = jsonio.loads(read_regular_file(path, SPEC_MAX, "CDI spec"), max_depth=32)
            except ValueError as e:
                raise UsageError(f"CDI spec {path}: {e}") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) \
                    or not isinstance(doc.get("devices"), list):
                raise UsageError(f"CDI spec {path}: not a CDI spec (kind, devices)")
            out.setdefault(doc["kind"], []).append(doc)
    return out


def resolve(names, gpus: bool = False) -> Edits:
    """The edits of the CDI devices `names` (kind=name); UsageError naming
    what cannot be resolved."""
    dirs = spec_dirs()
    specs = load_specs(dirs)
    devices, env, mounts = [], [], []
    for qualified in names:
        kind, _, name = qualified.partition("=")
        found = _find(specs.get(kind) or [], name)
        if not found:
            if gpus:
                raise UsageError(f'could not select device driver "" with capabilities: '
                                 f'[[gpu]]: no CDI device {qualified} in {", ".join(dirs)} '
                                 f'(the NVIDIA Container Toolkit writes one: '
                                 f'nvidia-ctk cdi generate)')
            raise UsageError(f"unresolvable CDI devices {qualified}")
        for spec, device in found:
            for edits in (spec.get("containerEdits"), device.get("containerEdits")):
                _apply(edits or {}, devices, env, mounts, qualified)
    return Edits(tuple(devices), tuple(env), tuple(mounts))


def _find(specs: list[dict], name: str) -> list[tuple[dict, dict]]:
    out = []
    for spec in specs:
        for device in spec["devices"]:
            if not isinstance(device, dict):
                continue
            if device.get("name") == name or (name == "all" and not _has(spec, "all")):
                out.append((spec, device))
    return out


def _has(spec: dict, name: str) -> bool:
    return any(isinstance(d, dict) and d.get("name") == name for d in spec["devices"])


def _apply(edits: dict, devices: list, env: list, mounts: list, what: str) -> None:
    for entry in edits.get("env") or []:
        if isinstance(entry, str) and "=" in entry and entry not in env:
            env.append(entry)
    for node in edits.get("deviceNodes") or []:
        devices.append(_device(node, what))
    for m in edits.get("mounts") or []:
        if not isinstance(m, dict) or not str(m.get("containerPath", "")).startswith("/") \
                or not str(m.get("hostPath", "")).startswith("/"):
            raise UsageError(f"CDI device {what}: invalid mount {m!r}")
        options = [o for o in m.get("options") or [] if isinstance(o, str)]
        mounts.append({"destination": m["containerPath"], "type": m.get("type") or "bind",
                       "source": m["hostPath"], "options": options or ["rbind", "rprivate"]})


def _device(node: dict, what: str) -> dict:
    """A deviceNode: its numbers from the spec or from the host node."""
    path = node.get("path") if isinstance(node, dict) else None
    if not isinstance(path, str) or not path.startswith("/dev/"):
        raise UsageError(f"CDI device {what}: invalid device node {node!r}")
    host = node.get("hostPath") or path
    out = {"path": path, "type": node.get("type"), "major": node.get("major"),
           "minor": node.get("minor"), "fileMode": node.get("fileMode"),
           "uid": node.get("uid", 0), "gid": node.get("gid", 0),
           "access": node.get("permissions") or "rwm"}
    if out["major"] is None or out["type"] is None:
        try:
            st = os.stat(host)
        except OSError as e:
            raise UsageError(f"CDI device {what}: {host}: "
                             f"{(e.strerror or str(e)).lower()}") from None
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise UsageError(f"CDI device {what}: {host}: not a device node")
        out.update(type="c" if stat.S_ISCHR(st.st_mode) else "b", major=os.major(st.st_rdev),
                   minor=os.minor(st.st_rdev))
        if out["fileMode"] is None:
            out["fileMode"] = stat.S_IMODE(st.st_mode)
    if out["fileMode"] is None:
        out["fileMode"] = 0o666
    return out
