"""`python -m bench.speed13`: the compiled report, the workbook and an import, this code beside main's, in turn.

Issue 13's targets: the report (DOCX) under 3 s and the workbook (XLSX) under 5 s and 300 MB at 1,000,000
meetings, an import of 10,000 meetings under 2 s. The machine is shared, so each measurement is taken in rounds:
in each round the code of a baseline commit (`--baseline`, default main before this work, taken with `git archive`)
and this code run one after the other, the order swapped from round to round, each in a child process of its own
(`python -m bench.peak bench.reports ...`, which reports the child's peak memory). The ratio is the median of the
rounds' own ratios (this code's time over the baseline's in the same round). The result goes to the "speed13"
section of bench/RESULTS.md.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = "f8283d3"  # main when issue 13's report, workbook and import work began
DOCX_TARGET, XLSX_TARGET, XLSX_PEAK_MB, IMPORT_TARGET = 3.0, 5.0, 300, 2.0
IMPORT_ROWS = 10_000


def baseline_tree(ref: str, folder: Path) -> Path:
    """The baseline commit's lib/, db/ and bench/ in a folder of their own (git archive)."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", ref, "lib", "db", "bench"], cwd=ROOT, capture_output=True,
                             check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def child(code_dir: Path, args: list[str]) -> dict[str, Any]:
    """`python -m bench.peak ARGS` with the code of code_dir: wall and CPU seconds (user + system, from the
    children's resource usage: children are waited for one at a time), peak MB, its last line of output."""
    import resource

    from bench import peak

    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    with tempfile.TemporaryFile(mode="w+") as err:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench.peak", *args], cwd=code_dir, env=env,
                              stdout=subprocess.PIPE, stderr=err, text=True, check=False)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} with the code of {code_dir} failed:\n{stderr[-3000:]}")
    marks = [line for line in stderr.splitlines() if line.startswith(peak.MARKER)]
    lines = proc.stdout.strip().splitlines()
    return {"seconds": seconds, "cpu": after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime,
            "peak_mb": float(marks[-1][len(peak.MARKER):]) if marks else float("nan"),
            "last": lines[-1] if lines else ""}


def _in_turn(rounds: int, sides: dict[str, Any], log: Any) -> dict[str, list[dict[str, Any]]]:
    """Each side once per round, the order swapped from one round to the next."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            out[name].append(sides[name]())
            log(f"  round {i + 1} {name}: {out[name][-1]['seconds']:.2f} s, {out[name][-1]['peak_mb']:.0f} MB")
    return out


def measure_build(codes: dict[str, Path], db: Path, period: str, fmt: str, rounds: int, builds: int,
                  log: Any = print) -> dict[str, Any]:
    """The file built `builds` times in each child (the first one included: a download is built once); a round's
    time is its child's median build, its memory the child's peak."""
    import json

    def side(code: Path) -> Any:
        def run() -> dict[str, Any]:
            got = child(code, ["bench.reports", "build", str(db), period, fmt, str(builds)])
            built = json.loads(got["last"])
            return {"seconds": statistics.median(built["times"]), "first": built["times"][0],
                    "cpu": statistics.median(built["cpu"]), "peak_mb": got["peak_mb"]}
        return run

    log(f"{fmt} of {period} on {db.name} ...")
    return summary(_in_turn(rounds, {name: side(code) for name, code in codes.items()}, log))


def measure_import(codes: dict[str, Path], folder: Path, rounds: int, log: Any = print) -> dict[str, Any]:
    """`python -m lib --db DB import meetings FILE` of IMPORT_ROWS meetings into a fresh copy of one empty
    database (one commune of 1,000 cells), end to end, starting Python included."""
    import json

    made = json.loads(child(ROOT, ["bench.reports", "import-file", str(folder), str(IMPORT_ROWS)])["last"])

    def side(name: str, code: Path) -> Any:
        def run() -> dict[str, Any]:
            db = folder / f"import-{name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(made["db"], db)
            got = child(code, ["lib", "--db", str(db), "import", "meetings", made["file"]])
            return {"seconds": got["seconds"], "cpu": got["cpu"], "peak_mb": got["peak_mb"]}
        return run

    log(f"import of {IMPORT_ROWS:,} meetings ...")
    return summary(_in_turn(rounds, {name: side(name, code) for name, code in codes.items()}, log))


def summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per side and the median of the rounds' ratios (this code over the baseline)."""
    out: dict[str, Any] = {"runs": runs}
    for name, rows in runs.items():
        out[name] = {"seconds": statistics.median(r["seconds"] for r in rows),
                     "cpu": statistics.median(r["cpu"] for r in rows),
                     "peak_mb": max(r["peak_mb"] for r in rows),
                     "times": [r["seconds"] for r in rows]}
        if "first" in rows[0]:
            out[name]["first"] = statistics.median(r["first"] for r in rows)
    pairs = list(zip(runs["this"], runs["baseline"], strict=True))
    out["ratio"] = statistics.median(o["seconds"] / b["seconds"] for o, b in pairs)
    out["cpu_ratio"] = statistics.median(o["cpu"] / b["cpu"] for o, b in pairs)
    return out


