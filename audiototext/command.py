"""The ``audiototext`` command (console script and ``python -m audiototext``): ``audiototext serve
...`` runs the HTTP service (:mod:`audiototext.service`), anything else the command line
(:mod:`audiototext.cli`). The one module that knows both faces, so that neither imports the other."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (see :func:`audiototext.cli.main` and
    :func:`audiototext.service.main`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["serve"]:
        from .service import main as serve

        return serve(argv[1:])
    from .cli import main as cli

    return cli(argv)


__all__ = ["main"]
