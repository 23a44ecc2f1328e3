"""What `rs-docker run` must not import (issue 6): each of these modules costs
milliseconds on every container start (`python -X importtime`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.root

# dataclasses pulls in inspect: ~10-14 ms together; click and requests are
# kept off by cli/fast.py and the lazy registry imports; typing (~3 ms, plus
# ~40 us a NamedTuple field) by models.record, platform (~1.6 ms) by os.uname.
NOT_ON_RUN_PATH = ("dataclasses", "inspect", "click", "requests", "typing", "platform")


def test_run_imports_no_dataclasses_inspect_or_click(rsd, images):
    rsd("pull", images.busybox.ref, check=True)
    # The console script's own entry point, as the installed rs-docker runs it.
    code = ("import sys\nfrom rs_docker.cli.fast import main\n"
            f"sys.argv = ['rs-docker', '--root', {str(rsd.root)!r}, 'run', '--rm',"
            f" '--network', 'none', {images.busybox.ref!r}, 'true']\n"
            "try:\n    rc = main()\nexcept SystemExit as e:\n    rc = e.code\n"
            f"print(rc, *[m for m in {NOT_ON_RUN_PATH!r} if m in sys.modules], file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=rsd.base_env)
    assert proc.stderr.strip().splitlines()[-1] == "0", proc.stderr
