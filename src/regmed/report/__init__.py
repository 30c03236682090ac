"""regmed.report — see DESIGN.md."""
