"""The parsers behind run's flags and the JSON readers of outside documents,
against Docker's own rules (docker/go-units RAMInBytes and ParseUlimit,
docker/cli ParseCPUs, containerd platforms.Parse, moby MergeTmpfsOptions,
runc checkProcMount) and what Python would otherwise let through (nan,
non-ASCII digits, values the kernel wraps, RecursionError)."""

from __future__ import annotations

import os

import pytest

from rs_docker import jsonio
from rs_docker.errors import RuntimeFailure, UnsupportedManifest, UsageError
from rs_docker.models import image_config, mount_flags, platform, spec
from rs_docker.models import manifest as manifests
from rs_docker.models import security as sec
from rs_docker.models.env import parse_env_file
from rs_docker.models.flags import invalid_argument, quote, read_regular_file
from rs_docker.models.run_options import RunOptions
from rs_docker.runtime.rootfs import mounts

# -- Go's %q and pflag's message ----------------------------------------------------


@pytest.mark.parametrize("text, quoted", [
    ("16384p", '"16384p"'), ('a"b\\c', '"a\\"b\\\\c"'), ("1\n2\t\r", '"1\\n2\\t\\r"'),
    ("\x00\x7f", '"\\x00\\x7f"'), ("\u00b2\u0663", '"\u00b2\u0663"'), ("\u2028", '"\\u2028"'),
])
def test_quote_is_gos_percent_q(text, quoted):
    assert quote(text) == quoted


def test_invalid_argument_is_pflags_wording():
    assert str(invalid_argument("x", "-m, --memory", "why")) == \
        'invalid argument "x" for "-m, --memory" flag: why'


# -- sizes: go-units RAMInBytes, no wrap ------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("0", 0), ("6m", 6 << 20), ("6M", 6 << 20), ("6mb", 6 << 20), ("6MiB", 6 << 20),
    ("1.5k", 1536), ("1 t", 1 << 40), ("100b", 100), ("100", 100), (".5k", 512),
    ("5.", 5), ("1e3", 1000), ("1e3m", 1000 << 20), ("+2k", 2048), ("8191p", 8191 << 50),
    ("9223372036854774784", 9223372036854774784),  # the largest double below 2**63
])
def test_ram_in_bytes(text, value):
    assert sec.ram_in_bytes(text) == value


