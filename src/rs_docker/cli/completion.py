"""Shell completion: `rs-docker completion bash|zsh|fish` prints a script
that asks the hidden `rs-docker __complete WORD... CURRENT` for the
candidates, one a line: commands, subcommands, flags (from the click
commands the table names) and the names in the store (containers,
images, volumes, networks) where a command or flag takes them."""

from __future__ import annotations

import os

import click

SHELLS = ("bash", "zsh", "fish")

BASH = r"""# rs-docker completion for bash: source it, or put it in
# /etc/bash_completion.d/rs-docker.
_rs_docker() {
    local IFS=$'\n'
    COMPREPLY=($("${COMP_WORDS[0]}" __complete -- "${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _rs_docker rs-docker
"""

ZSH = r"""#compdef rs-docker
# rs-docker completion for zsh: source it, or put it in a directory of $fpath
# as _rs-docker.
_rs_docker() {
    local -a candidates
    candidates=("${(@f)$(${words[1]} __complete -- "${(@)words[2,$CURRENT]}" 2>/dev/null)}")
    compadd -a candidates
}
compdef _rs_docker rs-docker
"""

FISH = r"""# rs-docker completion for fish: put it in ~/.config/fish/completions/rs-docker.fish
function __rs_docker_complete
    set -l words (commandline -opc) (commandline -ct)
    $words[1] __complete -- $words[2..-1] 2>/dev/null
end
complete -c rs-docker -f -a '(__rs_docker_complete)'
"""

# Which names a command's positional arguments take.
_CONTAINER_COMMANDS = frozenset({
    "attach", "commit", "cp", "diff", "exec", "export", "kill", "logs", "pause", "port",
    "rename", "restart", "rm", "start", "stats", "stop", "top", "unpause", "update", "wait",
    "remove"})
_IMAGE_COMMANDS = frozenset({"rmi", "save", "push", "tag", "history", "images"})
_FIRST_IMAGE = frozenset({"run", "create"})
_VALUE_KINDS = {"--network": "network", "--net": "network", "-v": "volume",
                "--volume": "volume", "--volumes-from": "container"}


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell):
    """Completes commands, flags, and the names of containers, images,
    volumes and networks. Load it with `source <(rs-docker completion
    bash)` (zsh: `source <(rs-docker completion zsh)`; fish: `rs-docker
    completion fish | source`)."""
    click.echo({"bash": BASH, "zsh": ZSH, "fish": FISH}[shell], nl=False)


@click.command("__complete", context_settings={"ignore_unknown_options": True,
                                               "help_option_names": []})
@click.argument("words", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def complete(ctx, words):
    """The candidates for the last of WORDS (the words after `rs-docker`)."""
    for candidate in candidates(ctx, list(words) or [""]):
        click.echo(candidate)


def candidates(ctx, words: list[str]) -> list[str]:
    from rs_docker.cli.commands import COMMANDS, Group
    from rs_docker.cli.fast import GLOBAL_FLAGS, global_context

    *done, current = words
    i, root = 0, None
    takes_value = {o for f in GLOBAL_FLAGS if f.kind != "flag" for o in f.names}
    while i < len(done) and done[i].startswith("-"):
        if done[i] in takes_value:
            if done[i] == "--root" and i + 1 < len(done):
                root = done[i + 1]
            i += 2
            continue
        if done[i].startswith("--root="):
            root = done[i].split("=", 1)[1]
        i += 1
    if root is not None:
        ctx = global_context({"root": root, "debug": False, "insecure_registry": ()})
    if i >= len(done):
        if current.startswith("-"):
            return _matching([o for f in GLOBAL_FLAGS for o in f.names] + ["--help"], current)
        return _matching(sorted(n for n in COMMANDS if not n.startswith("_")), current)
    path = [done[i]]
    entry = COMMANDS.get(done[i])
    i += 1
    if isinstance(entry, Group):
        if i >= len(done):
            return _matching(sorted(entry.commands) if not current.startswith("-")
                             else ["--help"], current)
        path.append(done[i])
        entry = entry.commands.get(done[i])
        i += 1
    if entry is None:
        return []
    from rs_docker.cli.main import load

    command = load(path[-1], entry)
    options = {o: p for p in command.params if isinstance(p, click.Option)
               for o in p.opts + p.secondary_opts}
    rest = done[i:]
    if rest and rest[-1] in options and not options[rest[-1]].is_flag:
        kind = _VALUE_KINDS.get(rest[-1])
        return _matching(_names(ctx, kind), current) if kind else []
    if current.startswith("-"):
        return _matching(sorted(options) + ["--help"], current)
    position, j = 0, 0
    while j < len(rest):
        word = rest[j]
        if word.startswith("-") and word != "-":
            option = options.get(word.split("=", 1)[0])
            j += 2 if option is not None and not option.is_flag and "=" not in word else 1
            continue
        position += 1
        j += 1
    return _matching(_names(ctx, _positional_kind(path, position)), current)


def _positional_kind(path: list[str], position: int) -> str | None:
    group, name = (path[0], path[-1]) if len(path) > 1 else (None, path[0])
    if name == "completion":
        return "shell"
    if group in ("volume", "network") and name in ("inspect", "rm", "remove"):
        return group
    if group == "network" and name in ("connect", "disconnect"):
        return "network" if position == 0 else "container"
    if group in ("volume", "network", "system"):
        return None
    if name in _FIRST_IMAGE:
        return "image" if position == 0 else None
    if name in _IMAGE_COMMANDS or (group == "image" and name not in ("load", "prune")):
        return "image"
    if name == "inspect":
        return "container+image" if group is None else group
    if name in _CONTAINER_COMMANDS or group == "container":
        return "container"
    return None


def _names(ctx, kind: str | None) -> list[str]:
    if kind is None:
        return []
    if kind == "shell":
        return list(SHELLS)
    if kind == "container+image":
        return _names(ctx, "container") + _names(ctx, "image")
    try:
        if kind == "container":
            from rs_docker.container import state

            return sorted(os.listdir(state.names_dir(ctx)))
        if kind == "image":
            from rs_docker.image.catalog import familiar
            from rs_docker.store.images import ImageIndex

            return sorted({familiar(r.reference) for r in ImageIndex(ctx).all()})
        if kind == "volume":
            from rs_docker.store import volumes

            return sorted(v.name for v in volumes.list_all(ctx))
        if kind == "network":
            from rs_docker.network import defs

            try:
                entries = os.listdir(defs.networks_dir(ctx))
            except FileNotFoundError:
                entries = []
            return sorted({n.removesuffix(".json") for n in entries if n.endswith(".json")} |
                          {"bridge", "host", "none"})
    except OSError:
        return []
    return []


def _matching(words, prefix: str) -> list[str]:
    return [w for w in words if w.startswith(prefix)]