def _met(value: float, limit: float) -> str:
    return "**met**" if value < limit else "**missed**"


def markdown(results: dict[str, Any], info: dict[str, str], command: str, size: int, period: str, rounds: int,
             baseline: str) -> str:
    """The speed13 section of RESULTS.md."""
    lines = ["# The report, the workbook and the import (issue 13, `python -m bench.speed13`)", "",
             f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Each row: {rounds} rounds, in each "
             f"the code of `{baseline}` (the baseline: main before this work, taken with `git archive`) and this "
             "code, one after the other in child processes of their own, the order swapped every round. **ratio** is "
             "the median of the rounds' own ratios (this code's time over the baseline's in the same round): the "
             "machine is shared, so read the medians and the ratio, not one time. **peak MB**: the child's high-water "
             "mark of resident memory (VmHWM), the interpreter and its imports included (about 108 MB before any "
             "work). **CPU s**: user + system seconds of the build (of the whole child for the import), which a "
             "loaded machine inflates less than the wall time.", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += ["", "| what | baseline median s | this code median s | ratio | baseline CPU s | this code CPU s | "
              "CPU ratio | baseline peak MB | this code peak MB | target | by wall time | by CPU time |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for key, label, target in (("docx", f"report DOCX, {period}, {size:,} meetings", f"< {DOCX_TARGET:g} s"),
                               ("xlsx", f"workbook XLSX, {period}, {size:,} meetings",
                                f"< {XLSX_TARGET:g} s, < {XLSX_PEAK_MB} MB"),
                               ("import", f"import of {IMPORT_ROWS:,} meetings (end to end)",
                                f"< {IMPORT_TARGET:g} s")):
        r = results.get(key)
        if not r:
            continue
        b, o = r["baseline"], r["this"]
        # by CPU time: what the wall time would be with a core to itself (the loaded machine's waits left out)
        met, cpu_met = ({"docx": _met(x, DOCX_TARGET), "import": _met(x, IMPORT_TARGET),
                         "xlsx": _met(max(x / XLSX_TARGET, o["peak_mb"] / XLSX_PEAK_MB), 1.0)}[key]
                        for x in (o["seconds"], o["cpu"]))
        lines.append(f"| {label} | {b['seconds']:.2f} | {o['seconds']:.2f} | {r['ratio']:.2f}× | {b['cpu']:.2f} | "
                     f"{o['cpu']:.2f} | {r['cpu_ratio']:.2f}× | {b['peak_mb']:.0f} | {o['peak_mb']:.0f} | {target} | "
                     f"{met} | {cpu_met} |")
    lines += ["", "Every time (s), this code / baseline, round by round:", ""]
    for key, r in results.items():
        pairs = ", ".join(f"{o:.2f}/{b:.2f}" for o, b in zip(r["this"]["times"], r["baseline"]["times"], strict=True))
        lines.append(f"- {key}: {pairs}")
    lines += ["", "What was changed and tried: bench/NOTES.md, \"The report, the workbook and the import (speed13)\"."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure the three cases in turn with the baseline and write the speed13 section."""
    from bench import results as results_md
    from bench.harness import build, machine

    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench.speed13", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1_000_000, help="meetings of the report's database (default 1000000)")
    p.add_argument("--db", type=Path, default=None,
                   help="the database to report on (default bench/bench-SIZE.db, built by `python -m bench`, or built "
                        "here when missing); it is only read")
    p.add_argument("--period", default="2025", help="the period of the report and workbook (default 2025)")
    p.add_argument("--rounds", type=int, default=5, help="rounds per case (default 5)")
    p.add_argument("--builds", type=int, default=2, help="builds of a file per child (default 2, the first included)")
    p.add_argument("--baseline", default=BASELINE, help=f"the commit compared with (default {BASELINE})")
    p.add_argument("--cases", default="docx,xlsx,import", help="a subset of docx,xlsx,import")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="markdown file (default bench/RESULTS.md)")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.builds < 1:
        p.error("--rounds and --builds must be at least 1")
    db = args.db or HERE / f"bench-{args.size}.db"
    if args.db is None:
        build(db, args.size, keep=True)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="speed13-") as tmp:
        codes = {"baseline": baseline_tree(args.baseline, Path(tmp) / "baseline"), "this": ROOT}
        results: dict[str, Any] = {}
        cases = [c.strip() for c in args.cases.split(",") if c.strip()]
        for fmt in ("docx", "xlsx"):
            if fmt in cases:
                results[fmt] = measure_build(codes, db, args.period, fmt, args.rounds, args.builds)
        if "import" in cases:
            results["import"] = measure_import(codes, Path(tmp), args.rounds)
    info["load average at end (1/5/15 min)"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    command = "python -m bench.speed13" + ("" if not argv else " " + " ".join(argv))
    text = markdown(results, info, command, args.size, args.period, args.rounds, args.baseline)
    print(text)
    if args.out is not None:
        results_md.write(args.out, "speed13", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
