"""Nothing left behind: a watchdog that ends the local Ray processes of a driver that died.

Ray ties its head processes to the driver that started them, but not every agent: killed with
SIGKILL, a driver leaves ``ray::RuntimeEnvAgent`` and ``ray::DashboardAgent`` running for minutes.
``hpsearch run`` starts this module as a process of its own session (a Ctrl-C in the terminal does
not reach it); it notes the driver's descendants every second and, once the driver is gone, kills
those still running (psutil checks each is the same process, not a reused pid), then exits.

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
    known: dict[int, psutil.Process] = {}
    me = os.getpid()  # a child of the driver too
    while True:
        try:
            if not driver.is_running() or driver.status() == psutil.STATUS_ZOMBIE:
                break
            for child in driver.children(recursive=True):
                if child.pid != me:
                    known.setdefault(child.pid, child)
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
