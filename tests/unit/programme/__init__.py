"""Unit tests for the programme and meals features (planning, calendar file, domain functions)."""
