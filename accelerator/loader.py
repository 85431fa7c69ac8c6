"""Load SystemC into this process through cppyy, and the accelerator's C++ model.

The model is compiled once into a shared library and loaded with a thin declaration
(``src/model_api.h``: an abstract ``dynvit::Model``, the plain ``HwConfig``, a factory),
so that cling never parses the SystemC headers (about 2 s per process). The library is
built by the system C++ compiler from ``src/model.cpp`` and the headers that
`accelerator.codegen` generates, with the flags cling would use, and cached in
``vocab.paths.cache_dir("build")`` under a key of `MODEL_INPUTS`: the sources, the generated
headers, the compiler, the CPU, the SystemC library and the flags. Without a compiler, or if the
build fails, a one-line warning says why and the model is JIT-compiled by cppyy instead:
the reference path, which ``DYNVIT_SYSTEMC_BUILD=jit`` selects explicitly
(``compiled``: never fall back; ``auto``, the default: compiled, else JIT).

Platform facts this module encodes (see ``DESIGN.md``):

* ``libsystemc.so`` refers to ``sc_main`` and will not load without it, and symbols
  that cling JIT-defines are invisible to ``dlopen``. A tiny compiled shim that
  defines ``sc_main`` is built once with the system C++ compiler into a per-user
  cache directory (keyed by `SHIM_INPUTS`: its source and the library) and loaded with
  ``RTLD_GLOBAL`` before the library.
* The SystemC headers check the C++ standard the library was built with through
  the exported symbol ``sc_core::sc_api_version_<ver>_cxx<std>``; the compiler and
  cling must see ``SC_CPLUSPLUS`` defined to that ``<std>`` value, which is read from
  the library file itself (no hard-coded standard).
* A SystemC kernel exists once per process, so everything here happens at most
  once per process; :func:`load` is idempotent.

Where SystemC comes from: ``$SYSTEMC_HOME`` (``include/`` and one of ``lib``,
``lib64``, ``lib-linux64``, ``lib-linux``) if set, otherwise the system package
(Debian/Ubuntu ``libsystemc-dev``).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vocab.cache import CacheInputs
from vocab.errors import UserError
from vocab.paths import cache_dir
from vocab.progress import first_use

SRC_DIR = Path(__file__).resolve().parent / "src"
# The sc_main shim (one C function of C linkage: no compiler in its key), in one line.
SHIM_INPUTS = CacheInputs("shim", params=("source", "library", "version"))
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


class ModelBuildError(UserError, RuntimeError):
    """The compiled model could not be built: no C++ compiler, or the compiler failed."""


BUILD_ENV = "DYNVIT_SYSTEMC_BUILD"
BUILD_MODES = ("auto", "compiled", "jit")
TRANSLATION_UNIT = "model.cpp"  # every source + the factory: the compiled library, or cling's input
API_HEADER = "model_api.h"  # the thin declaration cppyy sees of the compiled library
# The C++ standard flag for each SC_CPLUSPLUS value.
_STD_FLAG = {199711: "c++98", 201103: "c++11", 201402: "c++14", 201703: "c++17", 202002: "c++20",
             202302: "c++23"}


def build_mode() -> str:
    """``$DYNVIT_SYSTEMC_BUILD``: auto (default), compiled or jit."""
    mode = (os.environ.get(BUILD_ENV) or "auto").strip().lower()
    if mode not in BUILD_MODES:
        raise UserError(f"{BUILD_ENV}={mode!r} is not allowed (allowed: {', '.join(BUILD_MODES)})")
    return mode


def _compiler() -> str:
    """The C++ compiler: ``$CXX`` if set (it must exist), else g++, c++ or clang++ on PATH."""
    cxx = os.environ.get("CXX")
    if cxx:
        found = shutil.which(cxx)
        if not found:
            raise ModelBuildError(f"CXX={cxx} is not an executable C++ compiler")
        return found
    for c in ("g++", "c++", "clang++"):
        found = shutil.which(c)
        if found:
            return found
    raise ModelBuildError("no C++ compiler found (g++, c++ or clang++ on PATH, or $CXX)")


def build_shim(install: SystemCInstall) -> Path:
    """Compile (once, cached) the shared library that defines ``sc_main``.

    One C function of C linkage: any compiler builds the same thing, so the key has no
    compiler in it and a cached shim serves a process that has none."""
    key = SHIM_INPUTS.key(16, source=_SHIM_SOURCE, library=str(install.library), version=install.version)
    out = cache_dir() / f"sc_main_shim-{key}.so"  # at the top of the cache folder, beside every kind
    if out.exists():
        return out
    try:
        cxx = _compiler()
    except ModelBuildError as e:
        raise SystemCNotFound(f"{e}: one is needed once, to build the sc_main shim for {install.library}") from None
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


# -- the compiled model ---------------------------------------------------------------------
#: What invalidates the compiled model, in one line (``vocab.cache``; ``generated``: the digest of
#: the headers `accelerator.codegen` writes).
MODEL_INPUTS = CacheInputs("build", files=("accelerator/src/*.h", "accelerator/src/*.cpp"),
                           params=("generated", "compiler", "cpu", "systemc", "flags"))


def model_sources() -> list[Path]:
    """Every hand-written C++ file of the model (headers and the translation unit)."""
    return MODEL_INPUTS.paths()


def _compiler_identity(cxx: str) -> str:
    proc = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60)
    return f"{cxx}\0{proc.stdout}"


def _cpu_identity() -> str:
    """The CPU the library is tuned for (-march=native): model name and feature flags."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    keep = [l for l in lines if l.split(":")[0].strip() in ("model name", "flags", "Features", "CPU part")]
    return "\n".join(dict.fromkeys(keep)) or f"{platform.machine()} {platform.processor()}"