@pytest.mark.parametrize("text, reason", [
    ("16384p", "value out of range"),                 # 2**64: the kernel made it 0
    ("18446744073776660480", "value out of range"),   # 2**64 + 64 MiB: made 64 MiB
    ("8192p", "value out of range"),                  # 2**63
    ("9223372036854775807", "value out of range"),    # rounds to 2**63 as a float
    ("1e400", 'strconv.ParseFloat: parsing "1e400": value out of range'),
    ("", "invalid size: ''"), ("m", "invalid size: 'm'"), ("inf", "invalid size: 'inf'"),
    ("nan", "invalid size: 'nan'"), ("-1", "invalid size: '-1'"), ("-1m", "invalid size: '-1m'"),
    ("\u0663m", "invalid size: '\u0663m'"),
    ("12x", "invalid suffix: 'x'"), ("1mi", "invalid suffix: 'mi'"), ("1kbb", "invalid suffix: 'kbb'"),
    ("1mibs", "invalid suffix: 'mibs'"), ("1bb", "invalid suffix: 'bb'"),
    ("1\u212a", "invalid suffix: '\u212a'"),          # KELVIN SIGN lower()s to k
    ("1.2.3m", 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'),
    ("0x10", 'strconv.ParseFloat: parsing "0x10": invalid syntax'),
    ("1_000", 'strconv.ParseFloat: parsing "1_000": invalid syntax'),
    (" 6m", 'strconv.ParseFloat: parsing "": invalid syntax'),
])
def test_ram_in_bytes_refuses(text, reason):
    with pytest.raises(ValueError) as err:
        sec.ram_in_bytes(text)
    assert str(err.value) == reason


def test_memory_flags_messages_and_zero():
    with pytest.raises(UsageError, match='^invalid argument "16384p" for "-m, --memory" flag: '
                                         "value out of range$"):
        sec.memory_resources("16384p")
    with pytest.raises(UsageError, match='for "--memory-swap" flag: invalid size'):
        sec.memory_resources("6m", "-2")
    with pytest.raises(UsageError, match="^invalid argument \"-1\" for \"-m, --memory\""):
        sec.memory_resources("-1")  # only --memory-swap takes -1
    assert sec.memory_resources("0") == {}  # Docker: 0 is no limit
    assert sec.memory_resources("6m", "0") == {"limit": 6 << 20, "swap": 12 << 20}


# -- --cpus: an exact rational --------------------------------------------------------

@pytest.mark.parametrize("text, nano", [
    ("1.5", 1_500_000_000), ("0.5", 500_000_000), ("2", 2_000_000_000), ("0", 0),
    ("0.000000001", 1), ("15e-1", 1_500_000_000), ("3/2", 1_500_000_000), ("+1.", 10**9),
    ("1.000000000000000000000000000000000", 10**9), ("-1", -(10**9)), ("0e999999999", 0),
])
def test_parse_cpus(text, nano):
    assert sec.parse_cpus(text) == nano


@pytest.mark.parametrize("text, why", [
    ("nan", "failed to parse nan as a rational number"),
    ("inf", "failed to parse inf as a rational number"),
    ("Infinity", "failed to parse Infinity as a rational number"),
    ("1/0", "failed to parse 1/0 as a rational number"),
    (" 1", "failed to parse  1 as a rational number"),
    ("\u0663", "failed to parse \u0663 as a rational number"),
    ("1_0", "failed to parse 1_0 as a rational number"),
    ("0.0000000001", "value is too precise"),
    ("1/3", "value is too precise"),
    ("1e-99999999999", "value is too precise"),
])
def test_parse_cpus_refuses(text, why):
    with pytest.raises(UsageError) as err:
        sec.parse_cpus(text)
    assert str(err.value) == f'invalid argument {quote(text)} for "--cpus" flag: {why}'


@pytest.mark.parametrize("text", ["999", "1e309", "1e99999999999", "2.000000001", "-0.5",
                                  "0.001"])
def test_cpus_outside_the_range(text):
    with pytest.raises(UsageError) as err:
        sec.cpus_to_quota(text, ncpu=2)
    assert str(err.value) == "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs " \
                             "available"


def test_cpus_quota():
    assert sec.cpus_to_quota("2", ncpu=2) == {"quota": 200_000, "period": 100_000}
    assert sec.cpus_to_quota("0.01", ncpu=2) == {"quota": 1000, "period": 100_000}


# -- --ulimit: strconv.ParseInt ---------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("nofile=\u00b2", 'strconv.ParseInt: parsing "\u00b2": invalid syntax'),
    ("nofile=\u0663", 'strconv.ParseInt: parsing "\u0663": invalid syntax'),
    ("nofile= 1", 'strconv.ParseInt: parsing " 1": invalid syntax'),
    ("nofile=1_0", 'strconv.ParseInt: parsing "1_0": invalid syntax'),
    ("nofile=1:", 'strconv.ParseInt: parsing "": invalid syntax'),
    ("nofile=9223372036854775808", "value out of range"),
    ("nofile=-5", "invalid ulimit argument: nofile=-5"),
    ("nofile=unlimited:5", "soft: -1 (unlimited), hard: 5"),
])
def test_ulimit_refuses(text, message):
    with pytest.raises(UsageError) as err:
        sec.parse_ulimit(text)
    assert str(err.value).startswith(f'invalid argument {quote(text)} for "--ulimit" flag: ')
    assert message in str(err.value)


def test_ulimit_bounds():
    assert sec.parse_ulimit("nofile=9223372036854775807")["soft"] == 2**63 - 1
    assert sec.parse_ulimit("nproc=+5:-1") == {"type": "RLIMIT_NPROC", "soft": 5,
                                               "hard": sec.RLIM_INFINITY}


# -- --platform: containerd's Parse --------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("amd64", "linux/amd64"), ("arm64", "linux/arm64"), ("armhf", "linux/arm/v7"),
    ("riscv64", "linux/riscv64"), ("linux/garbage", "linux/garbage"),
])
def test_platform_one_word_may_be_an_architecture(text, expected):
    assert str(platform.parse(text)) == expected


