"""Runtimes: one module per engine, each registering itself with @toolkit.registry.runtime.

Imported by toolkit.plugins.load_plugins(); base.py, timing.py and variants.py register nothing.
"""
