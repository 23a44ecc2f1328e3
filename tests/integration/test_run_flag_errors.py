"""Values Docker refuses are refused, each with one line on stderr and
Docker's exit code, never a traceback (issue 10, items 7-10): limits that
would wrap in the kernel, a --tmpfs that is really a bind of the host's
./tmpfs, mounts over /proc, numbers Python reads and Go does not, env files
that never end, JSON that nests without end from a registry or an archive,
and a store the caller may not write. For the dangerous ones the attack is
performed and shown to have no effect; the valid forms keep working.
"""

from __future__ import annotations

import http.server
import io
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from pathlib import Path

import pytest

from tests.conftest import module_rsd
from tests.fixtures import oci, userenv
from tests.fixtures.images import ImageSpec, Layer, busybox_layer, push_image

pytestmark = pytest.mark.root

NOBODY = 65534
SCRIPT = Path(sys.executable).parent / "rs-docker"
NCPU = len(os.sched_getaffinity(0))


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    return module_rsd(tmp_path_factory, "flags", images.busybox.ref)


def refused(proc, text: str, code: int = 125) -> str:
    """proc failed with `code` and one line `rs-docker: ...text...` (after
    the notice Docker prints before an implicit pull)."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines()
             if not line.startswith("Unable to find image ")]
    assert len(lines) == 1 and lines[0].startswith("rs-docker: "), proc.stderr
    assert text in lines[0], lines[0]
    return lines[0]


def no_containers(rs) -> bool:
    d = rs.root / "containers"
    return not d.exists() or not os.listdir(d)


# -- item 7: limits that wrap, --cpus and --platform beyond what Docker takes ------

@pytest.mark.parametrize("flag, value, message", [
    # 16384 PiB is 2**64: the kernel's memparse wrapped it to a 0 limit (exit 137).
    ("--memory", "16384p", 'invalid argument "16384p" for "-m, --memory" flag: '
                           "value out of range"),
    # 2**64 + 64 MiB: wrapped to a 64 MiB limit.
    ("-m", "18446744073776660480", 'invalid argument "18446744073776660480" for '
                                   '"-m, --memory" flag: value out of range'),
    ("--memory-swap", "16384p", 'invalid argument "16384p" for "--memory-swap" flag: '
                                "value out of range"),
    ("-m", "12x", "invalid suffix: 'x'"),
    ("-m", "5m", "Minimum memory limit allowed is 6MB"),
    ("--cpus", "999", f"range of CPUs is from 0.01 to {NCPU}.00, as there are only "
                      f"{NCPU} CPUs available"),
    ("--cpus", str(NCPU + 1), "range of CPUs is from 0.01"),
    ("--cpus", "-1", "range of CPUs is from 0.01"),
    ("--platform", "garbage", '"garbage": unknown operating system or architecture: '
                              "invalid argument"),
    ("--platform", "linux/arm/v7/x", "cannot parse platform specifier"),
])
def test_limits_docker_refuses(rs, busybox, flag, value, message):
    proc = rs("run", "--rm", flag, value, busybox, "echo", "ran")
    refused(proc, message)
    assert "ran" not in proc.stdout
    assert no_containers(rs)


@pytest.mark.parametrize("flags", [
    ["-m", "16384p"], ["--cpus", "nan"], ["--ulimit", "nofile=\u00b2"], ["--platform", "garbage"],
    ["--tmpfs", "/x:rbind"], ["-v", "/tmp:/proc"], ["--env-file", "/dev/zero"],
])
def test_click_and_the_fast_parser_refuse_alike(rs, busybox, flags):
    """`--` sends the argv to click (cli/fast.py leaves it alone): the same
    line, the same code."""
    fast = rs("run", "--rm", *flags, busybox, "true")
    slow = rs("run", "--rm", *flags, "--", busybox, "true")
    refused(fast, "")
    assert (slow.returncode, slow.stderr) == (fast.returncode, fast.stderr)


def test_a_wrapping_memory_limit_is_refused_before_any_pull(rsd):
    """The flags are checked first, as Docker's daemon verifies them before
    it looks for the image: nothing is pulled from the unreachable registry."""
    proc = rsd("run", "--rm", "-m", "16384p", "127.0.0.1:9/nothing/here", "true")
    refused(proc, "value out of range")
    assert "Unable to find image" not in proc.stderr


def test_valid_limits_still_apply(rs, busybox):
    proc = rs("run", "--rm", "-m", "6m", "--cpus", "0.5", "--memory-swap", "-1",
              "--platform", "linux/amd64" if os.uname().machine == "x86_64" else "linux",
              busybox, "echo", "ran")
    assert (proc.returncode, proc.stdout) == (0, "ran\n"), proc.stderr


# -- item 8: --tmpfs options that are not tmpfs options --------------------------

@pytest.mark.parametrize("option", ["rbind", "bind", "remount", "rbind,size=1m", "foo=1",
                                    "size"])
def test_tmpfs_takes_only_tmpfs_options(rs, busybox, tmp_path, option):
    """`--tmpfs /x:rbind` made the runtime bind the relative source "tmpfs":
    the caller's ./tmpfs, read-write, in the container. Run from a directory
    holding one: the run is refused, the host's files neither seen nor
    written."""
    host = tmp_path / "tmpfs"
    host.mkdir()
    (host / "secret").write_text("host file\n")
    proc = subprocess.run([str(rs.script), "--root", str(rs.root), "run", "--rm",
                           "--tmpfs", f"/x:{option}", busybox, "sh", "-c",
                           "cat /x/secret; echo owned > /x/written"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=rs.base_env)
    refused(proc, f'invalid tmpfs option "{option.split(",")[0].split("=")[0]}"')
    assert "host file" not in proc.stdout
    assert sorted(os.listdir(host)) == ["secret"]


def test_tmpfs_size_that_wraps_is_refused(rs, busybox):
    """size=16384p is 2**64 bytes: the kernel's memparse wrapped it to 0, a
    tmpfs without any limit."""
    proc = rs("run", "--rm", "--tmpfs", "/x:size=16384p", busybox, "df", "/x")
    refused(proc, 'invalid value for size: "16384p": value out of range')
    refused(rs("run", "--rm", "--tmpfs", "/x:nr_inodes=16384p", busybox, "true"),
            'invalid value for nr_inodes: "16384p": value out of range')


@pytest.mark.parametrize("spec, message", [
    # 2**64 bytes: the kernel's size= parser wrapped it to 0, an unlimited tmpfs.
    ("type=tmpfs,dst=/x,tmpfs-size=16384p", "invalid value for tmpfs-size: 16384p"),
    ("type=tmpfs,dst=/x,tmpfs-mode=100000000000", "invalid value for tmpfs-mode"),
    ("type=tmpfs,dst=/x,tmpfs-options=rbind", "unexpected key 'tmpfs-options'"),
])
def test_mount_tmpfs_values_docker_refuses(rs, busybox, spec, message):
    refused(rs("run", "--rm", "--mount", spec, busybox, "true"), message)


def test_tmpfs_options_docker_takes_still_apply(rs, busybox):
    proc = rs("run", "--rm", "--tmpfs", "/x:size=64m,mode=1777,noexec", "--mount",
              "type=tmpfs,dst=/y,tmpfs-size=1m,tmpfs-mode=700", busybox, "sh", "-c",
              "grep -E ' /(x|y) ' /proc/mounts; stat -c %a /x /y")
    assert proc.returncode == 0, proc.stderr
    mounts, modes = proc.stdout.splitlines()[:2], proc.stdout.splitlines()[2:]
    x = next(line.split()[3].split(",") for line in mounts if " /x " in line)
    assert "noexec" in x and "size=65536k" in x, x
    assert modes == ["1777", "700"]


# -- item 9: mounts over /proc -------------------------------------------------

@pytest.mark.parametrize("flag, spec, dest", [
    ("-v", "{src}:/proc", "/proc"),
    ("-v", "{src}://proc", "/proc"),
    ("-v", "{src}:/x/../proc", "/proc"),
    ("-v", "{src}:/proc/sys:ro", "/proc/sys"),
    ("-v", "{src}:/proc/self/", "/proc/self"),
    ("--mount", "type=bind,src={src},target=/proc", "/proc"),
    ("--mount", "type=bind,source={src},dst=//proc/sysrq-trigger", "/proc/sysrq-trigger"),
    ("--mount", "type=tmpfs,target=/proc", "/proc"),
    ("--tmpfs", "/proc/1", "/proc/1"),
])
def test_mounts_over_proc_are_refused(rs, busybox, tmp_path, flag, spec, dest):
    """A bind over /proc left the container without procfs (or with a fake
    one: CVE-2019-16884): runc refuses it, so does run."""
    (tmp_path / "status").write_text("fake\n")
    proc = rs("run", "--rm", flag, spec.format(src=tmp_path), busybox,
              "sh", "-c", "cat /proc/self/status; echo ran")
    why = "is not of type proc" if dest == "/proc" else "is inside /proc"
    refused(proc, f'"{dest}" cannot be mounted because it {why}')
    assert "ran" not in proc.stdout


@pytest.fixture(scope="module")
def proc_links(pusher, rs):
    """busybox with /lnproc -> /proc and /lnsys -> proc/sys: destinations
    that reach /proc only once the runtime resolves them in the rootfs."""
    links = Layer.from_entries([oci.symlink("lnproc", "/proc"), oci.symlink("lnsys", "proc/sys")])
    image = push_image(pusher, "flags/proclinks", "latest", ImageSpec([busybox_layer(), links]))
    rs("pull", image.ref, check=True)
    return image.ref


@pytest.mark.parametrize("dest, message", [
    ("/lnproc", '"/proc" cannot be mounted because it is not of type proc'),
    ("/lnsys", '"/proc/sys" cannot be mounted because it is inside /proc'),
    # The runtime's own /dev/fd -> /proc/self/fd, /dev/stdin -> /proc/self/fd/0:
    # followed from the host, procfs's links lead wherever our own fds are.
    ("/dev/fd", "it goes through /proc/self, a link of /proc"),
    ("/dev/stdin", "it goes through /proc/self, a link of /proc"),
])
def test_mounts_reaching_proc_through_symlinks_are_refused(rs, proc_links, tmp_path, dest,
                                                          message):
    (tmp_path / "f").write_text("fake\n")
    src = tmp_path if dest != "/dev/stdin" else tmp_path / "f"
    proc = rs("run", "--rm", "-v", f"{src}:{dest}", proc_links, "sh", "-c",
              "head -1 /proc/self/status; echo ran")
    refused(proc, message)
    assert "ran" not in proc.stdout


def test_lxcfs_style_proc_files_may_still_be_bound(rs, busybox, tmp_path):
    """runc's exceptions (what lxcfs emulates) stay allowed."""
    (tmp_path / "uptime").write_text("12.00 34.00\n")
    proc = rs("run", "--rm", "-v", f"{tmp_path}/uptime:/proc/uptime:ro", busybox,
              "cat", "/proc/uptime")
    assert (proc.returncode, proc.stdout) == (0, "12.00 34.00\n"), proc.stderr