@pytest.mark.parametrize("text, message", [
    ("garbage", '"garbage": unknown operating system or architecture: invalid argument'),
    ("linux/*", '"linux/*": wildcards not yet supported: invalid argument'),
    ("linux/arm/v7/x", '"linux/arm/v7/x": cannot parse platform specifier: invalid argument'),
    ("linux/am d64", '"am d64" is an invalid component of "linux/am d64": platform specifier '
                     'component must match "^[A-Za-z0-9_.-]+$": invalid argument'),
    ("lin.ux", '"lin.ux" is an invalid OS component of "lin.ux"'),
    (" linux", '" linux" is an invalid OS component'),
    ("linux\n", '"linux\\n" is an invalid OS component'),
])
def test_platform_refuses(text, message):
    with pytest.raises(UsageError) as err:
        platform.parse(text)
    assert message in str(err.value) and "\n" not in str(err.value)


# -- --tmpfs / --mount tmpfs: tmpfs options only -----------------------------------------

@pytest.mark.parametrize("option", ["rbind", "bind", "remount", "size", "foo", "foo=1",
                                    "nosymfollow", "huge=always", "x-gvfs-show", "size=1m\n"])
def test_tmpfs_refuses_what_is_not_a_tmpfs_option(option):
    with pytest.raises(UsageError, match='invalid tmpfs option "'):
        mount_flags.parse_tmpfs(f"/x:{option}")


def test_tmpfs_takes_docker_tmpfs_options():
    opts = ("size=64m,mode=1777,uid=1,gid=2,nr_inodes=9,nr_blocks=9,mpol=default,ro,rw,exec,"
            "noexec,suid,nosuid,dev,nodev,sync,async,dirsync,atime,noatime,diratime,nodiratime,"
            "relatime,norelatime,strictatime,nostrictatime,mand,nomand,rprivate,shared,"
            "defaults")
    m = mount_flags.parse_tmpfs(f"/x:{opts}")
    assert "defaults" not in m.options and "rbind" not in m.oci()["options"]
    assert m.oci()["source"] == "tmpfs" and m.oci()["type"] == "tmpfs"


@pytest.mark.parametrize("option, message", [
    ("size=16384p", 'invalid value for size: "16384p": value out of range'),
    ("size=9223372036854775808", "value out of range"),
    ("size=" + "9" * 5000, "value out of range"),
    ("size=99999999%", 'invalid value for size: "99999999%": value out of range'),
    ("nr_inodes=16384p", "value out of range"),
    ("nr_blocks=1x", 'invalid value for nr_blocks: "1x"'),
    ("size=", 'invalid value for size: ""'),
    ("size=1e3", 'invalid value for size: "1e3"'),
    ("size=\u0663", "invalid value for size"),
    ("nr_inodes=5%", 'invalid value for nr_inodes: "5%"'),
])
def test_tmpfs_counts_the_kernel_would_wrap(option, message):
    with pytest.raises(UsageError, match=message):
        mount_flags.parse_tmpfs(f"/x:{option}")


@pytest.mark.parametrize("option", ["size=64m", "size=64M", "size=50%", "size=8191p",
                                    "size=9223372036854775807", "nr_inodes=1k", "nr_blocks=0"])
def test_tmpfs_counts_the_kernel_takes(option):
    assert mount_flags.parse_tmpfs(f"/x:{option}").options == (option,)


@pytest.mark.parametrize("spec, message", [
    ("type=tmpfs,dst=/x,tmpfs-size=16384p", "invalid value for tmpfs-size: 16384p"),
    ("type=tmpfs,dst=/x,tmpfs-size=-1", "invalid value for tmpfs-size: -1"),
    ("type=tmpfs,dst=/x,tmpfs-mode=40000000000", "invalid value for tmpfs-mode: 40000000000"),
    ("type=tmpfs,dst=/x,tmpfs-mode=9", "invalid value for tmpfs-mode: 9"),
])
def test_mount_tmpfs_values(spec, message):
    with pytest.raises(UsageError, match=message):
        mount_flags.parse_mount(spec)


