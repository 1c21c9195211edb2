"""Versioned index snapshots, published atomically, and analysts' access to them."""