# -- item 10: numbers Python reads and Go does not -------------------------------

@pytest.mark.parametrize("flag, value, message", [
    ("--cpus", "nan", 'invalid argument "nan" for "--cpus" flag: failed to parse nan as a '
                      "rational number"),
    ("--cpus", "inf", "failed to parse inf as a rational number"),
    ("--cpus", "1e309", "range of CPUs is from 0.01"),
    ("--cpus", "0.0000000001", "value is too precise"),
    ("--ulimit", "nofile=\u00b2", 'invalid argument "nofile=\u00b2" for "--ulimit" flag: '
                                  'strconv.ParseInt: parsing "\u00b2": invalid syntax'),
    ("--ulimit", "nofile=\u0663", "invalid syntax"),
    ("--ulimit", "nofile=99999999999999999999", "value out of range"),
    ("--ulimit", "nofile=1\n2", 'parsing "1\\n2": invalid syntax'),
])
def test_numbers_go_refuses(rs, busybox, flag, value, message):
    refused(rs("run", "--rm", flag, value, busybox, "true"), message)


def _limited_memory():
    # Without the fix `--env-file /dev/zero` reads until memory runs out: keep
    # the machine safe should it come back.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run_env_file(rs, busybox, path) -> subprocess.CompletedProcess:
    return subprocess.run([str(rs.script), "--root", str(rs.root), "run", "--rm",
                           "--env-file", str(path), busybox, "true"],
                          capture_output=True, text=True, timeout=30, env=rs.base_env,
                          preexec_fn=_limited_memory)


