import os
import stat
from pathlib import Path

import pytest
import torch

from gnncli.errors import OutputError
from gnncli.io import atomic_open, atomic_path, is_stream_output, load_tensors, output_stream, save_tensors, write_json
from tests.special_files import FifoReader, make_device, make_fifo


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary left behind
    with atomic_open(target) as handle:
        handle.write("new")
    assert target.read_text() == "new"


def test_atomic_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o644


# ----------------------------------------------------------- what kind of file the output is


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "out.csv"
    make_fifo(path)
    return path


def test_a_fifo_is_written_as_it_is(fifo):
    assert is_stream_output(fifo)
    reader = FifoReader(fifo)
    with atomic_open(fifo, "w", encoding="utf-8") as handle:
        handle.write("a,b\n1,2\n")
    assert reader.result() == b"a,b\n1,2\n"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in fifo.parent.iterdir()] == ["out.csv"]


def test_output_stream_writes_a_fifo_as_it_is(fifo):
    reader = FifoReader(fifo)
    with output_stream(fifo) as stream:
        stream.write("smiles,y\nCCO,1.5\n")
    assert reader.result() == b"smiles,y\nCCO,1.5\n"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_atomic_path_copies_into_a_fifo_what_a_library_wrote(tmp_path):
    # torch.save needs a path it can write and seek in; the bytes reach the FIFO when it is done
    fifo = tmp_path / "weights.pt"
    make_fifo(fifo)
    reader = FifoReader(fifo)
    weights = {"w": torch.arange(50_000, dtype=torch.float32)}  # more than a pipe buffer holds
    with atomic_path(fifo) as tmp:
        assert tmp.parent != tmp_path  # built in the system's temporary folder, not beside the FIFO
        torch.save(weights, tmp)
    copy = tmp_path / "copy.pt"
    copy.write_bytes(reader.result())
    assert torch.equal(torch.load(copy, weights_only=True)["w"], weights["w"])
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert not tmp.exists()


def test_a_device_is_written_as_it_is(tmp_path):
    null = make_device(tmp_path / "null", 3)
    with atomic_open(null, "w") as handle:
        handle.write("discarded")
    with output_stream(null) as stream:
        stream.write("discarded")
    save_tensors(null, {"w": torch.zeros(3)})
    write_json(null, {"a": 1})
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


@pytest.fixture
def no_rename_onto_dev(monkeypatch):
    """Should writing to /dev/... ever regress to temp-and-rename, fail instead of replacing the
    machine's device file."""
    real_replace, real_rename = os.replace, os.rename

    def guarded(real):
        def call(src, dst, *args, **kwargs):
            if os.path.realpath(dst).startswith("/dev/"):
                raise AssertionError(f"would rename a file onto {dst}")
            return real(src, dst, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "replace", guarded(real_replace))
    monkeypatch.setattr(os, "rename", guarded(real_rename))


@pytest.mark.skipif(not os.access("/dev/null", os.W_OK), reason="no writable /dev/null")
def test_dev_null_stays_a_device(no_rename_onto_dev):
    with output_stream("/dev/null") as stream:
        stream.write("discarded\n")
    with atomic_path("/dev/null") as tmp:
        tmp.write_bytes(b"discarded")
    save_tensors("/dev/null", {"w": torch.zeros(3)})
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_a_symlink_stays_and_its_target_is_written(tmp_path):
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "preds.csv"
    target.write_text("old")
    link = tmp_path / "latest.csv"
    link.symlink_to(Path("data") / "preds.csv")
    assert not is_stream_output(link)
    with atomic_open(link, "w") as handle:
        handle.write("new")
        assert target.read_text() == "old"  # still atomic at the target
    assert link.is_symlink() and os.readlink(link) == str(Path("data") / "preds.csv")
    assert target.read_text() == "new"
    save_tensors(link, {"w": torch.ones(2)})
    assert link.is_symlink()
    assert torch.equal(load_tensors(target)["w"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "latest.csv"]
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["preds.csv"]  # no temporary left


def test_a_dangling_symlink_gets_its_target_created(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "real.json")
    write_json(link, {"a": 1})
    assert link.is_symlink()
    assert (tmp_path / "real.json").read_text() == '{\n  "a": 1\n}\n'


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="no /dev/fd")
def test_dev_fd_writes_through_the_open_descriptor(tmp_path):
    # `gnn predict ... --out /dev/stdout >> log.csv`: keep what is there, write where stdout is
    log = tmp_path / "log.csv"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, b"earlier\n")
        inode = os.fstat(fd).st_ino
        with output_stream(f"/dev/fd/{fd}") as stream:
            stream.write("a,b\n")
        os.write(fd, b"later\n")
    finally:
        os.close(fd)
    assert log.read_text() == "earlier\na,b\nlater\n"
    assert log.stat().st_ino == inode
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]


