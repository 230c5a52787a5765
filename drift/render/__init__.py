"""Renderers turn an Outcome into what people and machines read; they compute nothing new."""