def test_env_file_of_a_device_is_refused(rs, busybox):
    refused(run_env_file(rs, busybox, "/dev/zero"), "env file /dev/zero: not a regular file")


def test_seccomp_profile_of_a_device_is_refused(rs, busybox):
    proc = subprocess.run([str(rs.script), "--root", str(rs.root), "run", "--rm",
                           "--security-opt", "seccomp=/dev/zero", busybox, "true"],
                          capture_output=True, text=True, timeout=30, env=rs.base_env,
                          preexec_fn=_limited_memory)
    refused(proc, "seccomp profile /dev/zero: not a regular file")


def test_env_file_of_a_fifo_is_refused(rs, busybox, tmp_path):
    """Without a writer, opening a FIFO blocked the run for ever."""
    fifo = tmp_path / "env"
    os.mkfifo(fifo)
    refused(run_env_file(rs, busybox, fifo), f"env file {fifo}: not a regular file")


def test_env_file_too_large_or_missing(rs, busybox, tmp_path):
    big = tmp_path / "big.env"
    big.write_text("A=" + "x" * 60_000 + "\n" + ("B=1\n" * 300_000))
    refused(run_env_file(rs, busybox, big), "larger than 1 MiB")
    long_line = tmp_path / "long.env"
    long_line.write_text("A=" + "x" * 70_000 + "\n")
    refused(run_env_file(rs, busybox, long_line), "line 1: longer than 64 KiB")
    refused(run_env_file(rs, busybox, tmp_path / "nope"),
            f"open {tmp_path}/nope: no such file or directory")


