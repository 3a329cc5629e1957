"""``python -m eval.predictors``."""

from .cli import main

raise SystemExit(main())
