"""`python -m bot` is `calico-bot` (the container's entry point)."""

from bot.cli import main

raise SystemExit(main())
