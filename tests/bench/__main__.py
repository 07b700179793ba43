"""Run every ``tests/bench/bench_*.py``: import it and call its ``main()``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def run(selected: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    for name in names:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"tests.bench.{name}")
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
