"""Fixtures shared by every test (names are a contract other tests rely on):

registry        (session)  anonymous docker-registry: .host "127.0.0.1:PORT", .url, .data_dir,
                           .corrupt_blob(digest), .blob_path(digest)
token_registry  (session)  token-auth docker-registry: .host, .token_server (.requests,
                           .accounts, .log, .reset(), .lifetime(s)); accounts alice/secret
                           (pull+push on all), reader/reader (pull only); anonymous pull on
                           "public/*" only
images          (session)  the standard set pushed to `registry` (see fixtures/images.py):
                           images.busybox.ref, .manifest_digest, .config_digest, ...
sweep_leftovers (session, autouse)  removes what killed earlier sessions left (fixtures/sweep.py)
pusher / token_pusher (session)  fixtures.pusher.Pusher for custom and hostile images
store_root      (function) a fresh, empty store directory
docker_config   (function) an empty DOCKER_CONFIG dir; .write_auth(host, user, password)
rsd             (function) rsd(*args, input=None, timeout=60, env=None, check=False) runs
                           `rs-docker --root <store_root> *args` -> CompletedProcess (text)
@pytest.mark.root          skips, with the reason, when not running as root
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import sweep, userenv
from tests.fixtures.images import push_standard_set
from tests.fixtures.pusher import Pusher
from tests.fixtures.registry import BINARY, Registry
from tests.fixtures.token_server import Account, TokenServer

ALICE = ("alice", "secret")
READER = ("reader", "reader")

# Every process this session starts carries its mark, so that the next
# session can tell them from another running session's (fixtures/sweep.py).
sweep.mark_session()


# Skips this machine kind (Debian, as root, after `make deps`: CI's) is
# expected to show; with RSD_FAIL_ON_UNEXPECTED_SKIP=1 (.ci/run) any other
# skip fails the session, so a test cannot stop running unnoticed.
STRICT_SKIPS_VAR = "RSD_FAIL_ON_UNEXPECTED_SKIP"
EXPECTED_SKIPS = (
    # /dev/fuse is root's alone (0600) on a stock Debian VM: no
    # fuse-overlayfs for a rootless user.
    "fuse-overlayfs, or /dev/fuse for the user, missing",
)
_skips: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    _note_skip(report)


def pytest_collectreport(report):
    _note_skip(report)   # a module skipped as a whole


def _note_skip(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        _skips.append((report.nodeid, reason.removeprefix("Skipped: ")))


def unexpected_skips() -> list[tuple[str, str]]:
    return [(nodeid, reason) for nodeid, reason in _skips
            if not any(reason.startswith(expected) for expected in EXPECTED_SKIPS)]


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get(STRICT_SKIPS_VAR) == "1" and unexpected_skips() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if os.environ.get(STRICT_SKIPS_VAR) == "1" and unexpected_skips():
        terminalreporter.section("unexpected skips", red=True)
        for nodeid, reason in unexpected_skips():
            terminalreporter.write_line(f"{nodeid}: {reason}")
        terminalreporter.write_line(f"{len(unexpected_skips())} skips not in "
                                    "tests/conftest.py EXPECTED_SKIPS: the session fails")


def pytest_runtest_setup(item):
    if item.get_closest_marker("root") and os.geteuid() != 0:
        pytest.skip("needs root (namespaces, mounts): run the tests as root")


@pytest.fixture(scope="session", autouse=True)
def sweep_leftovers(request):
    """What killed earlier sessions left (registries, containers, users,
    cgroups, mounts) is removed before the first test, and said so."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    lines = sweep.sweep()
    if lines and reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            for line in lines:
                reporter.write_line(f"sweep: {line}")
    yield
    userenv.remove_shared()
    if os.geteuid() == 0:
        # Containers tests left in their stores are removed with `rm -f`;
        # after that nothing of bridge networking may be left.
        base = request.config._tmp_path_factory.getbasetemp()
        for root, cid in sweep.network_leftovers([base]):
            sweep.remove_container(root, cid)
        left = sweep.network_left(base)
        assert not left, "bridge networking left behind: " + "; ".join(left)


