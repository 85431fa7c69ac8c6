"""Load SystemC into this process through cppyy and JIT the accelerator's C++ sources.

Platform facts this module encodes (see ``DESIGN.md``):

* ``libsystemc.so`` refers to ``sc_main`` and will not load without it, and symbols
  that cling JIT-defines are invisible to ``dlopen``. A tiny compiled shim that
  defines ``sc_main`` is built once with the system C++ compiler into a per-user
  cache directory (keyed by a hash of its source, the compiler and the library)
  and loaded with ``RTLD_GLOBAL`` before the library.
* The SystemC headers check the C++ standard the library was built with through
  the exported symbol ``sc_core::sc_api_version_<ver>_cxx<std>``; cling must see
  ``SC_CPLUSPLUS`` defined to that ``<std>`` value, which is read from the
  library file itself (no hard-coded standard).
* A SystemC kernel exists once per process, so everything here happens at most
  once per process; :func:`load` is idempotent.

Where SystemC comes from: ``$SYSTEMC_HOME`` (``include/`` and one of ``lib``,
``lib64``, ``lib-linux64``, ``lib-linux``) if set, otherwise the system package
(Debian/Ubuntu ``libsystemc-dev``).
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from vocab.errors import UserError
from vocab.paths import cache_dir

SRC_DIR = Path(__file__).resolve().parent / "src"
# The one header that includes every C++ source of the model, in dependency order.
TOP_HEADER = "dynvit.h"

_SHIM_SOURCE = """\
// dynvit-cosim: sc_main shim so that libsystemc.so resolves its reference to sc_main.
// The simulation is driven from Python (cppyy) through sc_start; sc_main is never called.
extern "C" int sc_main(int, char**) { return 0; }
"""

_INSTALL_HINT = (
    "install it with `sudo apt-get install libsystemc-dev` (Debian/Ubuntu), "
    "or build SystemC yourself and set SYSTEMC_HOME to its install prefix "
    "(the folder holding include/systemc.h and lib*/libsystemc.so)"
)


class SystemCNotFound(UserError, RuntimeError):
    """SystemC (headers + shared library) could not be found or loaded."""


@dataclass(frozen=True)
class SystemCInstall:
    include_dir: Path
    library: Path
    version: str  # e.g. "2.3.4"
    cplusplus: int  # value of SC_CPLUSPLUS, e.g. 201703

    def describe(self) -> str:
        return f"SystemC {self.version} (C++ {self.cplusplus}L) at {self.library}"


_API_RE = re.compile(rb"sc_api_version_(\d+)_(\d+)_(\d+)_cxx(\d+)L")


def _api_symbol(library: Path) -> tuple[str, int]:
    """Version and C++ standard from the exported ``sc_api_version_*`` symbol.

    The mangled symbol name sits verbatim in the library's dynamic string table,
    so a byte search is enough (no dependency on binutils' ``nm``).
    """
    data = library.read_bytes()
    m = _API_RE.search(data)
    if not m:
        raise SystemCNotFound(
            f"{library} does not export a sc_core::sc_api_version_<ver>_cxx<std> symbol; "
            f"is it a SystemC library? Otherwise {_INSTALL_HINT}"
        )
    ver = ".".join(x.decode() for x in m.groups()[:3])
    return ver, int(m.group(4))


def _lib_candidates(prefix: Path) -> list[Path]:
    out: list[Path] = []
    for sub in ("lib", "lib64", "lib-linux64", "lib-linux", "lib-macosx64"):
        out += sorted((prefix / sub).glob("libsystemc.so*"))
        out += sorted((prefix / sub).glob("libsystemc*.dylib"))
    return out


def _system_lib_dirs() -> list[Path]:
    dirs = []
    try:
        arch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        arch = ""
    for d in ([f"/usr/lib/{arch}"] if arch else []) + [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
        "/usr/local/lib64",
    ]:
        p = Path(d)
        if p.is_dir() and p not in dirs:
            dirs.append(p)
    return dirs


def find_systemc() -> SystemCInstall:
    """Locate SystemC: ``$SYSTEMC_HOME`` first, else the system package."""
    home = os.environ.get("SYSTEMC_HOME")
    if home:
        prefix = Path(home)
        inc = prefix / "include"
        if not (inc / "systemc").exists():
            raise SystemCNotFound(f"SYSTEMC_HOME={home} has no include/systemc header; {_INSTALL_HINT}")
        libs = _lib_candidates(prefix)
        if not libs:
            raise SystemCNotFound(
                f"SYSTEMC_HOME={home} has no libsystemc.so under lib, lib64, lib-linux64 or lib-linux; {_INSTALL_HINT}"
            )
        lib = libs[0]
    else:
        inc_candidates = [Path("/usr/include"), Path("/usr/local/include")]
        inc = next((d for d in inc_candidates if (d / "systemc").exists()), None)
        lib = None
        for d in _system_lib_dirs():
            cands = sorted(d.glob("libsystemc.so")) + sorted(d.glob("libsystemc-*.so")) + sorted(d.glob("libsystemc.so.*"))
            if cands:
                lib = cands[0]
                break
        if inc is None or lib is None:
            missing = "headers (systemc)" if inc is None else "library (libsystemc.so)"
            raise SystemCNotFound(f"SystemC {missing} not found; {_INSTALL_HINT}")
    lib = lib.resolve()
    ver, cxx = _api_symbol(lib)
    return SystemCInstall(include_dir=inc.resolve(), library=lib, version=ver, cplusplus=cxx)


def _compiler() -> str:
    for c in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if c and shutil.which(c):
            return c
    raise SystemCNotFound("no C++ compiler (g++/c++/clang++, or $CXX) found to build the sc_main shim")


def build_shim(install: SystemCInstall) -> Path:
    """Compile (once, cached) the shared library that defines ``sc_main``."""
    cxx = _compiler()
    key = hashlib.sha256(
        "\0".join([_SHIM_SOURCE, shutil.which(cxx) or cxx, str(install.library), install.version]).encode()
    ).hexdigest()[:16]
    out = cache_dir() / f"sc_main_shim-{key}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        src = Path(tmp) / "shim.cpp"
        src.write_text(_SHIM_SOURCE)
        tmp_out = Path(tmp) / out.name
        proc = subprocess.run([cxx, "-shared", "-fPIC", "-O1", "-o", str(tmp_out), str(src)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemCNotFound(f"building the sc_main shim with {cxx} failed:\n{proc.stderr}")
        os.replace(tmp_out, out)  # atomic: concurrent processes race harmlessly
    return out


_lock = threading.Lock()
_state: dict = {}


def load_systemc() -> SystemCInstall:
    """Load SystemC into this process (idempotent) and ``#include <systemc>`` in cling."""
    with _lock:
        if "install" in _state:
            return _state["install"]
        install = find_systemc()
        # The banner is printed when the simulation context is created; the library
        # reads this variable then.
        os.environ.setdefault("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1")
        shim = build_shim(install)
        try:
            ctypes.CDLL(str(shim), mode=ctypes.RTLD_GLOBAL)
            ctypes.CDLL(str(install.library), mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            raise SystemCNotFound(f"loading {install.library} failed ({e}); {_INSTALL_HINT}") from e
        import cppyy

        cppyy.add_include_path(str(install.include_dir))
        cppyy.load_library(str(install.library))
        cppyy.cppdef(f"#ifndef SC_CPLUSPLUS\n#define SC_CPLUSPLUS {install.cplusplus}L\n#endif\n")
        if not cppyy.include("systemc"):
            raise SystemCNotFound(f"cling could not #include <systemc> from {install.include_dir}")
        _state["install"] = install
        return install


def load() -> object:
    """Load SystemC and the project's C++ model (once per process); returns ``cppyy.gbl.dynvit``."""
    load_systemc()
    with _lock:
        if "ns" not in _state:
            import cppyy

            cppyy.add_include_path(str(SRC_DIR))
            if not cppyy.include(str(SRC_DIR / TOP_HEADER)):
                raise RuntimeError(f"cling failed to compile {SRC_DIR / TOP_HEADER}")
            _state["ns"] = cppyy.gbl.dynvit
        return _state["ns"]


def sources() -> list[Path]:
    return sorted(SRC_DIR.glob("*.h"))


if __name__ == "__main__":  # pragma: no cover - diagnostic
    inst = load_systemc()
    print(inst.describe())
    print("shim:", build_shim(inst), file=sys.stderr)
