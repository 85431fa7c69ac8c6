"""Shared pytest setup: make the repository root importable without PYTHONPATH."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Tests never read or fill the user's profile cache (~/.cache/dynvit-cosim).
import os
import tempfile

os.environ.setdefault("DYNVIT_CACHE_DIR", tempfile.mkdtemp(prefix="dynvit-test-cache-"))
