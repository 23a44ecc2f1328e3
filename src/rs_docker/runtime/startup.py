"""The start-up slot: what makes one container start fast, held by one
object that its owner enters before the start and leaves after it.

    with StartUp(prefork=True) as startup:   # the owner: cli/fast.py's run entry
        process.start.run(bundle, startup=startup)
    # here everything the start-up changed is as it was

Entering it (the owner's explicit act: no library module changes
interpreter-wide state as a side effect):
  - turns the garbage collector off: a start-up allocates objects by the
    ten thousand (imports) and frees few, the collector's passes over them
    are wasted;
  - starts the cgroup warm-up keeper (cgroups/warmup.py) and, while it runs,
    shortens the switch interval to warmup.SWITCH (the keeper's thread must
    get the GIL in time for its writes while the main thread imports);
  - as root and with `prefork`, forks the container's PID 1 now
    (process/preforked.py), to import and plan while the caller works.

Below its owner the slot is one optional argument (`startup=`), as crun's
`precreate_cgroup` is a slot of its cgroup manager: process.start.spawn
hands the bundle to the preforked PID 1 through `start()` and calls
`done()` once the container runs; nothing else knows what it holds. The
owner calls `done()` itself when the start-up turns into a long wait (a
pull).

Leaving it closes a preforked PID 1 no run took (it exits), stops the
keeper, puts the switch interval back and the collector as it was (what
done() froze is thawed).
"""

from __future__ import annotations

import gc
import sys

TYPE_CHECKING = False  # typing's own constant costs its import
if TYPE_CHECKING:
    from rs_docker.runtime.process.handshake import Container


class StartUp:
    """One start's slot; see the module's docstring. Not reentrant."""

    def __init__(self, prefork: bool = True):
        self._prefork = prefork
        self._pid1 = None          # the unused preforked PID 1 (preforked.Preforked)
        self._keeper = None        # the warm-up keeper this slot started
        self._gc_enabled = True    # the collector's state before __enter__
        self._interval = 0.0       # the switch interval before __enter__
        self._may_freeze = False   # nothing was frozen before: unfreeze undoes our freeze
        self._frozen = False
        self._done = True

    def __enter__(self) -> StartUp:
        self._gc_enabled = gc.isenabled()
        self._may_freeze = gc.get_freeze_count() == 0
        gc.disable()  # before the imports below: they are the start-up's first objects
        self._done = False
        self._interval = sys.getswitchinterval()
        from rs_docker.runtime.cgroups import warmup

        self._keeper = warmup.warm_up()
        if self._keeper is not None:
            sys.setswitchinterval(warmup.SWITCH)
        if self._prefork:
            from rs_docker.runtime.process.preforked import prefork

            try:
                self._pid1 = prefork()
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    @property
    def preforked_pid(self) -> int | None:
        """The host PID of the preforked PID 1 while no start took it."""
        return self._pid1.pid if self._pid1 is not None else None

    def start(self, bundle: str, cgroup_id: str, stdio: tuple) -> Container | None:
        """The container of `bundle` started by the preforked PID 1
        (preforked.start: its cgroup `cgroup_id`, stdio three fds or None);
        None when there is none or it cannot run this bundle: start it the
        usual way. Either way the preforked PID 1 is used or gone on return
        (no child forked after holds its socket)."""
        pid1, self._pid1 = self._pid1, None
        if pid1 is None:
            return None
        from rs_docker.runtime.process import preforked

        try:
            config = preforked.read_config(bundle)
            if config is None:
                return None  # the usual path loads it and reports its error
            return preforked.start(pid1, bundle, config, cgroup_id, stdio)
        finally:
            pid1.close()  # a no-op once taken

    def done(self) -> None:
        """The start-up is over (the container runs, or a pull begins): the
        switch interval back, the collector back on if it was, with the
        start-up's objects frozen out of its passes (gc.freeze) unless
        someone else froze objects before. Idempotent."""
        if self._done:
            return
        self._done = True
        sys.setswitchinterval(self._interval)
        if self._gc_enabled:
            if self._may_freeze:
                gc.freeze()
                self._frozen = True
            gc.enable()

    def __exit__(self, *_exc) -> None:
        """Everything as it was before __enter__, whatever done() did since
        (slots nested in one process restore in turn, the outermost last)."""
        pid1, self._pid1 = self._pid1, None
        try:
            if pid1 is not None:
                pid1.close()
        finally:
            if self._keeper is not None:
                self._keeper.stop()
                self._keeper = None
            self._done = True
            sys.setswitchinterval(self._interval)
            if self._frozen:
                gc.unfreeze()
                self._frozen = False
            if self._gc_enabled:
                gc.enable()
            else:
                gc.disable()
