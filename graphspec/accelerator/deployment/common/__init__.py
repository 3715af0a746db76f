"""Device-independent deployment utilities."""
