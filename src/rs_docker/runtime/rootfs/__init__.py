"""The container's filesystem, set up by PID 1 in its mount namespace:
mounts (the OCI mounts, secure joins under the root, pivot_root), devices
(the /dev nodes and the console) and masks (masked and read-only paths)."""