def test_env_file_still_read(rs, busybox, tmp_path):
    env = tmp_path / "ok.env"
    env.write_text("# comment\nFOO=bar baz\n")
    proc = rs("run", "--rm", "--env-file", env, busybox, "sh", "-c", 'echo "$FOO"')
    assert (proc.returncode, proc.stdout) == (0, "bar baz\n"), proc.stderr


# -- item 10: JSON nested without end --------------------------------------------

DEPTH = 5000  # Go's encoding/json (the registry) reads up to 10000 levels


def with_nested_field(body: bytes) -> bytes:
    """The canonical JSON object `body` with one more field nested DEPTH
    arrays deep (json.dumps itself could not write it)."""
    assert body.endswith(b"}")
    return body[:-1] + b',"x-nested":' + b"[" * DEPTH + b"]" * DEPTH + b"}"


@pytest.fixture(scope="module")
def nested_refs(pusher):
    """A manifest and an index, each with a field nested DEPTH levels deep
    (the registry ignores fields it does not know, and serves them)."""
    image = push_image(pusher, "flags/nested", "base", ImageSpec([busybox_layer()]))
    manifest = with_nested_field(oci.canonical_json(image.manifest))
    pusher.put_manifest("flags/nested", "manifest", manifest, oci.OCI_MANIFEST)
    index = with_nested_field(oci.canonical_json({
        "schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [
            {"mediaType": oci.OCI_MANIFEST, "digest": image.manifest_digest,
             "size": len(oci.canonical_json(image.manifest)),
             "platform": {"os": "linux", "architecture": "amd64"}}]}))
    pusher.put_manifest("flags/nested", "index", index, oci.OCI_INDEX)
    return {tag: f"{pusher.host}/flags/nested:{tag}" for tag in ("manifest", "index")}


