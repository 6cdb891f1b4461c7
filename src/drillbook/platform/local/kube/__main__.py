"""``python -m drillbook.platform.local.kube``: run localkube in the foreground (same options as the CLI)."""

from __future__ import annotations

import sys

from drillbook.platform.local.kube.foreground import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
