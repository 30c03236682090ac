"""regmed.evidence — see DESIGN.md."""
