"""Jinja2 templates for the HTML report (installed as ``explainer.templates``)."""
