"""Pull progress as Docker shows it: a bar per layer on a terminal, plain
`<id>: <status>` lines otherwise (only when a layer's status changes, like
`docker pull | cat`), nothing with -q.

Events arrive from the pull's worker threads, so every renderer locks.
"""

from __future__ import annotations

import sys
import threading

# Statuses whose repeats carry only byte counts: plain output shows the
# first, a terminal shows them as bars.
_BYTES = ("Downloading", "Extracting")


class PlainProgress:
    """`abc123def456: Pull complete` lines, one per status change."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, event) -> None:
        with self._lock:
            if self._last.get(event.id) == event.status:
                return
            self._last[event.id] = event.status
            if event.status in _BYTES:
                return
            print(f"{event.id}: {event.status}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichProgress:
    """One rich progress row per layer: `id: status [bar] done/total`."""

    def __init__(self, stream=None):
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        self.console = Console(file=stream or sys.stdout)
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  DownloadColumn(), console=self.console, transient=False)
        self._tasks: dict[str, int] = {}
        self._lock = threading.Lock()
        self._progress.start()

    def __call__(self, event) -> None:
        with self._lock:
            if event.status.startswith("Pulling from"):
                self.console.print(f"{event.id}: {event.status}", highlight=False)
                return
            task = self._tasks.get(event.id)
            description = f"{event.id}: {event.status}"
            if task is None:
                self._tasks[event.id] = self._progress.add_task(
                    description, total=event.total or None, completed=event.current)
            else:
                self._progress.update(task, description=description, completed=event.current,
                                      total=event.total or None)

    def close(self) -> None:
        self._progress.stop()


class QuietProgress:
    def __call__(self, event) -> None:
        pass

    def close(self) -> None:
        pass


def renderer(quiet: bool = False, stream=None):
    """The right renderer for `stream` (stdout by default)."""
    stream = stream or sys.stdout
    if quiet:
        return QuietProgress()
    if stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream)
