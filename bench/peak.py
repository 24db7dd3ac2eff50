"""`python -m bench.peak MODULE ARGS...` (or `-c CODE`): run it as __main__, then report its peak memory on stderr.

The peak is VmHWM of /proc/self/status, the high-water mark of this process's own memory since its
exec. A child's ru_maxrss (getrusage RUSAGE_CHILDREN, os.wait4) is no good here: on Linux, exec
carries the parent's high-water mark over into the child's, so every child of a 150 MB parent would
report at least 150 MB.
"""

import resource
import runpy
import sys

MARKER = "BENCH_PEAK_MB="


def peak_mb() -> float:
    """This process's peak resident memory in MB (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    """Run the module (or code) with the remaining arguments; return its exit code."""
    target, args = argv[0], argv[1:]
    code: int | str | None = 0
    try:
        if target == "-c":
            sys.argv = ["-c", *args[1:]]
            exec(compile(args[0], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = [target, *args]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code
    finally:
        sys.stdout.flush()
        print(f"\n{MARKER}{peak_mb():.1f}", file=sys.stderr)
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
