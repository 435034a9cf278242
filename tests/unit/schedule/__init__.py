"""Unit tests for the event configuration and timeline (`schedule/`)."""
