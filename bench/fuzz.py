"""Long fuzzing runs, by hand: `.venv/bin/python bench/fuzz.py [EXAMPLES]` (default 2000 a target).

The suite runs each fuzz target briefly (tests/runner/test_inputs_fuzzed.py: every webhook kind,
Slack forms, ack links; tests/tidings/test_loader_never_crashes.py: every content file kind and
integrations.yml and notifications.yml; tests/tidings/test_import_fuzzed.py: Statuspage imports);
this runs the same targets with EXAMPLES cases each and prints how long it took. Anything it
finds belongs in the REGRESSIONS list of the test, checked on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    examples = sys.argv[1] if len(sys.argv) > 1 else "2000"
    env = {**os.environ, "TIDINGS_FUZZ_EXAMPLES": examples}
    targets = [
        "tests/runner/test_inputs_fuzzed.py",
        "tests/tidings/test_loader_never_crashes.py",
        "tests/tidings/test_import_fuzzed.py",
    ]
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets], cwd=ROOT, env=env
    )
    print(f"{examples} cases a target: {time.perf_counter() - start:.0f} s, exit {run.returncode}")
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
