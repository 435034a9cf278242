"""Event configuration (pydantic models, YAML loader) and pure time logic for the programme."""
