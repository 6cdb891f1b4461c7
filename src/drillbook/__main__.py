"""Allow ``python -m drillbook``."""

from drillbook.cli import main

raise SystemExit(main())
