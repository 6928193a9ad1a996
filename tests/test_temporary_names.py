"""atomic_path's temporary name lives in one place (srkit.imageio.temporary_name): the writer, the
leftover finder and the CLI's name-length check all use it."""
import pytest

from srkit.imageio import atomic_path, temporary_files, temporary_name, temporary_name_extra


def test_the_name_format_and_its_length():
    assert temporary_name("/out/clip.mkv", "0a1b2c3d").as_posix() == "/out/.clip.mkv.0a1b2c3d.part.mkv"
    assert temporary_name_extra("/out/clip.mkv") == len(".clip.mkv.0a1b2c3d.part.mkv") - len("clip.mkv") == 19


def test_the_writer_uses_it_and_leaves_nothing(tmp_path):
    target = tmp_path / "o.png"
    with atomic_path(target) as tmp:
        assert temporary_files(target) == [tmp]
        assert tmp.name.startswith(".o.png.") and tmp.name.endswith(".part.png")
        assert len(tmp.name) == len("o.png") + temporary_name_extra(target) == 24
        tmp.write_bytes(b"done")
    assert target.read_bytes() == b"done" and temporary_files(target) == []
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"done" and temporary_files(target) == []
