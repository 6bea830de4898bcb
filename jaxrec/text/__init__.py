"""Language features: the MiniLM sentence encoder front end, item-text caches, cold items."""
