"""Build the optional C walks (harvest/crosswalk/_walk.c) next to their source, with the C compiler
this Python was built with; `make` runs it before demo, test and bench. Without a compiler it
says so and the crosswalks use their Python walk (same values, slower).

    python -m harvest.crosswalk.build_walk
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

SOURCE = Path(__file__).with_name("_walk.c")


def target() -> Path:
    return SOURCE.with_name("_walk" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def build() -> str | None:
    """Compile when the module is missing or older than its source; None when done, else why not."""
    out = target()
    if out.exists() and out.stat().st_mtime >= SOURCE.stat().st_mtime:
        return None
    cc = shlex.split(sysconfig.get_config_var("CC") or "") or ["cc"]
    if not shutil.which(cc[0]):
        cc = ["cc"]
        if not shutil.which("cc"):
            return "no C compiler found"
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        return f"no Python headers in {include}"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    cmd = [*cc, "-O2", "-shared", "-fPIC", "-Wall", f"-I{include}", str(SOURCE), "-o", str(tmp)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        return f"{shlex.join(cmd)} failed:\n{done.stderr.strip()}"
    os.replace(tmp, out)   # a process importing it meanwhile sees the old file or the new, whole
    return None


def main() -> int:
    why = build()
    if why:
        print(f"note: the C walks of the oai_dc and DataCite crosswalks were not built ({why}); the Python walk is used",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
