"""The click-free parser of `rs-docker run` (cli/fast.py) against click's own
parse of the same argv: equal parameters (and RunOptions) for every plain
shape, a hand-over to click (None) for everything click would reject or
that the fast path does not reproduce."""

from __future__ import annotations

import click
import pytest

from rs_docker.cli.fast import GLOBAL_FLAGS, parse
from rs_docker.cli.main import cli
from rs_docker.cli.run import run
from rs_docker.cli.run_exec import build_options
from rs_docker.models.run_options import KINDS, RUN_FLAGS, Flag


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for name in ("RS_DOCKER_ROOT", "RS_DOCKER_DEBUG", "_RS_DOCKER_COMPLETE"):
        monkeypatch.delenv(name, raising=False)


def click_parse(argv: list[str]) -> tuple[dict, dict] | None:
    """What click passes to the group and to `run` for argv; None when click
    fails (usage error, --help...)."""
    try:
        with cli.make_context("rs-docker", list(argv)) as gctx:
            rest = [*gctx._protected_args, *gctx.args]
            if rest[:1] != ["run"]:
                return None
            with run.make_context("run", rest[1:], parent=gctx) as rctx:
                return dict(gctx.params), dict(rctx.params)
    except (click.ClickException, click.exceptions.Exit):
        return None


PLAIN = [
    ["run", "busybox"],
    ["run", "busybox", "true"],
    ["--root", "/tmp/nowhere", "run", "--rm", "--network", "none", "busybox", "true"],
    ["--root=/tmp/nowhere", "-D", "run", "busybox"],
    ["--debug", "--insecure-registry", "a:5000", "--insecure-registry=b", "run", "img"],
    ["run", "-it", "busybox", "sh"],
    ["run", "-dit", "busybox"],
    ["run", "-d", "-i", "-t", "--rm", "--init", "--privileged", "--read-only", "busybox"],
    ["run", "-e", "A=1", "-eB=2", "--env", "C", "--env=D=4=5", "busybox", "env"],
    ["run", "-e=X", "busybox"],  # click's quirk: the value is "=X"
    ["run", "-itefoo=bar", "busybox"],  # flags, then a value in the same argument
    ["run", "-e", "--rm", "busybox"],  # a value that looks like an option is a value
    ["run", "--name", "web", "--name=api", "busybox"],  # the last one wins
    ["run", "-v", "/a:/b", "--volume=/c:/d:ro", "--mount", "type=tmpfs,target=/t",
     "--tmpfs", "/run:size=1m", "busybox"],
    ["run", "-c", "512", "--pids-limit", "-1", "--stop-timeout=3", "busybox"],
    ["run", "-c", " 7 ", "--pids-limit", "+5", "busybox"],  # int() accepts these, as click
    ["run", "--pull", "never", "--pull=always", "busybox"],
    ["run", "--net", "host", "--network=none", "busybox"],
    ["run", "-m", "64m", "--memory-swap", "-1", "--cpus", "1.5", "--ulimit", "nofile=1:2",
     "busybox"],
    ["run", "--cap-add", "NET_ADMIN", "--cap-drop=ALL", "--security-opt",
     "no-new-privileges", "busybox"],
    ["run", "-u", "1000:1000", "-w", "/tmp", "-h", "box", "--entrypoint", "", "busybox"],
    ["run", "--platform", "linux/arm64", "--stop-signal", "SIGUSR1", "busybox"],
    ["run", "--env-file", "/dev/null", "busybox"],
    ["run", "busybox", "sh", "-c", "echo --rm -e x", "--", "--help"],  # all the command's
    ["run", "-", "x"],  # a lone dash is a positional
    ["run", "--name", "", "busybox"],
    # pflag's boolean values (click's command reads them: cli/options.TableCommand)
    ["run", "--rm=true", "-d=false", "--privileged=0", "busybox"],
    ["run", "-it=false", "busybox"],  # -i true, -t false
    ["run", "-i", "--interactive=false", "-t=T", "--tty=FALSE", "--rm=1", "busybox"],
    ["run", "--read-only=True", "-e", "--rm=false", "busybox", "--rm=false"],
    ["run", "-dt=f", "-e", "A=1", "busybox"],
]

FALLBACK = [
    [],
    ["--help"],
    ["-h"],
    ["--version"],
    ["run"],  # missing IMAGE
    ["run", "--help"],
    ["run", "--rm"],
    ["run", "--pull", "sometimes", "busybox"],
    ["run", "-c", "lots", "busybox"],
    ["run", "--stop-timeout=1.5", "busybox"],
    ["run", "-e"],
    ["run", "--env"],
    ["--root", "/etc/passwd", "run", "busybox"],  # click.Path(file_okay=False)
    ["--bogus", "run", "busybox"],
]

