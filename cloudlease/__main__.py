"""``python -m cloudlease``: the CLI."""

from cloudlease.cli import main

raise SystemExit(main())
