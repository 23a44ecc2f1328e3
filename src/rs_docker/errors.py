"""Errors a user can cause, each with Docker's exit code.

Only cli/ turns these into stderr + an exit status (cli/main.py). Everything
below cli/ raises them; nothing below cli/ prints or exits.
"""

from __future__ import annotations

# Docker's exit codes for failures of the tool itself and of the command.
EXIT_TOOL = 125        # rs-docker could not do what was asked
EXIT_CANNOT_EXEC = 126  # the command exists but cannot be executed
EXIT_NOT_FOUND = 127   # the command was not found in the container


class RsDockerError(Exception):
    """Base of every error a user can cause. `str()` is the one-line message."""

    exit_code = EXIT_TOOL

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(RsDockerError):
    """A flag or argument the user gave cannot be used."""


class InvalidReference(RsDockerError):
    """An image reference that does not follow the reference grammar."""


class RegistryError(RsDockerError):
    """The registry answered with something we cannot use."""


class RegistryUnreachable(RegistryError):
    """No connection to the registry (DNS, refused, TLS, timeout)."""


class AuthError(RegistryError):
    """The registry refused our credentials, or asked for ones we do not have."""


class ManifestUnknown(RegistryError):
    """The repository, tag or digest does not exist on the registry."""


class UnsupportedManifest(RegistryError):
    """A manifest we refuse to use (schema1, ambiguous, foreign, too large)."""


class PlatformNotFound(RegistryError):
    """An index holds no manifest for the requested platform."""


class DigestMismatch(RsDockerError):
    """Content whose digest or size differs from what it claimed."""


class UnsafeLayerEntry(RsDockerError):
    """A layer tar entry that would escape its root or is otherwise hostile."""


class InvalidArchive(RsDockerError):
    """An image archive (`save` / `load` tar) that is malformed or hostile."""


class ImageNotFound(RsDockerError):
    """No such image in the local store."""


class ContainerNotFound(RsDockerError):
    """No such container."""


class Conflict(RsDockerError):
    """The operation conflicts with the current state (name in use, image in use...)."""


class StoreError(RsDockerError):
    """The local store is unusable (permissions, corruption)."""


class RuntimeFailure(RsDockerError):
    """The container could not be started (a namespace, mount or exec step failed)."""


class CommandNotFound(RuntimeFailure):
    exit_code = EXIT_NOT_FOUND


class CommandNotExecutable(RuntimeFailure):
    exit_code = EXIT_CANNOT_EXEC
