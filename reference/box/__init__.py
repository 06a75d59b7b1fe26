"""Code that runs *inside* a box's sandbox (Debian python3, stdlib first).

Nothing here may import the rest of `reference`: the sandbox sees only this package.
"""
