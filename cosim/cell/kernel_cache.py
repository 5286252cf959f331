"""numba's disk cache of the cell kernels, kept consistent across their modules.

numba keys a cached function on the modification time of its own source file, so an edit to
a function that another module inlines (``functions.py`` and ``mixing_kernels.py`` are inlined
into ``spme_kernels.py``) leaves the inlining module's cached machine code stale, silently.
:func:`drop_stale`, called when the kernels are imported, hashes the kernel sources together;
when the hash differs from the one stored beside the cache, every cached kernel of this
package is removed, and numba compiles them again once (about a minute).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: the modules whose compiled functions inline each other
SOURCES = ("functions.py", "mixing_kernels.py", "spme_kernels.py", "params.py")


def drop_stale(folder: Path = Path(__file__).resolve().parent) -> bool:
    """Remove the package's numba cache files if the kernel sources changed since they were
    written; returns whether it did. A read-only install is left as it is."""
    digest = hashlib.sha256(b"".join((folder / name).read_bytes() for name in SOURCES)).hexdigest()
    cache = folder / "__pycache__"
    stamp = cache / "cell_kernels.sha256"
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for f in cache.glob("*.nb[ic]"):
            f.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return True
