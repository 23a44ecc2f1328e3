"""The commands of `rs-docker`, as data: each named by module, attribute
and summary, as pip's `commands/__init__.py` `commands_dict` of
`CommandInfo(module_path, class_name, summary)`. (Its global options are
cli/fast.py's GLOBAL_FLAGS.)

cli/main.py builds the click group from these tables and imports a
command's module only when that command runs; `--help` lists the
summaries without importing any.

Adding a command: one entry here, and its click command (without
`short_help`; its docstring, if any, is the help text after the summary)
in the named module.
"""

from __future__ import annotations

from rs_docker.values import record


@record
class Command:
    """A command: the click command `attribute` of `module`, and the one
    line `rs-docker --help` shows for it (Docker's wording, no period)."""

    module: str
    attribute: str
    summary: str


@record
class Group:
    """A command made of subcommands (`rs-docker container ls`): their table
    and its own summary."""

    commands: dict
    summary: str


_IMAGES = "rs_docker.cli.images"
_CONTAINERS = "rs_docker.cli.containers"
_RUN = "rs_docker.cli.run"
_OPS = "rs_docker.cli.ops"
_SUPERVISION = "rs_docker.cli.supervision"

# `docker image ...`: Docker's aliases of the image commands.
IMAGE_COMMANDS = {
    "inspect": Command(_IMAGES, "inspect", "Display detailed information on one or more images"),
    "load": Command(_IMAGES, "load", "Load an image from a tar archive or STDIN"),
    "ls": Command(_IMAGES, "images", "List images"),
    "pull": Command(_IMAGES, "pull", "Download an image from a registry"),
    "push": Command(_IMAGES, "push", "Upload an image to a registry"),
    "rm": Command(_IMAGES, "rmi", "Remove one or more images"),
    "save": Command(_IMAGES, "save",
                    "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    "tag": Command(_IMAGES, "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
}

# `docker container ...`: Docker's aliases of the container commands.
CONTAINER_COMMANDS = {
    "exec": Command(_CONTAINERS, "exec_", "Execute a command in a running container"),
    "inspect": Command(_CONTAINERS, "container_inspect",
                       "Display detailed information on one or more containers"),
    "kill": Command(_CONTAINERS, "kill", "Kill one or more running containers"),
    "list": Command(_CONTAINERS, "ps", "List containers"),
    "logs": Command(_CONTAINERS, "logs", "Fetch the logs of a container"),
    "ls": Command(_CONTAINERS, "ps", "List containers"),
    "prune": Command(_CONTAINERS, "prune", "Remove all stopped containers"),
    "ps": Command(_CONTAINERS, "ps", "List containers"),
    "remove": Command(_CONTAINERS, "rm", "Remove one or more containers"),
    "restart": Command(_CONTAINERS, "restart", "Restart one or more containers"),
    "rm": Command(_CONTAINERS, "rm", "Remove one or more containers"),
    "start": Command(_CONTAINERS, "start", "Start one or more stopped containers"),
    "stop": Command(_CONTAINERS, "stop", "Stop one or more running containers"),
    "wait": Command(_CONTAINERS, "wait",
                    "Block until containers stop, then print their exit codes"),
}

# `docker system ...`: commands about rs-docker itself (others add theirs).
SYSTEM_COMMANDS = {
    "events": Command(_OPS, "events", "Get real time events from the server"),
    "restore": Command(_SUPERVISION, "restore",
                       "Start the containers whose restart policy wants them running"),
}

COMMANDS = {
    "container": Group(CONTAINER_COMMANDS, "Manage containers"),
    "events": SYSTEM_COMMANDS["events"],
    "exec": CONTAINER_COMMANDS["exec"],
    "generate": Group({"systemd": Command(_SUPERVISION, "systemd",
                                          "Generate a systemd unit file for a container")},
                      "Generate structured data based on containers"),
    "image": Group(IMAGE_COMMANDS, "Manage images"),
    "images": IMAGE_COMMANDS["ls"],
    "inspect": Command(_CONTAINERS, "inspect",
                       "Return low-level information on containers and images"),
    "kill": CONTAINER_COMMANDS["kill"],
    "load": IMAGE_COMMANDS["load"],
    "login": Command(_IMAGES, "login", "Log in to a registry"),
    "logout": Command(_IMAGES, "logout", "Log out from a registry"),
    "logs": CONTAINER_COMMANDS["logs"],
    "ps": CONTAINER_COMMANDS["ps"],
    "pull": IMAGE_COMMANDS["pull"],
    "push": IMAGE_COMMANDS["push"],
    "restart": CONTAINER_COMMANDS["restart"],
    "rm": CONTAINER_COMMANDS["rm"],
    "rmi": IMAGE_COMMANDS["rm"],
    "run": Command(_RUN, "run", "Create and run a new container from an image"),
    "save": IMAGE_COMMANDS["save"],
    "start": CONTAINER_COMMANDS["start"],
    "stop": CONTAINER_COMMANDS["stop"],
    "system": Group(SYSTEM_COMMANDS, "Manage rs-docker"),
    "tag": IMAGE_COMMANDS["tag"],
    "wait": CONTAINER_COMMANDS["wait"],
}
