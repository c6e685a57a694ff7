"""Writes of the voice module, by sub-domain. Every function is keyword-only and atomic."""
