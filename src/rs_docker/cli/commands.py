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
_CREATE = "rs_docker.cli.create"
_VOLUMES = "rs_docker.cli.volumes"
_OPS = "rs_docker.cli.ops"
_SYSTEM = "rs_docker.cli.system"
_SUPERVISION = "rs_docker.cli.supervision"
_DATA = "rs_docker.cli.data"
_PORT = "rs_docker.cli.port"

# `docker image ...`: Docker's aliases of the image commands.
IMAGE_COMMANDS = {
    "history": Command(_DATA, "history", "Show the history of an image"),
    "import": Command(_DATA, "import_",
                      "Import the contents from a tarball to create a filesystem image"),
    "prune": Command(_DATA, "image_prune", "Remove unused images"),
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
    "attach": Command(_SUPERVISION, "attach",
                      "Attach local standard input, output, and error streams to a running "
                      "container"),
    "create": Command(_CREATE, "create", "Create a new container"),
    "commit": Command(_DATA, "commit", "Create a new image from a container's changes"),
    "cp": Command(_DATA, "cp",
                  "Copy files/folders between a container and the local filesystem"),
    "diff": Command(_DATA, "diff",
                    "Inspect changes to files or directories on a container's filesystem"),
    "export": Command(_DATA, "export", "Export a container's filesystem as a tar archive"),
    "exec": Command(_CONTAINERS, "exec_", "Execute a command in a running container"),
    "inspect": Command(_CONTAINERS, "container_inspect",
                       "Display detailed information on one or more containers"),
    "kill": Command(_CONTAINERS, "kill", "Kill one or more running containers"),
    "list": Command(_CONTAINERS, "ps", "List containers"),
    "logs": Command(_CONTAINERS, "logs", "Fetch the logs of a container"),
    "ls": Command(_CONTAINERS, "ps", "List containers"),
    "pause": Command(_OPS, "pause", "Pause all processes within one or more containers"),
    "port": Command(_PORT, "port", "List port mappings or a specific mapping for the container"),
    "prune": Command(_CONTAINERS, "prune", "Remove all stopped containers"),
    "ps": Command(_CONTAINERS, "ps", "List containers"),
    "remove": Command(_CONTAINERS, "rm", "Remove one or more containers"),
    "rename": Command(_OPS, "rename", "Rename a container"),
    "restart": Command(_CONTAINERS, "restart", "Restart one or more containers"),
    "rm": Command(_CONTAINERS, "rm", "Remove one or more containers"),
    "start": Command(_CONTAINERS, "start", "Start one or more stopped containers"),
    "stats": Command(_OPS, "stats", "Display a live stream of container(s) resource usage "
                                    "statistics"),
    "stop": Command(_CONTAINERS, "stop", "Stop one or more running containers"),
    "top": Command(_OPS, "top", "Display the running processes of a container"),
    "unpause": Command(_OPS, "unpause",
                       "Unpause all processes within one or more containers"),
    "update": Command(_OPS, "update", "Update configuration of one or more containers"),
    "wait": Command(_CONTAINERS, "wait",
                    "Block until containers stop, then print their exit codes"),
}

# `docker system ...`: commands about rs-docker itself (others add theirs).
SYSTEM_COMMANDS = {
    "df": Command(_DATA, "system_df", "Show docker disk usage"),
    "prune": Command(_DATA, "system_prune", "Remove unused data"),
    "events": Command(_OPS, "events", "Get real time events from the server"),
    "info": Command(_SYSTEM, "info", "Display system-wide information"),
    "restore": Command(_SUPERVISION, "restore",
                       "Start the containers whose restart policy wants them running"),
}

# `docker volume ...`
VOLUME_COMMANDS = {
    "create": Command(_VOLUMES, "create", "Create a volume"),
    "inspect": Command(_VOLUMES, "inspect", "Display detailed information on one or more volumes"),
    "ls": Command(_VOLUMES, "ls", "List volumes"),
    "list": Command(_VOLUMES, "ls", "List volumes"),
    "prune": Command(_VOLUMES, "prune", "Remove unused local volumes"),
    "rm": Command(_VOLUMES, "rm", "Remove one or more volumes"),
    "remove": Command(_VOLUMES, "rm", "Remove one or more volumes"),
}