def model_flags(install: SystemCInstall) -> list[str]:
    """Compiler flags of the model library (include folders are added by `build_model`).

    As cling compiles for cppyy: -O2 -march=native, and floating-point multiply-adds fused
    (clang, hence cling, contracts ``a*b + c`` by default; GCC does only when asked), so the
    compiled and the JIT model compute the same numbers bit for bit."""
    std = _STD_FLAG.get(install.cplusplus)
    if std is None:
        raise ModelBuildError(f"SystemC was built for an unknown C++ standard (SC_CPLUSPLUS {install.cplusplus}L)")
    return [f"-std={std}", f"-DSC_CPLUSPLUS={install.cplusplus}L", "-O2", "-march=native", "-ffp-contract=fast",
            "-fPIC", "-shared"]


def model_build_key(install: SystemCInstall, cxx: str, generated: dict[str, str] | None = None) -> str:
    """The compiled model's key over `MODEL_INPUTS`: sources, generated headers, the compiler and
    its version, the CPU, the SystemC library (path, version, standard), the flags."""
    from . import codegen  # imports the parameters and the program encoding: only when a key is needed

    return MODEL_INPUTS.key(16, generated=codegen.digest(generated), compiler=_compiler_identity(cxx),
                            cpu=_cpu_identity(), systemc=[str(install.library), install.version,
                                                          str(install.cplusplus), str(install.include_dir)],
                            flags=model_flags(install))


def _digest_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _intact(lib: Path) -> bool:
    """The library exists and matches the digest written beside it when it was built."""
    stamp = lib.with_name(lib.name + ".sha256")
    try:
        return lib.is_file() and stamp.read_text().strip() == _digest_file(lib)
    except OSError:
        return False


