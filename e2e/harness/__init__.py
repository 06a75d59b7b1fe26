"""Small black-box library: targets, platform client, SSM host, manifests, workspace handle."""
