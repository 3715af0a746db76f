"""Deployment to mobile CPUs."""
