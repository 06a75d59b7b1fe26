"""Reference workspace platform: the product API the harness drives (docs/design.md)."""
