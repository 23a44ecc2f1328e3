"""bench/summarize.py: the budget table a reader of the README sees."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SUMMARIZE = Path(__file__).resolve().parents[2] / "bench" / "summarize.py"


def hyperfine_json(path: Path, seconds: list[float]) -> None:
    s = sorted(seconds)
    path.write_text(json.dumps({"results": [{
        "median": s[len(s) // 2], "min": s[0], "max": s[-1], "times": seconds}]}))


def write_run(rd: Path, medians_ms: dict[str, float], missing: tuple[str, ...] = ()) -> None:
    rows = []
    for bid in [*medians_ms, *missing]:
        rows.append(f"{bid}\tcase\ttool-{bid}\top-{bid}\tcmd {bid}\n")
        if bid in medians_ms:
            hyperfine_json(rd / f"{bid}.json", [medians_ms[bid] / 1e3] * 3)
    (rd / "index.tsv").write_text("".join(rows))


def summarize(rd: Path) -> str:
    out = subprocess.run([sys.executable, str(SUMMARIZE), str(rd)], check=True,
                         capture_output=True, text=True).stdout
    assert (rd / "summary.md").read_text() == out
    return out


def row(text: str, label: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if ln.startswith(f"| {label} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_ratios_and_verdicts(tmp_path):
    write_run(tmp_path, {"rs-run": 30.0, "podman-run": 150.0, "crun-run": 6.0, "crun-eq-run": 7.5,
                         "rs-help": 45.0, "rs-pull": 2000.0, "podman-pull": 3000.0,
                         "skopeo-pull": 4000.0})
    out = summarize(tmp_path)
    assert row(out, "rs run / podman run")[1:] == ["0.20", "<= 0.25", "ok"]
    assert row(out, "rs run / crun run (equivalent bundle)")[1:] == ["4.00", "<= 4", "ok"]
    assert row(out, "rs run / crun run (minimal bundle)")[1:] == ["5.00", "-", "(no budget)"]
    assert row(out, "rs --help median")[1:] == ["45.0 ms", "< 80 ms", "ok"]
    assert row(out, "rs pull / podman pull (debian-python)")[1:] == ["0.67", "<= 0.8", "ok"]
    assert row(out, "rs pull / skopeo+umoci (debian-python)")[1:] == ["0.50", "-", "(no budget)"]


def test_missing_rows_and_failures_are_reported_not_guessed(tmp_path):
    write_run(tmp_path, {"podman-run": 150.0}, missing=("rs-run",))
    (tmp_path / "failures.tsv").write_text("rs-run\trs-docker run\tnot available: no such command\n")
    out = summarize(tmp_path)
    assert row(out, "rs run / podman run")[1:] == ["-", "<= 0.25", "not available"]
    assert "| case | tool-rs-run | op-rs-run | not available |" in out
    assert "- rs-docker run: not available: no such command" in out


def test_memory_ratio_uses_medians(tmp_path):
    write_run(tmp_path, {})
    for label, rss, pss in (("rs-docker", 9000, 3000), ("podman", 2000, 600)):
        (tmp_path / f"memory-{label}.json").write_text(json.dumps({
            "label": label, "n": 20, "start_seconds": 3.0, "processes_per_container": 1,
            "comm": ["mon"], "rss_kib_sum": rss * 20, "rss_kib_median": rss,
            "pss_kib_sum": pss * 20, "pss_kib_median": pss}))
    out = summarize(tmp_path)
    assert row(out, "monitor RSS / conmon RSS (median per container)")[1] == "4.50"
    assert row(out, "monitor PSS / conmon PSS (median per container)")[1] == "5.00"
    assert row(out, "rs-docker (mon)")[1:4] == ["20", "1", "175.8"]
