"""pytest plugins of the e2e suite, each with one job; e2e/conftest.py loads them."""
