"""Turn one bench/run result directory into the tables the README shows.

usage: summarize.py RESULT_DIR
Reads index.tsv (id, case, tool, operation, command), <id>.json (hyperfine
--export-json), memory-<label>.json (bench/memory.py), failures.tsv and
versions.txt; prints Markdown and writes it to RESULT_DIR/summary.md.
"""

from __future__ import annotations

import json
import os
import sys

# (label, numerator id, denominator id or None for an absolute ms value, budget, kind)
# kind "ratio<=": numerator/denominator must not exceed budget; "ms<": median below budget.
BUDGETS = [
    ("rs run / podman run", "rs-run", "podman-run", 0.25, "ratio<="),
    # crun on a bundle equivalent to rs-docker's (seccomp, caps, masks, cgroup
    # ns, the same mounts: bench/eq_bundle.py) is the budgeted comparison; the
    # minimal `crun spec` bundle (7 mounts, no seccomp) is shown for reference.
    ("rs run / crun run (equivalent bundle)", "rs-run", "crun-eq-run", 4.0, "ratio<="),
    ("rs run / crun run (minimal bundle)", "rs-run", "crun-run", None, "ratio<="),
    ("rs run / podman run (default bridge)", "rs-net-run", "podman-net-run", 0.3, "ratio<="),
    ("rs / podman container -> container 256 MiB", "rs-net-tput", "podman-net-tput", None,
     "ratio<="),
    ("rs --help median", "rs-help", None, 80.0, "ms<"),
    ("rs pull / podman pull (debian-python)", "rs-pull", "podman-pull", 0.8, "ratio<="),
    ("rs pull / skopeo+umoci (debian-python)", "rs-pull", "skopeo-pull", None, "ratio<="),
    ("rs commit / podman commit (debian-python)", "rs-commit", "podman-commit", None,
     "ratio<="),
    ("rs export / podman export (debian-python)", "rs-export", "podman-export", None,
     "ratio<="),
]


def load_rows(rd: str) -> list[dict]:
    rows = []
    with open(os.path.join(rd, "index.tsv")) as f:
        for line in f:
            bid, case, tool, op, _cmd = line.rstrip("\n").split("\t", 4)
            path = os.path.join(rd, bid + ".json")
            row = {"id": bid, "case": case, "tool": tool, "op": op, "median": None}
            if os.path.exists(path):
                with open(path) as jf:
                    r = json.load(jf)["results"][0]
                row.update(median=r["median"] * 1e3, min=r["min"] * 1e3,
                           max=r["max"] * 1e3, runs=len(r["times"]))
            rows.append(row)
    return rows


def load_memory(rd: str) -> dict[str, dict]:
    """Every memory-<label>.json (rs-docker and podman at MEM_N, the
    supervised cases at 20 and 100 containers), by label."""
    out = {}
    for name in sorted(os.listdir(rd)):
        if name.startswith("memory-") and name.endswith(".json"):
            with open(os.path.join(rd, name)) as f:
                out[name.removeprefix("memory-").removesuffix(".json")] = json.load(f)
    return out


def timing_table(rows: list[dict]) -> list[str]:
    out = ["| case | tool | operation | median ms | min | max | runs |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if r["median"] is None:
            out.append(f"| {r['case']} | {r['tool']} | {r['op']} | not available | | | |")
        else:
            out.append(f"| {r['case']} | {r['tool']} | {r['op']} | {r['median']:.1f} "
                       f"| {r['min']:.1f} | {r['max']:.1f} | {r['runs']} |")
    return out


def memory_table(mem: dict[str, dict]) -> list[str]:
    out = ["| tool | containers | processes each | RSS sum MiB | RSS median MiB "
           "| PSS sum MiB | PSS median MiB | `run -d` x N s |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    labels = ["rs-docker", "podman", *sorted(k for k in mem if k not in ("rs-docker", "podman"))]
    for label in labels:
        m = mem.get(label)
        if m is None:
            out.append(f"| {label} | not available | | | | | | |")
            continue
        out.append(
            f"| {label} ({', '.join(m['comm'])}) | {m['n']} | {m['processes_per_container']:g} "
            f"| {m['rss_kib_sum'] / 1024:.1f} | {m['rss_kib_median'] / 1024:.2f} "
            f"| {m['pss_kib_sum'] / 1024:.1f} | {m['pss_kib_median'] / 1024:.2f} "
            f"| {m['start_seconds']:.1f} |")
    return out


def verdict(value: float | None, budget: float | None, kind: str) -> str:
    if value is None:
        return "not available"
    if budget is None:
        return "(no budget)"
    ok = value <= budget if kind == "ratio<=" else value < budget
    return "ok" if ok else "**MISS**"


def budget_table(rows: list[dict], mem: dict[str, dict]) -> list[str]:
    med = {r["id"]: r["median"] for r in rows}
    out = ["| measure | value | budget | verdict |", "| --- | ---: | ---: | --- |"]
    for label, num, den, budget, kind in BUDGETS:
        a, b = med.get(num), med.get(den) if den else 1.0
        value = a / b if a is not None and b else None
        shown = "-" if value is None else (f"{value:.1f} ms" if kind == "ms<" else f"{value:.2f}")
        limit = "-" if budget is None else (f"< {budget:g} ms" if kind == "ms<" else f"<= {budget:g}")
        out.append(f"| {label} | {shown} | {limit} | {verdict(value, budget, kind)} |")
    rs, pm = mem.get("rs-docker"), mem.get("podman")
    for key, name in (("rss_kib_median", "RSS"), ("pss_kib_median", "PSS")):
        value = rs[key] / pm[key] if rs and pm and pm[key] else None
        shown = "-" if value is None else f"{value:.2f}"
        out.append(f"| monitor {name} / conmon {name} (median per container) | {shown} | - "
                   f"| {verdict(value, None, '')} |")
    return out


def main() -> None:
    rd = sys.argv[1]
    rows, mem = load_rows(rd), load_memory(rd)
    lines = []
    vp = os.path.join(rd, "versions.txt")
    if os.path.exists(vp):
        with open(vp) as f:
            lines += ["```", *f.read().rstrip("\n").splitlines(), "```", ""]
    lines += timing_table(rows) + [""] + memory_table(mem) + [""] + budget_table(rows, mem)
    fp = os.path.join(rd, "failures.tsv")
    fails = []
    if os.path.exists(fp):
        with open(fp) as f:
            fails = [ln.rstrip("\n").split("\t", 2) for ln in f if ln.strip()]
    if fails:
        lines += ["", "Not measured:", ""] + [f"- {what}: {why}" for _id, what, why in fails]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(rd, "summary.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
