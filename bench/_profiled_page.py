"""AppTest entry point for bench.profile: dashboard.py run under the profiler bench.profile has armed."""

import runpy
import sys

profiler = sys.modules["bench.profile"].ARMED if "bench.profile" in sys.modules else None
if profiler is not None:
    profiler.start()
try:
    runpy.run_path(str(sys.modules["bench.profile"].DASHBOARD), run_name="__main__")
finally:
    if profiler is not None:
        profiler.stop()
