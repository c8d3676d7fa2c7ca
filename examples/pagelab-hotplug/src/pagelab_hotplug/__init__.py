"""pagelab-hotplug: memory-only nodes hot-added with or without memmap_on_memory."""
