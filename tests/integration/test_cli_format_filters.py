"""--format, --filter and tables through the CLI, as Docker prints them:
Go templates on inspect/ps/images, Docker's table headers and tabwriter
widths, ps and images filters combined as Docker combines them."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.cli import busybox_store, ok

pytestmark = pytest.mark.root


rs = busybox_store("format")


@pytest.fixture(scope="module")
def made(rs, busybox):
    """Three containers: web (created, labels a=1 tier=front), db (created,
    label a=2), ex (exited 3)."""
    ok(rs("create", "--name", "web", "-l", "a=1", "-l", "tier=front", busybox, "true"))
    ok(rs("create", "--name", "db", "-l", "a=2", busybox, "true"))
    proc = rs("run", "--name", "ex", busybox, "sh", "-c", "exit 3")
    assert proc.returncode == 3, proc.stderr
    return busybox


def names(rs, *args) -> list[str]:
    return ok(rs("ps", "-a", "--format", "{{.Names}}", *args)).split()


def test_inspect_takes_go_templates(rs, made):
    out = ok(rs("inspect", "-f", '{{.Name}} {{index .Config.Labels "tier"}} '
                '{{if eq .State.Status "created"}}new{{else}}old{{end}} '
                '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}} {{json .Config.Labels}}',
                "web"))
    assert out == '/web front new a=1;tier=front; {"a":"1","tier":"front"}\n'
    out = ok(rs("inspect", "-f", "{{.State.ExitCode}} {{printf \"%05d\" .State.ExitCode}} "
                "{{upper .Name | printf \"%q\"}}", "ex"))
    assert out == '3 00003 "/EX"\n'


def test_inspect_missing_key_is_dockers_error(rs, made):
    proc = rs("inspect", "-f", "{{.Foo}}", "web")
    assert proc.returncode == 1
    assert proc.stderr == ('rs-docker: template parsing error: template: :1:2: executing "" '
                           'at <.Foo>: map has no entry for key "Foo"\n')
    proc = rs("inspect", "-f", "{{nope .}}", "web")
    assert proc.returncode == 1
    assert proc.stderr == ('rs-docker: template parsing error: template: :1: function "nope" '
                           "not defined\n")


def test_ps_label_method_and_table_headers(rs, made):
    out = ok(rs("ps", "-a", "--filter", "name=^web$", "--format",
                'table {{.Names}}\t{{.Label "tier"}}\t{{.State}}'))
    # The header of a {{.Label}} column is cut where docker/cli's header
    # template fails; the rows align with Go's tabwriter (min 10, pad 3).
    assert out == "NAMES     \n" "web       front     created\n"
    out = ok(rs("ps", "-a", "--filter", "name=^web$", "--format",
                "table {{.ID}}\t{{.Image}}\t{{.Names}}"))
    head, row = out.splitlines()
    assert head.startswith("CONTAINER ID   IMAGE") and head.endswith("NAMES")
    assert row.index(made.split(":")[0][:8]) == head.index("IMAGE")


def test_ps_filters_combine_as_docker(rs, made):
    assert sorted(names(rs, "--filter", "label=a")) == ["db", "web"]
    assert names(rs, "--filter", "label=a=1") == ["web"]
    # same key: OR; different keys: AND
    assert sorted(names(rs, "--filter", "label=a=1", "--filter", "label=a=2")) == ["db", "web"]
    assert names(rs, "--filter", "label=a", "--filter", "name=d") == ["db"]
    assert names(rs, "--filter", "exited=3") == ["ex"]
    assert names(rs, "--filter", "exited=0") == []
    assert sorted(names(rs, "--filter", "status=created")) == ["db", "web"]
    assert names(rs, "--filter", "before=db") == ["web"]
    assert names(rs, "--filter", "since=db") == ["ex"]
    assert names(rs, "--filter", "is-task=true") == []
    assert names(rs, "--filter", "volume=/nowhere") == []
    assert sorted(names(rs, "--filter", f"ancestor={made}")) == ["db", "ex", "web"]
    digest = json.loads(ok(rs("image", "inspect", made)))[0]["RepoDigests"][0]
    image_id = json.loads(ok(rs("image", "inspect", made)))[0]["Id"]
    assert sorted(names(rs, "--filter", f"ancestor={digest}")) == ["db", "ex", "web"]
    assert sorted(names(rs, "--filter", f"ancestor={image_id[7:19]}")) == ["db", "ex", "web"]
    assert names(rs, "--filter", "ancestor=nosuchimage") == []


@pytest.mark.parametrize("flt,message", [
    ("foo=1", "invalid filter 'foo'"),
    ("label", "bad format of filter (expected name=value): label"),
    ("exited=x", "invalid filter 'exited=x'"),
    ("publish=http", "invalid filter 'publish=http'"),
])
def test_ps_bad_filter_is_dockers_error(rs, flt, message):
    proc = rs("ps", "--filter", flt)
    assert (proc.returncode, proc.stderr) == (1, f"rs-docker: {message}\n")


def test_images_table_json_and_filters(rs, made):
    repo = made.rsplit(":", 1)[0]
    out = ok(rs("images"))
    head = out.splitlines()[0]
    assert head.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert "TAG" + " " * (max(10, len("latest") + 3) - 3) in head
    out = ok(rs("images", "--format", "table {{.Repository}}\t{{.CreatedAt}}\t{{.Size}}"))
    head = out.splitlines()[0]
    # REPOSITORY is as wide as the longest repository plus 3
    assert head.startswith("REPOSITORY" + " " * (len(repo) + 3 - 10) + "CREATED AT")
    assert head.endswith("SIZE")
    row = json.loads(ok(rs("images", "--format", "json")).splitlines()[0])
    assert row["Repository"] == repo
    assert ok(rs("images", "--format", "{{.Repository}}:{{.Tag}}",
                 "--filter", f"reference={repo}")).split() == [made]
    glob = repo.rsplit("/", 1)[0] + "/*box"
    assert ok(rs("images", "-q", "--filter", f"reference={glob}")).strip()
    assert ok(rs("images", "-q", "--filter", "reference=*box")) == ""   # `*` stops at `/`
    assert ok(rs("images", "-q", "--filter", "dangling=true")) == ""
    assert ok(rs("images", "-q", "--filter", "dangling=false")).strip()
    proc = rs("images", "--filter", "size=1")
    assert (proc.returncode, proc.stderr) == (1, "rs-docker: invalid filter 'size'\n")


@pytest.mark.parametrize("args,lines,code", [
    (["ps", "--foo"], ["rs-docker: unknown flag: --foo", "See 'rs-docker ps --help'."], 125),
    (["ps", "-z"], ["rs-docker: unknown shorthand flag: 'z' in -z",
                    "See 'rs-docker ps --help'."], 125),
    (["container", "ls", "--bogus"], ["rs-docker: unknown flag: --bogus",
                                      "See 'rs-docker container ls --help'."], 125),
    (["rm"], ['rs-docker: "rs-docker rm" requires at least 1 argument.',
              "See 'rs-docker rm --help'."], 125),
    (["ps", "-n", "x"], ['rs-docker: invalid argument for "-n, --last" flag: \'x\' is not a '
                         "valid integer", "See 'rs-docker ps --help'."], 125),
    (["nosuch"], ["rs-docker: 'nosuch' is not a rs-docker command.",
                  "See 'rs-docker --help'."], 1),
    (["create", "--bogus", "x"], ["rs-docker: unknown flag: --bogus",
                                  "See 'rs-docker create --help'."], 125),
])
def test_usage_errors_read_as_dockers(rsd, args, lines, code):
    proc = rsd(*args)
    assert (proc.returncode, proc.stderr.splitlines()) == (code, lines)
    assert proc.stdout == ""


def test_no_arguments_print_the_help(rsd):
    proc = rsd()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: rs-docker") and "Commands:" in proc.stdout
