"""regmed.evaluate — see DESIGN.md."""
