"""numba's cache of the cell kernels is dropped when any of their sources changes (numba
itself only notices a change in the very file of a cached function)."""

import shutil
from pathlib import Path

from cosim.cell import kernel_cache


def test_a_change_in_an_inlined_source_drops_the_whole_cache(tmp_path):
    src = Path(kernel_cache.__file__).parent
    for name in kernel_cache.SOURCES:
        shutil.copy(src / name, tmp_path / name)
    cache = tmp_path / "__pycache__"
    assert kernel_cache.drop_stale(tmp_path)  # no stamp yet
    (cache / "spme_kernels.evaluate-1.py311.nbi").write_text("index")
    (cache / "spme_kernels.evaluate-1.py311.1.nbc").write_text("code")
    (cache / "spme_kernels.cpython-311.pyc").write_text("bytecode")
    assert not kernel_cache.drop_stale(tmp_path)  # unchanged sources: the cache stays
    assert (cache / "spme_kernels.evaluate-1.py311.nbi").exists()
    with open(tmp_path / "mixing_kernels.py", "a") as f:
        f.write("\n# an edit\n")
    assert kernel_cache.drop_stale(tmp_path)
    assert sorted(p.name for p in cache.iterdir()) == ["cell_kernels.sha256", "spme_kernels.cpython-311.pyc"]
