"""Stopping the server processes the tests start: politely first, then by force, never waiting forever."""

import os
import signal
import subprocess


def started(server, *steps):
    """Run a server's start-up steps; if one fails, stop what did start (no process left behind) and re-raise."""
    try:
        for step in steps:
            step()
    except BaseException:
        server.stop()
        raise
    return server


def stop_process(process: subprocess.Popen, steps, kill_group: bool = False) -> None:
    """Send each (signal, timeout) in turn until the process exits; SIGKILL it (or its group) if none worked."""
    for sig, timeout in steps:
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL) if kill_group else process.kill()
        process.wait(timeout=10)