def test_dash_is_stdout(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with atomic_open("-", "w") as handle:
        handle.write("a,b\n")
    with atomic_path("-") as tmp:
        tmp.write_bytes(b"1,2\n")
    with output_stream("-") as stream:
        stream.write("3,4\n")
    assert capsys.readouterr().out == "a,b\n1,2\n3,4\n"
    assert list(tmp_path.iterdir()) == []  # no file named '-'


def test_a_regular_file_is_replaced_atomically_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "secret.csv"
    target.write_text("old")
    target.chmod(0o600)
    with atomic_open(target, "w") as handle:
        handle.write("new, half")
        handle.flush()
        assert target.read_text() == "old"  # a reader sees the old file until the new one is complete
    assert target.read_text() == "new, half"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.csv"]


# ----------------------------------------------------------- errors name the user's path


def test_error_names_the_path_when_a_parent_is_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    out = tmp_path / "notes.txt" / "sub" / "out.csv"
    with pytest.raises(OutputError) as caught:
        with atomic_open(out) as handle:
            handle.write("x")
    message = str(caught.value)
    assert message == f"{out}: cannot write ({tmp_path / 'notes.txt'} is a file, not a folder)"
    with pytest.raises(OutputError, match=r"notes\.txt is a file, not a folder"):
        with atomic_path(tmp_path / "notes.txt" / "x.pt") as tmp:
            tmp.write_bytes(b"x")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="no /proc")
def test_error_names_the_path_under_proc():
    with pytest.raises(OutputError) as caught:
        with output_stream("/proc/x.csv") as stream:
            stream.write("x")
    message = str(caught.value)
    assert message.startswith("/proc/x.csv: cannot write (")
    assert ".tmp" not in message


def test_error_names_the_path_of_a_folder(tmp_path):
    with pytest.raises(OutputError, match=r": is a folder, expected a file$"):
        with atomic_open(tmp_path) as handle:
            handle.write("x")


def test_a_full_device_gives_no_space_left(tmp_path):
    full = make_device(tmp_path / "full", 7)
    with pytest.raises(OutputError, match=r"^.*/full: cannot write \(No space left on device\)$"):
        with output_stream(full) as stream:
            stream.write("x" * 100)
    with pytest.raises(OutputError, match=r"/full: cannot write \(No space left on device\)"):
        save_tensors(full, {"w": torch.zeros(3)})
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_a_full_disk_while_writing_names_the_path(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(OutputError, match=r"out\.csv: cannot write \(No space left on device\)$"):
        with atomic_path(target) as tmp:
            raise OSError(28, "No space left on device")  # as a library writing tmp raises it
    assert target.read_text() == "old"
    # an error about some other file is not blamed on the output
    with pytest.raises(FileNotFoundError):
        with atomic_path(target):
            open(tmp_path / "missing-input.csv")


def test_a_full_temporary_folder_is_named_as_such(tmp_path):
    # a FIFO's file is built in the system's temporary folder: a full disk there is not the FIFO's fault
    fifo = make_fifo(tmp_path / "out.pt")
    with pytest.raises(OutputError, match=r"out\.pt: cannot write \(temporary file in .+: No space left on device\)$"):
        with atomic_path(fifo):
            raise OSError(28, "No space left on device")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
