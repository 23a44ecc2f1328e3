"""tarfile, strict: what a stream-read tar from a registry or an archive
must not pass quietly."""

from __future__ import annotations

import tarfile
from collections.abc import Callable

MAX_HEADER = 1 << 20  # a GNU long name/link or a PAX header, read whole into memory
_HEADER_TYPES = {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE,
                 tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE}


def strict_tarinfo(fail: Callable[[str], Exception]) -> type[tarfile.TarInfo]:
    """A TarInfo class for `tarfile.open(tarinfo=...)` that raises fail(why)
    (1) at a header cut or garbled after the first one, where tarfile would
    end the archive quietly — a tar cut short must fail, as GNU tar's
    "Unexpected EOF in archive" does (a zero block, the real end, is
    EOFHeaderError and still ends the loop); (2) at an extended header over
    MAX_HEADER bytes, before tarfile reads it into memory."""

    class StrictTarInfo(tarfile.TarInfo):
        @classmethod
        def fromtarfile(cls, tf):
            try:
                return super().fromtarfile(tf)
            except (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError,
                    tarfile.InvalidHeaderError) as e:
                if tf.offset == 0:
                    raise
                raise fail(f"{e} at offset {tf.offset} (no end-of-archive marker)") from None

        def _proc_member(self, tf):
            if self.type in _HEADER_TYPES and self.size > MAX_HEADER:
                raise fail(f"a {self.size}-byte extended header (limit {MAX_HEADER})")
            return super()._proc_member(tf)

    return StrictTarInfo
