"""Untrusted FMU archives: refused before anything is written outside a private folder."""

import stat
import tempfile
import zipfile

import pytest

from cosim.fmu import archive
from cosim.fmu.archive import FmuArchiveError

DESCRIPTION = """<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="2.0" modelName="m" guid="{0}" variableNamingConvention="flat">
  <CoSimulation modelIdentifier="m"/>
  <ModelVariables>
    <ScalarVariable name="p" valueReference="0" causality="parameter" variability="fixed">
      <Real start="1"/>
    </ScalarVariable>
  </ModelVariables>
  <ModelStructure/>
</fmiModelDescription>
"""


def crafted(path, entries, links=()):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("modelDescription.xml", DESCRIPTION)
        for name, data in entries:
            zf.writestr(name, data)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """tempfile's folder moved under tmp_path, to see what extraction leaves behind."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.mark.parametrize("name", ["../evil.txt", "resources/../../evil.txt", "/var/evil.txt", "C:/evil.txt",
                                  "resources\\..\\..\\evil.txt"])
def test_entries_escaping_the_folder_are_refused_and_nothing_is_written(tmp_path, private_tmp, name):
    fmu = crafted(tmp_path / "bad.fmu", [("binaries/linux64/m.so", b"x"), (name, b"pwned")])
    with pytest.raises(FmuArchiveError, match="refused entry"):
        archive.extract(fmu)
    assert not (tmp_path / "evil.txt").exists()
    assert list(private_tmp.iterdir()) == []  # the private folder was never created or is gone
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "bad.fmu"]
    assert written == []


def test_links_are_refused(tmp_path, private_tmp):
    fmu = crafted(tmp_path / "link.fmu", [], links=[("resources/passwd", "/etc/passwd")])
    with pytest.raises(FmuArchiveError, match="symbolic link"):
        archive.extract(fmu)
    assert list(private_tmp.iterdir()) == []


def test_absurd_sizes_are_refused_while_unpacking(tmp_path, private_tmp, monkeypatch):
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 10_000)
    fmu = crafted(tmp_path / "bomb.fmu", [("resources/zeros.bin", b"\0" * 50_000)])  # compresses to ~100 bytes
    with pytest.raises(FmuArchiveError, match="unpacks to more than"):
        archive.extract(fmu)
    assert list(private_tmp.iterdir()) == []
    monkeypatch.setattr(archive, "MAX_ENTRIES", 2)
    with pytest.raises(FmuArchiveError, match="entries"):
        archive.extract(crafted(tmp_path / "many.fmu", [("a", b""), ("b", b"")]))


def test_not_a_zip_and_no_description(tmp_path):
    (tmp_path / "x.fmu").write_text("not a zip")
    with pytest.raises(FmuArchiveError, match="not a zip archive"):
        archive.read_description(tmp_path / "x.fmu")
    with zipfile.ZipFile(tmp_path / "y.fmu", "w") as zf:
        zf.writestr("binaries/linux64/m.so", b"")
    with pytest.raises(FmuArchiveError, match="no modelDescription.xml"):
        archive.extract(tmp_path / "y.fmu")
    with pytest.raises(FmuArchiveError, match="no such file"):
        archive.read_description(tmp_path / "missing.fmu")


def test_a_good_archive_unpacks_privately_and_is_removed(tmp_path, private_tmp):
    fmu = crafted(tmp_path / "ok.fmu", [("resources/data.csv", b"1,2\n"), ("binaries/linux64/m.so", b"x")])
    folder = archive.extract(fmu)
    assert folder.parent == private_tmp
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    assert (folder / "resources" / "data.csv").read_bytes() == b"1,2\n"
    assert archive.read_description(fmu).modelName == "m"
    archive.remove(folder)
    assert list(private_tmp.iterdir()) == []


def test_duplicated_identical_entries_are_unpacked_once(tmp_path, private_tmp):
    with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile's own warning while writing
        fmu = crafted(tmp_path / "dup.fmu", [("resources/table.csv", b"1,2\n"), ("resources/table.csv", b"1,2\n"),
                                              ("./resources/table.csv", b"1,2\n")])
    folder = archive.extract(fmu)
    try:
        assert (folder / "resources" / "table.csv").read_bytes() == b"1,2\n"
    finally:
        archive.remove(folder)


def test_duplicated_differing_entries_are_refused_naming_fmu_and_entry(tmp_path, private_tmp):
    with pytest.warns(UserWarning, match="Duplicate name"):
        fmu = crafted(tmp_path / "dup.fmu", [("resources/table.csv", b"1,2\n"), ("resources/table.csv", b"9,9\n")])
    with pytest.raises(FmuArchiveError, match=r"FMU .*dup\.fmu: refused entry 'resources/table.csv': the archive "
                                              r"holds it more than once with different contents"):
        archive.extract(fmu)
    with pytest.raises(FmuArchiveError, match=r"dup\.fmu: refused entry 'resources/table.csv'"):
        archive.read_description(fmu)
    assert list(private_tmp.iterdir()) == []


def test_a_file_and_a_folder_of_one_name_are_refused_naming_the_entry(tmp_path, private_tmp):
    fmu = crafted(tmp_path / "clash.fmu", [("resources/a", b"x"), ("resources/a/b", b"y")])
    with pytest.raises(FmuArchiveError, match=r"FMU .*clash\.fmu: cannot unpack entry 'resources/a/b'"):
        archive.extract(fmu)
    assert list(private_tmp.iterdir()) == []


def test_extraction_folders_of_dead_processes_are_removed(tmp_path):
    """A run killed with SIGKILL leaves its cosim-fmu-<pid>-* folder; the next extraction
    removes those of processes that no longer exist, and only those."""
    import os
    import subprocess
    import sys

    from cosim.fmu.archive import remove_orphans

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    orphan = tmp_path / f"cosim-fmu-{dead_pid}-abc"
    (orphan / "binaries").mkdir(parents=True)
    (orphan / "binaries" / "x.so").write_bytes(b"\0")
    mine = tmp_path / f"cosim-fmu-{os.getpid()}-def"
    mine.mkdir()
    other = tmp_path / "cosim-fmu-1-ghi"  # pid 1 lives as long as the machine
    other.mkdir()
    unrelated = tmp_path / "cosim-fmu-notapid"
    unrelated.mkdir()
    assert remove_orphans(tmp_path) == [orphan]
    assert not orphan.exists() and mine.exists() and other.exists() and unrelated.exists()
