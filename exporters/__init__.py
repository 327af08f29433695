"""Exporters: one module per target, each registering itself with @toolkit.registry.exporter.

Imported by toolkit.plugins.load_plugins(); helper modules (rewrites, tfjs_graph, ...) register nothing.
"""
