"""``python -m shanhai`` is the ``shanhai`` command."""

from shanhai.cli import main

main()
