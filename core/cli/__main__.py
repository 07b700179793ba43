"""``python -m core.cli``: the ``xinfang`` command."""

from core.cli import main

main()
