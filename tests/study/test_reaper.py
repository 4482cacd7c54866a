"""The watchdog `hpsearch run` starts: a dead driver's processes go with it, a daemon it once started does not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

DRIVER = textwrap.dedent("""
    import os, subprocess, sys, time
    from pathlib import Path
    from hpsearch.study._reaper import start

    scratch = Path(sys.argv[1])
    start(os.getpid())
    time.sleep(1.5)  # the watchdog is up and looking
    # a daemon as pg_ctl starts a database server: a descendant of the driver for a few of the watchdog's
    # looks, then reparented to init when its starter returns
    subprocess.run(["sh", "-c", f"sleep 300 & echo $! > {scratch / 'daemon.pid'}; sleep 2.5"], check=True)
    child = subprocess.Popen(["sleep", "300"])  # the driver's own, as Ray's processes are
    (scratch / "child.pid").write_text(str(child.pid))
    time.sleep(2.5)
    os._exit(0)  # dies without cleaning up, as a driver killed by SIGKILL
""")


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


def test_the_watchdog_kills_what_the_dead_driver_left_but_not_a_daemon_that_left_its_tree(tmp_path: Path) -> None:
    driver = subprocess.run([sys.executable, "-c", DRIVER, str(tmp_path)], timeout=60)
    assert driver.returncode == 0
    child, daemon = int((tmp_path / "child.pid").read_text()), int((tmp_path / "daemon.pid").read_text())
    try:
        assert _gone(child, timeout=20), "the dead driver's child is still running"
        time.sleep(2.0)  # the watchdog has killed what it kills
        assert psutil.Process(daemon).status() != psutil.STATUS_ZOMBIE, "the daemon was killed with the driver"
    finally:
        for pid in (child, daemon):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
