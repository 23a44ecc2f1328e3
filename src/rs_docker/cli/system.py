"""`version` and `info`: what tools that detect Docker read, in Docker's
shapes (docker/cli cli/command/system/version.go and info.go; the API's
types.Version and system.Info), filled honestly: rs-docker is not written
in Go, so GoVersion is empty; GitCommit is the source tree's commit when
it is a git checkout; BuildTime is empty (nothing is built).

`--format json` (or `{{json .}}`) prints the object; another template is
executed on it (`{{.Server.Version}}`)."""

from __future__ import annotations

import os

import click

API_VERSION = "1.43"       # the Engine API whose shapes rs-docker's output follows
MIN_API_VERSION = "1.12"
# Go's GOARCH for the machine names os.uname() gives.
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rs-docker")
    except PackageNotFoundError:
        return ""


def _git_commit() -> str:
    """The short commit of the source tree this package runs from, if it
    is a git checkout (else empty)."""
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def version_info() -> dict:
    """types.Version for Client and Server (one program: the same values)."""
    uname = os.uname()
    arch = GO_ARCH.get(uname.machine, uname.machine)
    version, commit = _version(), _git_commit()
    details = {"ApiVersion": API_VERSION, "Arch": arch, "BuildTime": "",
               "Experimental": "false", "GitCommit": commit, "GoVersion": "",
               "KernelVersion": uname.release, "MinAPIVersion": MIN_API_VERSION, "Os": "linux"}
    return {
        "Client": {"Platform": {"Name": "rs-docker"}, "Version": version,
                   "ApiVersion": API_VERSION, "DefaultAPIVersion": API_VERSION,
                   "GitCommit": commit, "GoVersion": "", "Os": "linux", "Arch": arch,
                   "BuildTime": "", "Context": "default"},
        "Server": {"Platform": {"Name": "rs-docker (daemonless)"},
                   "Components": [{"Name": "Engine", "Version": version, "Details": details}],
                   "Version": version, "ApiVersion": API_VERSION,
                   "MinAPIVersion": MIN_API_VERSION, "GitCommit": commit, "GoVersion": "",
                   "Os": "linux", "Arch": arch, "KernelVersion": uname.release,
                   "BuildTime": ""},
    }


def _echo(fmt: str, obj: dict) -> None:
    from rs_docker.cli import templates

    click.echo(templates.render("{{json .}}" if fmt == "json" else fmt, obj))


@click.command("version")
@click.option("-f", "--format", "fmt", default=None,
              help="'json' or a Go template, e.g. '{{.Server.Version}}'.")
def version(fmt):
    info = version_info()
    if fmt:
        _echo(fmt, info)
        return
    c, s = info["Client"], info["Server"]
    lines = ["Client:", f" Version:           {c['Version']}",
             f" API version:       {c['ApiVersion']}", f" Go version:        {c['GoVersion']}",
             f" Git commit:        {c['GitCommit']}", f" Built:             {c['BuildTime']}",
             f" OS/Arch:           {c['Os']}/{c['Arch']}", f" Context:           {c['Context']}",
             "", f"Server: {s['Platform']['Name']}", " Engine:",
             f"  Version:          {s['Version']}",
             f"  API version:      {s['ApiVersion']} (minimum version {s['MinAPIVersion']})",
             f"  Go version:       {s['GoVersion']}", f"  Git commit:       {s['GitCommit']}",
             f"  Built:            {s['BuildTime']}", f"  OS/Arch:          {s['Os']}/{s['Arch']}",
             "  Experimental:     false"]
    click.echo("\n".join(line.rstrip() for line in lines))


# -- info ----------------------------------------------------------------------------

STORAGE_DRIVERS = {"overlay": "overlay2", "fuse-overlayfs": "fuse-overlayfs", "copy": "vfs"}


def _containers(ctx) -> dict[str, int]:
    from rs_docker.container import lifecycle, pause, state
    from rs_docker.errors import RsDockerError

    counts = {"running": 0, "paused": 0, "stopped": 0}
    for cid in state.list_ids(ctx):
        try:
            record = lifecycle.refresh(ctx, cid)
        except RsDockerError:
            continue
        status = pause.status_of(record)
        counts[status if status in ("running", "paused") else "stopped"] += 1
    return counts


