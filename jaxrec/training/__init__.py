"""Training: state, optimizer, pure step, loop."""
