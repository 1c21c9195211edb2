"""Run every benchmark and write bench/results/latest.json (ratios are measured in one run)."""
from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

from bench import transform


def main() -> None:
    results = {"when": datetime.now(timezone.utc).isoformat(), "python": platform.python_version(),
               "machine": platform.machine(), "transform_per_core": transform.run()}
    print("transform throughput (one core): parse + crosswalk vs bare lxml parse of the same pages")
    for r in results["transform_per_core"]:
        print(f"  {r['format']:13} {r['parse_and_crosswalk_rec_per_s']:>9,} rec/s   "
              f"(bare parse {r['lxml_parse_rec_per_s']:>9,} rec/s, {r['ratio_to_bare_parse']}x its time)")
    out = Path(__file__).parent / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
