"""Composing issues: placeholders, rendering (Markdown, sanitising, layouts, CSS) and previews.

Everything here runs once per issue; the delivery engine (`newsletter/delivery/message.py`) then
fills the per-recipient markers into pre-built bytes.
"""
