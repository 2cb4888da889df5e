"""山海 Shanhai: an open industry brain for regional manufacturing governance.

The public Python API is what this module exports in ``__all__``; everything else lives in
modules whose names are documented in docs/architecture.md and may change between versions.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("shanhai")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from shanhai.errors import ShanhaiError

__all__ = ["ShanhaiError", "__version__"]