@contextmanager
def _file_lock(path: Path):
    """An exclusive lock between processes (one builds, the others wait and reuse)."""
    with open(path, "a") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: the atomic renames still keep the cache whole
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_model(install: SystemCInstall, gen_dir: Path) -> Path:
    """The compiled model library for this machine (built once, cached; see the module docstring).

    Concurrent builders are safe: one holds a lock file and builds into a temporary file
    that is renamed into place, the others wait and reuse it. A cached library that does
    not match its recorded digest (damaged, truncated) is rebuilt."""
    cxx = _compiler()
    key = model_build_key(install, cxx, {p.name: p.read_text() for p in gen_dir.glob("*.h")})
    root = MODEL_INPUTS.dir
    lib = root / f"dynvit-model-{key}.so"
    if _intact(lib):
        return lib
    root.mkdir(parents=True, exist_ok=True)
    with _file_lock(root / f"dynvit-model-{key}.lock"):
        if _intact(lib):  # another process built it while this one waited
            return lib
        first_use(f"compiling the SystemC model with {cxx} (once per source change; cached afterwards)")
        fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{lib.name}.", suffix=".tmp")
        os.close(fd)
        cmd = [cxx, *model_flags(install), "-I", str(SRC_DIR), "-I", str(gen_dir), "-I", str(install.include_dir),
               str(SRC_DIR / TRANSLATION_UNIT), "-o", tmp, str(install.library), f"-Wl,-rpath,{install.library.parent}"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                first = next((l for l in proc.stderr.splitlines() if "error" in l), proc.stderr.strip()[-300:])
                raise ModelBuildError(f"compiling the SystemC model with {cxx} failed ({first.strip()})")
            stamp = lib.with_name(lib.name + ".sha256")
            stamp_tmp = Path(tmp + ".sha256")
            stamp_tmp.write_text(_digest_file(Path(tmp)) + "\n")
            os.replace(tmp, lib)  # atomic: a reader sees the old file or the whole new one
            os.replace(stamp_tmp, stamp)
        finally:
            for leftover in (Path(tmp), Path(tmp + ".sha256")):
                leftover.unlink(missing_ok=True)
    return lib


# -- loading ----------------------------------------------------------------------------------
_lock = threading.RLock()
_state: dict = {}


def _load_systemc_library() -> SystemCInstall:
    """Load the shim and libsystemc into the process (no cling parsing); idempotent."""
    if "library" in _state:
        return _state["library"]
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

    cppyy.load_library(str(install.library))
    _state["library"] = install
    return install


def load_systemc() -> SystemCInstall:
    """Load SystemC into this process (idempotent) and ``#include <systemc>`` in cling
    (about 2 s: the JIT path needs it; the compiled model does not)."""
    with _lock:
        if "install" in _state:
            return _state["install"]
        install = _load_systemc_library()
        import cppyy

        cppyy.add_include_path(str(install.include_dir))
        cppyy.cppdef(f"#ifndef SC_CPLUSPLUS\n#define SC_CPLUSPLUS {install.cplusplus}L\n#endif\n")
        if not cppyy.include("systemc"):
            raise SystemCNotFound(f"cling could not #include <systemc> from {install.include_dir}")
        _state["install"] = install
        return install


@dataclass(frozen=True)
class ModelBuild:
    """How this process got its C++ model."""

    path: str  # "compiled" or "jit"
    library: Path | None  # the compiled library (None on the JIT path)
    generated: Path  # the folder of the generated headers
    fallback_reason: str = ""  # why the compiled path was not taken in "auto" mode


def load() -> object:
    """Load SystemC and the project's C++ model (once per process); returns ``cppyy.gbl.dynvit``."""
    with _lock:
        if "ns" in _state:
            return _state["ns"]
        from . import codegen

        mode = build_mode()
        try:
            install = _load_systemc_library()
            gen_dir = codegen.write_headers()
        except OSError as e:  # disk full, read-only cache: one line naming the folder, not a traceback
            raise ModelBuildError(f"cannot write the model's build files into the cache "
                                  f"{e.filename or codegen.cache_dir('build')}: {e.strerror or e}; free space there "
                                  "or set DYNVIT_CACHE_DIR to a writable folder") from None
        lib, reason = None, ""
        if mode != "jit":
            try:
                lib = build_model(install, gen_dir)
            except OSError as e:
                raise ModelBuildError(f"cannot write the compiled model into the cache {e.filename or gen_dir.parent}: "
                                      f"{e.strerror or e}; free space there or set DYNVIT_CACHE_DIR to a writable "
                                      "folder") from None
            except ModelBuildError as e:
                if mode == "compiled":
                    raise
                reason = str(e)
                print(f"dynvit-cosim: warning: {reason}; falling back to JIT-compiling the SystemC model "
                      f"through cppyy (about 2 s per process; {BUILD_ENV}=jit selects it without this warning)",
                      file=sys.stderr)
        if lib is None:
            load_systemc()
        import cppyy

        cppyy.add_include_path(str(SRC_DIR))
        cppyy.add_include_path(str(gen_dir))
        if lib is not None:
            try:
                cppyy.load_library(str(lib))
            except RuntimeError as e:
                raise ModelBuildError(f"loading the compiled model {lib} failed ({e}); "
                                      f"{BUILD_ENV}=jit runs without it") from e
            top = SRC_DIR / API_HEADER
        else:
            top = SRC_DIR / TRANSLATION_UNIT
        if not cppyy.include(str(top)):
            raise RuntimeError(f"cling failed to compile {top}")
        _state["build"] = ModelBuild("compiled" if lib is not None else "jit", lib, gen_dir, reason)
        _state["ns"] = cppyy.gbl.dynvit
        return _state["ns"]


def model_build() -> ModelBuild | None:
    """How this process loaded its C++ model (None before `load`)."""
    return _state.get("build")


if __name__ == "__main__":  # pragma: no cover - diagnostic
    inst = find_systemc()
    print(inst.describe())
    print("shim:", build_shim(inst), file=sys.stderr)
    load()
    print(model_build())
