"""Mount propagation inside a container, read from its /proc/self/mountinfo
(optional fields "shared:N" / "master:N", proc(5)): with the default
rprivate root every mount is private, whether or not an entry says
"rprivate" (that second mount(2) is skipped as a no-op); an entry asking
for another propagation still gets it."""

from __future__ import annotations

import pytest

from tests.fixtures.bundle import make_bundle, run_captured

pytestmark = pytest.mark.root


def mountinfo(tmp_path, mounts, **overrides) -> dict[str, list[str]]:
    """mount point -> its optional fields, as the container sees them."""
    bundle = make_bundle(tmp_path, ["cat", "/proc/self/mountinfo"], mounts=mounts, **overrides)
    result, out, err = run_captured(bundle)
    assert result.exit_code == 0, err
    table = {}
    for line in out.splitlines():
        fields = line.split()
        table[fields[4]] = fields[6:fields.index("-")]
    return table


def binds(tmp_path, *options):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    return [{"destination": f"/mnt{i}", "type": "bind", "source": str(src),
             "options": ["rbind", *opts]} for i, opts in enumerate(options)]


def test_every_mount_is_private_by_default(tmp_path):
    table = mountinfo(tmp_path, binds(tmp_path, ["rprivate"], ["private"], []))
    assert {"/mnt0", "/mnt1", "/mnt2", "/proc", "/dev", "/sys"} <= set(table)
    assert all(not opts for opts in table.values()), table


def test_an_asked_propagation_is_still_applied(tmp_path):
    table = mountinfo(tmp_path, binds(tmp_path, ["rshared"], ["rprivate"]))
    assert [o for o in table["/mnt0"] if o.startswith("shared:")], table
    assert not table["/mnt1"], table