# Unknown options click itself takes as IMAGE (ignore_unknown_options); the
# fast path leaves them to click too, as it does `--` and other commands.
NOT_PLAIN = [
    ["ps"],
    ["-D", "--", "run", "busybox"],
    ["run", "--", "busybox"],
    ["run", "--bogus", "busybox"],
    ["run", "-Z", "busybox"],
    ["run", "-itZ", "busybox"],
    ["run", "--netw", "host", "busybox"],  # click does not take abbreviations
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_plain_argv_parses_as_click_does(argv):
    expected = click_parse(argv)
    assert expected is not None, "click rejects this argv"
    got = parse(argv)
    assert got == expected
    assert _outcome(got[1]) == _outcome(expected[1])


def _outcome(params: dict):
    """RunOptions, or the one-line error building them gives (e.g. -it
    without a terminal), for either parse."""
    try:
        return build_options(params)
    except Exception as e:  # noqa: BLE001 - compared, not swallowed
        return f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("argv", FALLBACK + NOT_PLAIN, ids=lambda a: " ".join(a) or "(empty)")
def test_anything_else_goes_to_click(argv):
    assert parse(argv) is None


def test_the_usage_errors_are_click_s():
    assert all(click_parse(a) is None for a in FALLBACK)


def test_root_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RS_DOCKER_ROOT", str(tmp_path))
    argv = ["run", "busybox"]
    assert parse(argv) == click_parse(argv)
    assert parse(argv)[0]["root"] == str(tmp_path)
    monkeypatch.setenv("RS_DOCKER_ROOT", "")  # empty: unset, for click too
    assert parse(argv) == click_parse(argv)


def test_a_flag_from_the_environment_goes_to_click(monkeypatch):
    monkeypatch.setenv("RS_DOCKER_DEBUG", "1")
    assert parse(["run", "busybox"]) is None


# A value each kind of flag takes, and one it refuses (None: refuses none).
SAMPLES = {"str": ("v=1", None), "int": ("7", "seven"), "dir": ("/tmp/nowhere", "/etc/passwd"),
           "flag": (None, None)}


def _spellings(flag, value) -> list[list[str]]:
    """Every way argv can give `flag` the value (a flag: no value)."""
    out = []
    for name in flag.names:
        if value is None:
            out.append([name])
        elif name.startswith("--"):
            out += [[name, value], [f"{name}={value}"]]
        else:
            out += [[name, value], [name + value]]
    return out


def _sample(flag) -> tuple[str | None, str | None]:
    if flag.kind == "choice":
        return flag.choices[-1], "not-" + flag.choices[0]
    return SAMPLES[flag.kind]


def _table_cases(flags, wrap) -> list:
    cases = []
    for flag in flags:
        good, bad = _sample(flag)
        cases += [pytest.param(wrap(argv), True, id=" ".join(wrap(argv)))
                  for argv in _spellings(flag, good)]
        if bad is not None:
            cases += [pytest.param(wrap(argv), False, id=" ".join(wrap(argv)))
                      for argv in _spellings(flag, bad)]
    return cases


TABLE_CASES = _table_cases(RUN_FLAGS, lambda a: ["run", *a, "busybox", "true"]) + \
    _table_cases(GLOBAL_FLAGS, lambda a: [*a, "run", "busybox"])


@pytest.mark.parametrize(("argv", "accepted"), TABLE_CASES)
def test_every_flag_of_the_tables_parses_as_click_does(argv, accepted):
    """Each flag the tables declare, in each spelling, with a value of its
    kind (the same parameters from both parsers) and with a value click
    refuses (handed to click by the fast path)."""
    expected = click_parse(argv)
    assert (expected is not None) == accepted
    assert parse(argv) == expected


def test_every_flag_has_a_known_kind_and_a_default_of_its_shape():
    for flag in RUN_FLAGS + GLOBAL_FLAGS:
        assert flag.kind in KINDS, flag
        if flag.multiple:
            assert flag.default == (), flag
        elif flag.kind == "flag":
            assert flag.default is False, flag


def test_flag_s_signature_is_its_fields():
    """Flag's own __new__ takes the record's fields, in order, with their
    defaults."""
    import inspect

    params = list(inspect.signature(Flag.__new__).parameters.values())[1:]
    assert tuple(p.name for p in params) == Flag._fields
    assert {p.name: p.default for p in params if p.default is not p.empty} == \
        Flag._field_defaults
    flag = Flag(("-x", "--ex"), "ex", multiple=True, default=())
    assert flag._replace(kind="int") == Flag(("-x", "--ex"), "ex", "int", True, ())
    assert flag == Flag(**flag._asdict())


def test_no_two_flags_share_a_name_or_a_dest():
    for flags in (RUN_FLAGS, GLOBAL_FLAGS):
        names = [name for flag in flags for name in flag.names]
        assert len(names) == len(set(names))
        assert len({flag.dest for flag in flags}) == len(flags)


def test_run_takes_image_then_the_command_untouched():
    """The shape cli/fast.py reproduces: options stop at IMAGE, and
    unknown options are left for IMAGE (build_options refuses them)."""
    assert run.context_settings["allow_interspersed_args"] is False
    assert run.context_settings["ignore_unknown_options"] is True
    assert [(p.name, p.nargs) for p in run.params if isinstance(p, click.Argument)] == \
        [("image", 1), ("command", -1)]


@pytest.mark.parametrize("argv", [["run", "--rm=yes", "busybox"], ["run", "-d=no", "busybox"],
                                  ["run", "-it=", "busybox"]])
def test_a_bad_boolean_value_is_docker_s_error(argv):
    """The fast path hands it to click, whose command reports pflag's error
    (a UsageError: exit 125, one line)."""
    from rs_docker.errors import UsageError

    assert parse(argv) is None
    with pytest.raises(UsageError, match=r'invalid argument ".*" for "(-d, --detach|--rm|'
                                         r'-t, --tty)" flag: strconv.ParseBool'):
        click_parse(argv)


def test_boolean_values_set_the_flag():
    params = parse(["run", "-d", "--detach=false", "-it=false", "--rm=true", "busybox"])[1]
    assert (params["detach"], params["interactive"], params["tty"], params["remove"]) == \
        (False, True, False, True)
