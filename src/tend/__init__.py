"""Tend: an open-source, multi-tenant CRM platform."""

__version__ = "0.1.0"
