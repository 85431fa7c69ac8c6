"""`python -m cosim`: the `cosim` command line (same as the installed `cosim` script)."""

from .cli import app

if __name__ == "__main__":  # pragma: no cover
    app()
