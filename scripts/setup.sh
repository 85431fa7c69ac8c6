#!/usr/bin/env bash
# One-shot, idempotent set-up of dynvit-cosim on Debian/Ubuntu.
#   - system packages: SystemC (libsystemc-dev), a C++ compiler, Python headers/venv
#   - .venv with torch==2.13.0 first (the CPU build on these machines; a plain
#     `torch` requirement would pull a multi-GB CUDA build), then the project (editable, dev extras)
# Takes seconds when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

# bold only on a terminal (a log piped to a file gets plain text), and never with NO_COLOR set
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then B=$'\033[1m' R=$'\033[1;31m' N=$'\033[0m'; else B= R= N=; fi
say() { printf '%s[setup]%s %s\n' "$B" "$N" "$*"; }
die() { printf '%s[setup] error:%s %s\n' "$R" "$N" "$*" >&2; exit 1; }

# ---- system packages -------------------------------------------------------
need_apt=()
if [ -n "${SYSTEMC_HOME:-}" ]; then
  [ -f "$SYSTEMC_HOME/include/systemc" ] || die "SYSTEMC_HOME=$SYSTEMC_HOME has no include/systemc; unset it to use Debian's libsystemc-dev"
elif [ ! -f /usr/include/systemc ]; then
  need_apt+=(libsystemc-dev)
fi
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v "$PYTHON" >/dev/null 2>&1 || need_apt+=(python3)
if command -v "$PYTHON" >/dev/null 2>&1; then
  "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
  inc=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  [ -f "$inc/Python.h" ] || need_apt+=(python3-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "missing system packages: ${need_apt[*]}. Run: sudo apt-get update && sudo apt-get install -y ${need_apt[*]}  (or set SYSTEMC_HOME to your own SystemC build), then run this again."
  fi
  say "installing system packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "Python >= 3.11 is needed ($PYTHON is $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11"

# ---- virtual environment -----------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
PIP=("$VENV/bin/python" -m pip install -q)

have() {  # are these modules installed? (found, not imported: keeps a no-op set-up fast)
  (cd / && "$VENV/bin/python" -c 'import importlib.util, sys; sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1:]) else 1)' "$@") 2>/dev/null
}

if ! have torch; then
  say "installing $TORCH_SPEC (CPU build) first"
  "${PIP[@]}" "$TORCH_SPEC"
fi

stamp="$VENV/.dynvit-installed"
# A path-based ("compat") editable install: packages added later import without a reinstall.
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] \
   || ! have vocab cosim host traces accelerator workloads cppyy simpy h5py transformers pytest xdist dask distributed pyarrow hypothesis PIL importlinter; then
  say "installing dynvit-cosim and its dependencies into $VENV (the first time compiles cppyy: a few minutes)"
  "${PIP[@]}" -e '.[dev]' --config-settings editable_mode=compat
  touch "$stamp"
fi
say "ready: $VENV ($("$VENV/bin/python" -c 'from importlib.metadata import version; print("torch", version("torch"))'))"
