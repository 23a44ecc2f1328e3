"""The private CPython modules rs-docker uses, each behind its public fallback.

The run path keeps `signal`, `threading`, `socket`, `json`, `hashlib` and
`collections` out (docs/ARCHITECTURE.md, Start-up rules) by using the C
modules under them. Those are CPython's internals, free to change between
versions (`_sha256` became `_sha2` in 3.12), so every module in src takes
them from here, never with `import _x`:

    signal        _signal, else signal (the same calls; results as enums,
                  which compare equal to the ints)
    thread        _thread, else allocate_lock / start_new_thread on threading
    socket        _socket, else socket (socket.socket is a subclass of
                  _socket.socket, socketpair returns those)
    sha256        _sha256.sha256 (3.11), _sha2.sha256 (3.12+), else hashlib's
    tuplegetter   _collections._tuplegetter, else property(itemgetter(i)),
                  what collections.namedtuple itself falls back to
    make_scanner, make_encoder, encode_basestring, encode_basestring_ascii
                  _json's, else json's pure-Python scanner and encoder

A private module is used only when it is there and has every name we call;
otherwise the public one is, imported only then. The fallbacks give the
same results (tests/unit/test_cpython.py checks each with the private
module hidden, on every CPython of pyproject's range found on the machine).
"""

from __future__ import annotations

__all__ = ("signal", "thread", "socket", "sha256", "tuplegetter", "make_scanner",
           "make_encoder", "encode_basestring", "encode_basestring_ascii")


def _private(name: str, uses: tuple[str, ...]):
    """The module `name` if it imports and has every name in `uses`, else None."""
    try:
        module = __import__(name)
    except ImportError:
        return None
    return module if all(hasattr(module, use) for use in uses) else None


# ---- signals -----------------------------------------------------------------

_SIGNAL_USES = ("signal", "getsignal", "pthread_sigmask", "valid_signals",
                "pidfd_send_signal", "SIG_DFL", "SIG_IGN", "SIG_BLOCK", "SIG_SETMASK", "NSIG")

signal = _private("_signal", _SIGNAL_USES)
if signal is None:
    import signal


# ---- threads -----------------------------------------------------------------

class _Threads:
    """_thread's calls we use, on threading (fallback)."""

    @staticmethod
    def allocate_lock():
        import threading

        return threading.Lock()

    @staticmethod
    def start_new_thread(function, args: tuple, kwargs: dict | None = None) -> int:
        """A daemon thread, as _thread's are: the interpreter's exit does
        not wait for it."""
        import threading

        t = threading.Thread(target=function, args=args, kwargs=kwargs, daemon=True)
        t.start()
        return t.ident


thread = _private("_thread", ("allocate_lock", "start_new_thread"))
if thread is None:
    thread = _Threads()


# ---- sockets -----------------------------------------------------------------

_SOCKET_USES = ("socket", "socketpair", "CMSG_SPACE", "AF_UNIX", "AF_INET", "SOCK_SEQPACKET",
                "SOCK_DGRAM", "SOCK_CLOEXEC", "SOL_SOCKET", "SCM_RIGHTS", "MSG_CMSG_CLOEXEC")

socket = _private("_socket", _SOCKET_USES)
if socket is None:
    import socket


# ---- sha256 ------------------------------------------------------------------

_sha = _private("_sha256", ("sha256",)) or _private("_sha2", ("sha256",))
if _sha is not None:
    sha256 = _sha.sha256
else:
    # hashlib loads OpenSSL's libcrypto (milliseconds): only without the builtin.
    from hashlib import sha256


# ---- the named tuple's field getter ------------------------------------------

_collections = _private("_collections", ("_tuplegetter",))
if _collections is not None:
    tuplegetter = _collections._tuplegetter
else:
    def tuplegetter(index: int, doc: str):
        """A read-only property returning item `index` (collections.namedtuple's
        own fallback for _tuplegetter)."""
        from operator import itemgetter

        return property(itemgetter(index), doc=doc)


# ---- JSON's C codec ----------------------------------------------------------

_json = _private("_json", ("make_scanner", "make_encoder", "encode_basestring",
                           "encode_basestring_ascii"))
if _json is not None:
    make_scanner = _json.make_scanner
    make_encoder = _json.make_encoder
    encode_basestring = _json.encode_basestring
    encode_basestring_ascii = _json.encode_basestring_ascii
else:
    from json.encoder import py_encode_basestring as encode_basestring
    from json.encoder import py_encode_basestring_ascii as encode_basestring_ascii

    def make_scanner(context):
        """_json.make_scanner(context): json's pure-Python scanner, on a
        JSONDecoder carrying the context's settings (it also needs the
        decoder's parse_object, parse_array, parse_string and memo)."""
        from json.decoder import JSONDecoder
        from json.scanner import py_make_scanner

        return py_make_scanner(JSONDecoder(
            object_hook=context.object_hook, parse_float=context.parse_float,
            parse_int=context.parse_int, parse_constant=context.parse_constant,
            strict=context.strict, object_pairs_hook=context.object_pairs_hook))

    def make_encoder(markers, default, encoder, indent, key_separator, item_separator,
                     sort_keys, skipkeys, allow_nan):
        """_json.make_encoder's signature and result (a callable (value,
        level) -> iterable of str) on json.JSONEncoder's pure-Python encoder."""
        from json import JSONEncoder

        enc = JSONEncoder(skipkeys=skipkeys, ensure_ascii=encoder is encode_basestring_ascii,
                          check_circular=markers is not None, allow_nan=allow_nan,
                          sort_keys=sort_keys, indent=indent,
                          separators=(item_separator, key_separator), default=default)
        return lambda value, _level: enc.iterencode(value)
