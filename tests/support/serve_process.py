"""Long-running `newsletter` commands in a subprocess, with their stderr read as it comes."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.support.process import newsletter_executable


class RunningCommand:
    """`newsletter ARGS` started in the background; stderr lines collected by a thread."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [newsletter_executable(), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self.stdout = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            self._queue.put(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 60.0) -> re.Match:
        """The first stderr line (from now on) matching `pattern`."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.process.poll() is not None and self._queue.empty():
                    break
                continue
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r}; stderr so far:\n{self.stderr}")

    def interrupt(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        """Send `sig` and wait for the exit status."""
        self.process.send_signal(sig)
        try:
            return self.wait(timeout)
        finally:
            self.kill()

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the exit; collect stdout and close the pipes."""
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        self.stdout = self.process.stdout.read()
        self.process.stdout.close()
        self.process.stderr.close()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.wait()
