"""Where the stores' folders go (not RAM when a disk is there), and what killed runs left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tui.models import scratch
from tui.models.scratch import OWNER, choose, mount_type, sweep

AL2023 = """\
/dev/nvme0n1p1 / xfs rw,seclabel,noatime 0 0
tmpfs /tmp tmpfs rw,seclabel,nosuid,nodev,size=4015260k,nr_inodes=1048576 0 0
tmpfs /run tmpfs rw,nosuid,nodev 0 0
"""
ALL_DISK = "/dev/vda / ext4 rw,relatime 0 0\n"
ODD = """\
/dev/sda1 / ext4 rw 0 0
/dev/sdb1 /var xfs rw 0 0
tmpfs /var/tmp tmpfs rw 0 0
/dev/sdc1 /mnt/my\\040disk ext4 rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "mounts", "kind"),
    [
        ("/tmp", AL2023, "tmpfs"),
        ("/tmp/hamari-trail-x/spill", AL2023, "tmpfs"),
        ("/var/tmp", AL2023, "xfs"),
        ("/tmpfoo", AL2023, "xfs"),  # a sibling that starts alike is not under /tmp
        ("/var/tmp", ODD, "tmpfs"),  # the longest mount point wins
        ("/var/log", ODD, "xfs"),
        ("/mnt/my disk/t", ODD, "ext4"),  # mount points are written with octal escapes
        ("/tmp", "", ""),  # no /proc: unknown
    ],
)
def test_the_file_system_under_a_path(path: str, mounts: str, kind: str) -> None:
    assert mount_type(path, mounts) == kind


@pytest.mark.parametrize(
    ("env", "mounts", "var_usable", "root", "in_memory"),
    [
        ({}, AL2023, True, "/var/tmp", False),  # AL2023: /tmp is RAM, /var/tmp a disk
        ({}, AL2023, False, "/tmp", True),  # nowhere better: said, and the fix named
        ({}, ALL_DISK, True, "/tmp", False),  # /tmp on a disk stays
        ({}, ODD, True, "/tmp", False),  # /tmp is on / (ext4)
        ({"TMPDIR": "/tmp"}, AL2023, True, "/tmp", True),  # the user's choice, still said
        ({"TMPDIR": "/data"}, ALL_DISK, True, "/tmp", False),  # (default is what TMPDIR gave)
    ],
)
def test_stores_go_to_a_disk_unless_the_user_chose(
    env: dict[str, str], mounts: str, var_usable: bool, root: str, in_memory: bool
) -> None:
    place = choose(env, "/tmp", mounts, lambda path: var_usable and path == "/var/tmp")
    assert (place.root, place.in_memory) == (root, in_memory)
    assert place.why


def _owned(root: Path, name: str, owner: str | None, size: int = 1000) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "trail.duckdb").write_bytes(b"x" * size)
    if owner is not None:
        (folder / OWNER).write_text(owner)
    return folder


def test_the_sweep_removes_only_folders_of_processes_that_are_gone(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = os.getpid()
    started = scratch._start_time(me)
    gone = _owned(tmp_path, "hamari-trail-gone", f"{dead.pid} 1", 5000)
    reused = _owned(tmp_path, "hamari-flows-reused", f"{me} {int(started or 0) + 1}", 3000)
    mine = _owned(tmp_path, "hamari-trail-mine", f"{me} {started}")
    unknown = _owned(tmp_path, "hamari-trail-old", None)  # no owner file: never guessed
    other = _owned(tmp_path, "someone-else", f"{dead.pid} 1")
    garbled = _owned(tmp_path, "hamari-trail-garbled", "\x1b[2J not a pid")
    swept = sweep(str(tmp_path))
    assert not gone.exists()
    assert mine.exists() and unknown.exists() and other.exists() and garbled.exists()
    if started:  # Linux: a pid now used by another process is not the owner
        assert not reused.exists()
        assert (swept.folders, swept.size) == (
            2,
            5000 + 3000 + len(f"{dead.pid} 1") + len(f"{me} {int(started) + 1}"),
        )
    else:
        assert swept.folders == 1


def test_a_killed_run_leaves_a_store_the_next_run_removes(tmp_path: Path) -> None:
    """A process killed with SIGKILL while holding a trail store (as the OOM killer would):
    its folder stays, and the next run's first store removes it and says so."""
    code = (
        "import os, signal, sys\n"
        "from tui.models.trailstore import TrailStore\n"
        "s = TrailStore()\n"
        "print(s._dir, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == -signal.SIGKILL
    left = Path(run.stdout.strip())
    assert left.parent == tmp_path and (left / OWNER).exists()
    code = (
        "from tui.models import scratch\n"
        "from tui.models.trailstore import TrailStore\n"
        "s = TrailStore()\n"
        "print(scratch.describe())\n"
        "s.close()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert not left.exists()
    assert "removed 1 folder" in run.stdout and "killed" in run.stdout
    assert list(tmp_path.iterdir()) == []  # the second run's own store went with close()


@pytest.mark.parametrize(
    ("exc", "full"),
    [
        (OSError(28, "No space left on device"), True),
        (OSError(122, "Disk quota exceeded"), True),
        (RuntimeError('IO Error: Could not write file "x.wal": No space left on device'), True),
        (OSError(13, "Permission denied"), False),
        (ValueError("no space"), False),
    ],
)
def test_a_full_disk_is_told_from_other_errors(exc: Exception, full: bool) -> None:
    assert scratch.disk_full(exc) is full


def test_a_real_full_folder_is_named_with_its_room(tmp_path: Path) -> None:
    hint = scratch.full_hint()
    assert scratch.place().root in hint and "free" in hint and "TMPDIR" in hint


def test_the_flow_store_stops_before_its_disk_fills_and_stays_queryable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the trail store: a full-disk error before anything is written, for added records
    and for files, and what was stored still answers."""
    import errno

    from tui.models.flowengine import FlowEngine
    from tui.models.flowlog import FlowLogParser

    parser = FlowLogParser()
    line = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1234 443 6 1 40 1700000000 1700000060 REJECT OK"
    records = [r for r in (parser.feed_line(line) for _ in range(10)) if r is not None]
    log = tmp_path / "f.log"
    log.write_text(line + "\n")
    engine = FlowEngine(temp_directory=str(tmp_path))
    try:
        engine.add(records)
        monkeypatch.setattr(scratch, "short_of_room", lambda folder, needed: "only 1 MB left")
        for attempt in (lambda: engine.add(records), lambda: engine.load_files(log)):
            with pytest.raises(OSError) as raised:
                attempt()
            assert raised.value.errno == errno.ENOSPC and "only 1 MB left" in str(raised.value)
        assert engine.count() == 10
    finally:
        engine.close()
