"""Export planning, running, manifests and golden data: everything between a loaded model and an artifact folder."""
