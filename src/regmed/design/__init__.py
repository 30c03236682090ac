"""regmed.design — see DESIGN.md."""