def _storage_driver(root: str) -> str:
    try:
        with open(os.path.join(root, "rootfs-driver")) as f:
            return STORAGE_DRIVERS.get(f.read().strip(), "overlay2")
    except OSError:
        return "overlay2"  # probed at the first run: overlay where the kernel has it


def _cgroup_version() -> str:
    from rs_docker.runtime.cgroups import detect

    with open("/proc/self/mountinfo") as f:
        return "2" if detect.detect(f.read(), "/sys/fs/cgroup").mode == "v2" else "1"


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def system_info(ctx) -> dict:
    """system.Info's fields that mean something here."""
    import socket

    from rs_docker.store.images import ImageIndex

    counts = _containers(ctx)
    uname = os.uname()
    cgroupns = "name=cgroupns"
    security = ["name=seccomp,profile=builtin", *(["name=rootless"] if ctx.rootless else []),
                cgroupns]
    insecure = sorted(ctx.insecure_registries)
    return {
        "ID": "", "Containers": sum(counts.values()), "ContainersRunning": counts["running"],
        "ContainersPaused": counts["paused"], "ContainersStopped": counts["stopped"],
        "Images": len({str(r.config) for r in ImageIndex(ctx).all()}),
        "Driver": _storage_driver(ctx.root), "DriverStatus": [],
        "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True, "OomKillDisable": False,
        "Debug": bool(ctx.debug), "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs",
        "CgroupVersion": _cgroup_version(), "KernelVersion": uname.release,
        "OperatingSystem": _os_name(), "OSType": "linux", "Architecture": uname.machine,
        "NCPU": os.cpu_count() or 1,
        "MemTotal": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "DockerRootDir": str(ctx.root), "Name": socket.gethostname(), "Labels": [],
        "ExperimentalBuild": False, "ServerVersion": _version(),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"],
                           "IndexConfigs": {r: {"Name": r, "Secure": False} for r in insecure},
                           "Mirrors": []},
        "Runtimes": {"rs-docker": {"path": "rs-docker"}}, "DefaultRuntime": "rs-docker",
        "LiveRestoreEnabled": False, "Isolation": "", "InitBinary": "",
        "SecurityOptions": security, "Rootless": bool(ctx.rootless),
    }


@click.command("info")
@click.option("-f", "--format", "fmt", default=None,
              help="'json' or a Go template, e.g. '{{.Driver}}'.")
@click.pass_obj
def info(ctx, fmt):
    data = system_info(ctx)
    if fmt:
        _echo(fmt, data)
        return
    mem = data["MemTotal"] / 1024 ** 3
    lines = ["Client:", f" Version:    {_version()}", " Context:    default",
             f" Debug Mode: {str(data['Debug']).lower()}", "", "Server:",
             f" Containers: {data['Containers']}", f"  Running: {data['ContainersRunning']}",
             f"  Paused: {data['ContainersPaused']}", f"  Stopped: {data['ContainersStopped']}",
             f" Images: {data['Images']}", f" Server Version: {data['ServerVersion']}",
             f" Storage Driver: {data['Driver']}", f" Logging Driver: {data['LoggingDriver']}",
             f" Cgroup Driver: {data['CgroupDriver']}",
             f" Cgroup Version: {data['CgroupVersion']}",
             f" Kernel Version: {data['KernelVersion']}",
             f" Operating System: {data['OperatingSystem']}", f" OSType: {data['OSType']}",
             f" Architecture: {data['Architecture']}", f" CPUs: {data['NCPU']}",
             f" Total Memory: {mem:.4g}GiB", f" Name: {data['Name']}",
             f" Docker Root Dir: {data['DockerRootDir']}",
             f" Debug Mode: {str(data['Debug']).lower()}", " Security Options:"]
    for option in data["SecurityOptions"]:
        parts = dict(p.split("=", 1) for p in option.split(","))
        lines.append(f"  {parts.get('name', option)}")
        lines += [f"   {k.title()}: {v}" for k, v in parts.items() if k != "name"]
    lines.append(" Insecure Registries:")
    lines += [f"  {r}" for r in sorted(data["RegistryConfig"]["IndexConfigs"])]
    lines += ["  127.0.0.0/8", f" Live Restore Enabled: {str(data['LiveRestoreEnabled']).lower()}"]
    click.echo("\n".join(lines))
