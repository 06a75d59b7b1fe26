"""Reference control plane: resolves and collects template files, stages them, launches boxes."""