def test_mount_tmpfs_largest_mode():
    assert "mode=37777777777" in mount_flags.parse_mount(
        "type=tmpfs,dst=/x,tmpfs-mode=37777777777").options


# -- mounts over /proc: runc's checkProcMount ---------------------------------------------

@pytest.mark.parametrize("parse, text, shown", [
    (mount_flags.parse_volume, "/tmp:/proc", "/proc"),
    (mount_flags.parse_volume, "/tmp://proc", "/proc"),
    (mount_flags.parse_volume, "/tmp:/proc/", "/proc"),
    (mount_flags.parse_volume, "/tmp:/x/../proc", "/proc"),
    (mount_flags.parse_volume, "/tmp:/./proc/./sys/..", "/proc"),
    (mount_flags.parse_volume, "/tmp:/proc/sys", "/proc/sys"),
    (mount_flags.parse_volume, "/tmp:///proc//self", "/proc/self"),
    (mount_flags.parse_mount, "type=bind,src=/tmp,target=/proc", "/proc"),
    (mount_flags.parse_mount, "type=tmpfs,destination=/proc/1", "/proc/1"),
    (mount_flags.parse_tmpfs, "/proc", "/proc"),
    (mount_flags.parse_tmpfs, "/proc/sysrq-trigger:size=1m", "/proc/sysrq-trigger"),
])
def test_nothing_over_or_under_proc(parse, text, shown):
    why = "is not of type proc" if shown == "/proc" else "is inside /proc"
    with pytest.raises(UsageError, match=f'"{shown}" cannot be mounted because it {why}$'):
        parse(text)


@pytest.mark.parametrize("dest", sorted(sec.PROC_MOUNTABLE) + ["/procfs", "/proc.d", "/x/proc"])
def test_runcs_proc_exceptions_and_lookalikes_pass(dest):
    assert mount_flags.parse_volume(f"/tmp/f:{dest}").target == dest


def test_proc_refusal_lets_a_procfs_onto_proc():
    assert sec.proc_mount_refusal("/proc", "proc") is None
    assert sec.proc_mount_refusal("/proc", "bind") is not None
    assert sec.proc_mount_refusal("/proc/self", "proc") is not None


def _rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "proc" / "sys").mkdir(parents=True)
    (root / "proc" / "self").symlink_to("1")            # as procfs's own link
    (root / "dev").mkdir()
    (root / "dev" / "fd").symlink_to("/proc/self/fd")   # as the runtime makes it
    (root / "lnproc").symlink_to("/proc")               # as an image may ship it
    (root / "lnsys").symlink_to("proc/sys")
    return str(root)


def test_secure_join_does_not_follow_procfs_links(tmp_path):
    root = _rootfs(tmp_path)
    with pytest.raises(OSError, match="goes through /proc/self, a link of /proc"):
        mounts.secure_join(root, "/dev/fd/0")
    assert mounts.secure_join(root, "/lnsys") == os.path.join(root, "proc", "sys")


@pytest.mark.parametrize("dest, fstype, why", [
    ("/lnproc", "bind", '"/proc" cannot be mounted because it is not of type proc'),
    ("/lnsys", "tmpfs", '"/proc/sys" cannot be mounted because it is inside /proc'),
    ("/lnproc/uptime", "bind", None),
    ("/proc", "proc", None),
    ("/lnprocx", "bind", None),
])
def test_runtime_checks_the_resolved_target(tmp_path, dest, fstype, why):
    root = _rootfs(tmp_path)
    target = mounts.secure_join(root, dest)
    if why is None:
        mounts.check_proc_mount(root, target, fstype)
        return
    with pytest.raises(RuntimeFailure) as err:
        mounts.check_proc_mount(root + "/", target, fstype)
    assert str(err.value) == why


