"""regmed.registry — see DESIGN.md."""
