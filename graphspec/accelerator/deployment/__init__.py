"""Deployment utilities: the model transmuter and the conversion to deployable form."""
