"""Manim scenes that animate a recorded trace (installed as ``explainer.scenes``)."""
