"""The browser demo: a 127.0.0.1-only static file server (also used by the browser runtimes) and the page's app."""