def _need_registry_binary():
    if shutil.which(BINARY) is None:   # make deps installs it: a failure, not a skip
        pytest.fail(f"{BINARY} not installed (Debian package docker-registry): run `make deps`")


@pytest.fixture(scope="session")
def registry():
    _need_registry_binary()
    with Registry() as reg:
        yield reg


@pytest.fixture(scope="session")
def token_registry():
    _need_registry_binary()
    accounts = {ALICE[0]: ALICE[1], READER[0]: Account(READER[1], {"*": {"pull"}})}
    with TokenServer(accounts, anonymous={"public/*": {"pull"}}) as ts, \
            Registry(token_server=ts) as reg:
        yield reg


@pytest.fixture(scope="session")
def busybox(images):
    """The standard busybox image's reference."""
    return images.busybox.ref


@pytest.fixture(scope="session")
def pusher(registry):
    return Pusher(registry.host)


@pytest.fixture(scope="session")
def token_pusher(token_registry):
    """Pushes to token_registry as alice."""
    return Pusher(token_registry.host, *ALICE)


@pytest.fixture(scope="session")
def images(pusher):
    return push_standard_set(pusher)


@pytest.fixture
def store_root(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    return root


class DockerConfig:
    """A throw-away DOCKER_CONFIG directory (Docker's config.json format)."""

    def __init__(self, path: Path):
        self.path = path
        self.file = path / "config.json"
        self.env = {"DOCKER_CONFIG": str(path)}

    def write(self, doc: dict) -> Path:
        self.file.write_text(json.dumps(doc))
        return self.file

    def write_auth(self, host: str, username: str, password: str) -> Path:
        """Add `auths.<host>.auth` = base64("user:password"), as `docker login` does."""
        doc = json.loads(self.file.read_text()) if self.file.exists() else {}
        auth = base64.b64encode(f"{username}:{password}".encode()).decode()
        doc.setdefault("auths", {})[host] = {"auth": auth}
        return self.write(doc)


@pytest.fixture
def docker_config(tmp_path):
    path = tmp_path / "docker-config"
    path.mkdir()
    return DockerConfig(path)


class Rsd:
    """Runs the installed console script as a user would."""

    def __init__(self, root: Path, docker_config: DockerConfig):
        self.root = root
        # The script sits next to the interpreter running the tests (.venv/bin).
        self.script = Path(sys.executable).parent / "rs-docker"
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("RS_DOCKER_")}
        self.base_env.update(docker_config.env)

    def __call__(self, *args, input: str | None = None, timeout: float = 60,
                 env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
        """check=True fails the test with rs-docker's stderr on a non-zero exit."""
        proc = subprocess.run([str(self.script), "--root", str(self.root), *map(str, args)],
                              input=input, capture_output=True, text=True, timeout=timeout,
                              env=self.base_env | (env or {}))
        if check and proc.returncode != 0:
            raise AssertionError(f"rs-docker {' '.join(map(str, args))} exited "
                                 f"{proc.returncode}: {proc.stderr.strip()}")
        return proc


def module_rsd(tmp_path_factory, name: str, *refs: str) -> Rsd:
    """An Rsd on a store of its own for a whole test module, with `refs`
    already pulled (module-scoped `rs` fixtures build theirs with this)."""
    base = tmp_path_factory.mktemp(name)
    (base / "store").mkdir()
    (base / "cfg").mkdir()
    runner = Rsd(base / "store", DockerConfig(base / "cfg"))
    for ref in refs:
        runner("pull", ref, check=True)
    return runner


def module_rsd_removing(tmp_path_factory, name: str, *refs: str):
    """module_rsd for a module fixture to `yield from`: every container the
    module's tests left is removed at its end."""
    runner = module_rsd(tmp_path_factory, name, *refs)
    yield runner
    ids = runner("ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        runner("rm", "-f", *ids)


@pytest.fixture
def rsd(store_root, docker_config):
    return Rsd(store_root, docker_config)
