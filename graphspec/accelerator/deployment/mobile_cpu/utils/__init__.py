"""Mobile CPU deployment utilities."""