@pytest.mark.parametrize("tag", ["manifest", "index"])
def test_deeply_nested_manifest_from_a_registry(rsd, nested_refs, tag):
    refused(rsd("pull", nested_refs[tag]), "invalid manifest: invalid JSON: nested", code=1)
    refused(rsd("run", "--rm", nested_refs[tag], "true"), "invalid manifest", code=125)
    assert rsd("images", "-q").stdout == ""


class _NestedTokenHandler(http.server.BaseHTTPRequestHandler):
    """A registry that asks for a Bearer token from itself, and a token
    endpoint that answers with JSON nested DEPTH levels deep."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.startswith("/token"):
            body = b'{"token":' + b"[" * DEPTH + b"]" * DEPTH + b"}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            body = b"{}"
            self.send_response(401)
            host, port = self.server.server_address[:2]
            self.send_header("WWW-Authenticate",
                             f'Bearer realm="http://{host}:{port}/token",service="nested"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_deeply_nested_token_response(rsd):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NestedTokenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        proc = rsd("pull", f"127.0.0.1:{server.server_address[1]}/nested/token:latest")
    finally:
        server.shutdown()
        server.server_close()
    refused(proc, "invalid JSON from the registry", code=1)


def nested_tar(name: str) -> bytes:
    data = b"[" * 100_000 + b"]" * 100_000
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("name, message", [
    ("manifest.json", "invalid image archive: manifest.json: invalid JSON: nested"),
    ("index.json", "invalid JSON: nested"),
])
def test_deeply_nested_json_in_a_load_archive(rsd, tmp_path, name, message):
    archive = tmp_path / "nested.tar"
    archive.write_bytes(nested_tar(name))
    refused(rsd("load", "-i", archive), message, code=1)
    assert rsd("images", "-q").stdout == ""


# -- item 10: a store the caller may not write -------------------------------------

@pytest.fixture
def root_store(images):
    """A store of root's with busybox in it, reachable (0755) by others, as
    a store made before its modes were tightened was."""
    top = Path(tempfile.mkdtemp(prefix="rsd-rootstore-"))
    os.chmod(top, 0o755)
    (top / "store").mkdir()
    (top / "cfg").mkdir()
    subprocess.run([str(SCRIPT), "--root", str(top / "store"), "pull", images.busybox.ref],
                   check=True, capture_output=True,
                   env={**os.environ, "DOCKER_CONFIG": str(top / "cfg")})
    for d, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(d, name)
            if not os.path.islink(path):  # a layer's /bin/sh -> /bin/busybox: not the host's
                os.chmod(path, 0o755 if name in dirs else 0o644)
    yield top
    shutil.rmtree(top)


def test_unprivileged_user_on_a_root_store(root_store, images):
    """`create` as nobody on root's store: one line and 125, no
    PermissionError traceback, nothing written."""
    before = sorted(os.listdir(root_store / "store"))
    proc = subprocess.run([str(userenv.shared_script()), "--root", str(root_store / "store"),
                           "run", "--rm",
                           images.busybox.ref, "true"],
                          capture_output=True, text=True, timeout=60, user=NOBODY, group=NOBODY,
                          extra_groups=[], cwd="/",
                          env={"PATH": os.environ["PATH"], "HOME": str(root_store),
                               "DOCKER_CONFIG": str(root_store / "cfg")})
    refused(proc, "permission denied")
    assert sorted(os.listdir(root_store / "store")) == before
