"""What a container may do: steps (the security steps of init, in runc's
order), caps (capability sets), seccomp (filter from the OCI section) and
seccomp_cache (compiled programs kept per libseccomp build), rlimits."""