# `docker network ...`
_NETWORK = "rs_docker.cli.network"
NETWORK_COMMANDS = {
    "connect": Command(_NETWORK, "connect", "Connect a container to a network"),
    "create": Command(_NETWORK, "create", "Create a network"),
    "disconnect": Command(_NETWORK, "disconnect", "Disconnect a container from a network"),
    "inspect": Command(_NETWORK, "inspect",
                       "Display detailed information on one or more networks"),
    "ls": Command(_NETWORK, "ls", "List networks"),
    "list": Command(_NETWORK, "ls", "List networks"),
    "prune": Command(_NETWORK, "prune", "Remove all unused networks"),
    "rm": Command(_NETWORK, "rm", "Remove one or more networks"),
    "remove": Command(_NETWORK, "rm", "Remove one or more networks"),
}

COMMANDS = {
    "attach": CONTAINER_COMMANDS["attach"],
    "container": Group(CONTAINER_COMMANDS, "Manage containers"),
    "network": Group(NETWORK_COMMANDS, "Manage networks"),
    "create": CONTAINER_COMMANDS["create"],
    "commit": CONTAINER_COMMANDS["commit"],
    "cp": CONTAINER_COMMANDS["cp"],
    "diff": CONTAINER_COMMANDS["diff"],
    "export": CONTAINER_COMMANDS["export"],
    "history": IMAGE_COMMANDS["history"],
    "events": SYSTEM_COMMANDS["events"],
    "exec": CONTAINER_COMMANDS["exec"],
    "generate": Group({"systemd": Command(_SUPERVISION, "systemd",
                                          "Generate a systemd unit file for a container")},
                      "Generate structured data based on containers"),
    "image": Group(IMAGE_COMMANDS, "Manage images"),
    "info": SYSTEM_COMMANDS["info"],
    "images": IMAGE_COMMANDS["ls"],
    "import": IMAGE_COMMANDS["import"],
    "inspect": Command(_CONTAINERS, "inspect",
                       "Return low-level information on containers and images"),
    "kill": CONTAINER_COMMANDS["kill"],
    "load": IMAGE_COMMANDS["load"],
    "login": Command(_IMAGES, "login", "Log in to a registry"),
    "logout": Command(_IMAGES, "logout", "Log out from a registry"),
    "logs": CONTAINER_COMMANDS["logs"],
    "pause": CONTAINER_COMMANDS["pause"],
    "port": CONTAINER_COMMANDS["port"],
    "ps": CONTAINER_COMMANDS["ps"],
    "pull": IMAGE_COMMANDS["pull"],
    "push": IMAGE_COMMANDS["push"],
    "rename": CONTAINER_COMMANDS["rename"],
    "restart": CONTAINER_COMMANDS["restart"],
    "rm": CONTAINER_COMMANDS["rm"],
    "rmi": IMAGE_COMMANDS["rm"],
    "run": Command(_RUN, "run", "Create and run a new container from an image"),
    "save": IMAGE_COMMANDS["save"],
    "start": CONTAINER_COMMANDS["start"],
    "stats": CONTAINER_COMMANDS["stats"],
    "stop": CONTAINER_COMMANDS["stop"],
    "system": Group(SYSTEM_COMMANDS, "Manage rs-docker"),
    "tag": IMAGE_COMMANDS["tag"],
    "top": CONTAINER_COMMANDS["top"],
    "unpause": CONTAINER_COMMANDS["unpause"],
    "update": CONTAINER_COMMANDS["update"],
    "version": Command(_SYSTEM, "version", "Show the rs-docker version information"),
    "volume": Group(VOLUME_COMMANDS, "Manage volumes"),
    "wait": CONTAINER_COMMANDS["wait"],
    "completion": Command("rs_docker.cli.completion", "completion",
                          "Generate the autocompletion script for the specified shell"),
    # Hidden (a leading underscore): what the completion scripts call.
    "__complete": Command("rs_docker.cli.completion", "complete",
                          "Print the completions of a command line"),
}
