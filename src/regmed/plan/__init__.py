"""regmed.plan — see DESIGN.md."""
