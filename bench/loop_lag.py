"""A loop-lag probe in a process of its own: how late an asyncio loop that sleeps 1 ms wakes.

    python -m bench.loop_lag SECONDS    # prints one JSON object: p50, p99 and max ms late

Run beside a latency measurement, it shows the machine's own scheduling noise: on a
shared 2-core box a loop doing nothing can wake several milliseconds late, and then
so does the broker's, whatever it does.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time


async def _probe(seconds: float) -> list[float]:
    lags = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - started - 0.001)
    return sorted(lags)


class LoopLagProbe:
    """``with LoopLagProbe(seconds) as probe: ...`` then ``probe.result``: p50/p99/max ms late."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.result: dict = {}

    def __enter__(self) -> "LoopLagProbe":
        self._proc = subprocess.Popen([sys.executable, "-m", "bench.loop_lag", str(self.seconds)],
                                      stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc) -> None:
        out, _ = self._proc.communicate(timeout=self.seconds + 30)
        self.result = json.loads(out) if out.strip() else {}


def main() -> int:
    lags = asyncio.run(_probe(float(sys.argv[1])))
    print(json.dumps({"p50 ms": lags[len(lags) // 2] * 1e3, "p99 ms": lags[int(len(lags) * 0.99)] * 1e3,
                      "max ms": lags[-1] * 1e3}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
