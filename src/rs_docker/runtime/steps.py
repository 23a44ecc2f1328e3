"""Ordered steps in a child process, each named for the error report."""

from __future__ import annotations


class Steps:
    """`run(name, fn, *args)` calls fn and remembers `name`, so a failure
    can be reported as {"step": name, ...} over the sync socket."""

    def __init__(self):
        self.current = "start"
        self.done: list[str] = []

    def __call__(self, name: str, fn, *args):
        self.current = name
        result = fn(*args)
        self.done.append(name)
        return result
