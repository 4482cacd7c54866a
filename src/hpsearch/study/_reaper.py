"""Nothing left behind: a watchdog that ends the local Ray processes of a driver that died.

Ray ties its head processes to the driver that started them, but not every agent: killed with
SIGKILL, a driver leaves ``ray::RuntimeEnvAgent`` and ``ray::DashboardAgent`` running for minutes.
``hpsearch run`` starts this module as a process of its own session (a Ctrl-C in the terminal does
not reach it); it notes the driver's descendants every second and, once the driver is gone, kills
those that were its descendants at the last look and are still running (psutil checks each is the
same process, not a reused pid), then exits. A process that left the driver's tree while the driver
lived is not the driver's to take along: a daemon started through it (a database server that
``pg_ctl`` started, reparented once ``pg_ctl`` returned; a service a notebook started before it ran a
search) outlives it.

    python -m hpsearch.study._reaper DRIVER_PID
"""

from __future__ import annotations

import os
import sys
import time


def reap(driver_pid: int, every_s: float = 1.0) -> int:
    """Watch `driver_pid`; when it ends, kill what it left. Return how many processes were killed."""
    import psutil

    try:
        driver = psutil.Process(driver_pid)
    except psutil.NoSuchProcess:
        return 0
    known: dict[int, psutil.Process] = {}  # the driver's descendants at the last look
    me = os.getpid()  # a child of the driver too
    while True:
        try:
            if not driver.is_running() or driver.status() == psutil.STATUS_ZOMBIE:
                break
            known = {child.pid: known.get(child.pid, child) for child in driver.children(recursive=True)
                     if child.pid != me}
        except psutil.NoSuchProcess:
            break
        time.sleep(every_s)
    left = []
    for process in known.values():
        try:
            if process.is_running():
                left.append(process)
                left.extend(p for p in process.children(recursive=True) if p.pid != me)
        except psutil.NoSuchProcess:
            continue
    for process in left:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(left, timeout=10)
    return len(left)


def start(driver_pid: int) -> None:
    """Start the watchdog for `driver_pid`, detached from the driver's terminal and session."""
    import subprocess

    subprocess.Popen([sys.executable, "-m", "hpsearch.study._reaper", str(driver_pid)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     close_fds=True)


if __name__ == "__main__":
    reap(int(sys.argv[1]))