# -- run's flags all checked up front -----------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("memory", "16384p", "value out of range"),
    ("cpus", "3", "range of CPUs is from 0.01 to 2.00"),
    ("cpus", "nan", "failed to parse nan"),
    ("ulimits", ("nofile=\u00b2",), "invalid syntax"),
    ("tmpfs", ("/x:rbind",), 'invalid tmpfs option "rbind"'),
    ("volumes", ("/tmp:/proc",), "not of type proc"),
    ("platform", "garbage", "unknown operating system or architecture"),
    ("security_opt", ("no-new-privileges:maybe",), "invalid --security-opt"),
])
def test_check_flags(field, value, message):
    with pytest.raises(UsageError, match=message):
        spec.check_flags(RunOptions(image="x", **{field: value}), ncpu=2)


def test_check_flags_passes_docker_forms():
    spec.check_flags(RunOptions(image="x", memory="6m", memory_swap="-1", cpus="0.5",
                                ulimits=("nofile=1024:2048",), tmpfs=("/x:size=64m,mode=1777",),
                                volumes=("/tmp:/proc/uptime",), platform="linux/amd64"), ncpu=1)


# -- JSON from outside: nesting is an error, not a RecursionError -------------------------

def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# Deep enough for every CPython: 3.12+ decode 1000 levels where 3.11 hit its
# recursion limit; documents from outside are bounded by max_depth anyway.
@pytest.mark.parametrize("depth", [100_000])
def test_jsonio_turns_recursion_into_value_error(depth):
    with pytest.raises(jsonio.TooDeep, match="nested too deeply"):
        jsonio.loads(nested(depth))
    with pytest.raises(jsonio.TooDeep, match="nested too deeply"):
        jsonio.loads_any(nested(depth).decode().encode("utf-16"))


def test_jsonio_max_depth():
    assert jsonio.loads(nested(3), max_depth=3) == [[[]]]
    assert jsonio.loads(b'{"a": [1, {"b": 2}]}', max_depth=3) == {"a": [1, {"b": 2}]}
    assert jsonio.loads(b"7", max_depth=1) == 7
    with pytest.raises(jsonio.TooDeep, match="deeper than 3 levels"):
        jsonio.loads(b'{"a": [1, {"b": []}]}', max_depth=3)
    with pytest.raises(ValueError):
        jsonio.loads(nested(jsonio.MAX_DEPTH + 1), max_depth=jsonio.MAX_DEPTH)


def with_field(doc: bytes, value: bytes) -> bytes:
    return doc[:-1] + b',"x":' + value + b"}"


MANIFEST = (b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",'
            b'"manifests":[]}')


@pytest.mark.parametrize("depth", [150, 5000, 100_000])
def test_nested_manifest_and_config_are_refused(depth):
    with pytest.raises(UnsupportedManifest, match="invalid manifest: invalid JSON: nested"):
        manifests.parse(with_field(MANIFEST, nested(depth)))
    config = b'{"rootfs":{"type":"layers","diff_ids":[]}}'
    with pytest.raises(UnsupportedManifest, match="invalid image config: invalid JSON: nested"):
        image_config.parse(with_field(config, nested(depth)))


def test_shallow_manifest_still_parses():
    assert manifests.parse(with_field(MANIFEST, nested(50))).manifests == ()


# -- --env-file and other files flags name: regular, bounded --------------------------------

def test_env_file_line_cap():
    assert parse_env_file("A=" + "x" * 65_000, {}) == ["A=" + "x" * 65_000]
    with pytest.raises(UsageError, match="f: line 2: longer than 64 KiB"):
        parse_env_file("A=1\nB=" + "x" * 65_535, {}, source="f")


def test_read_regular_file(tmp_path):
    (tmp_path / "ok").write_bytes(b"A=1\n")
    assert read_regular_file(str(tmp_path / "ok"), 4, "env file") == b"A=1\n"
    with pytest.raises(UsageError, match=r"^env file .*/ok: larger than 0 KiB$"):
        read_regular_file(str(tmp_path / "ok"), 3, "env file")
    os.mkfifo(tmp_path / "fifo")
    for path in ("/dev/zero", "/dev/null", str(tmp_path / "fifo"), str(tmp_path)):
        with pytest.raises(UsageError, match=f"^env file {path}: not a regular file$"):
            read_regular_file(path, 1 << 20, "env file")
    with pytest.raises(UsageError, match=f"^open {tmp_path}/none: no such file or directory$"):
        read_regular_file(str(tmp_path / "none"), 1 << 20, "env file")
