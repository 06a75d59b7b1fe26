"""Test support shared by the unit and integration tests (fakes, servers, stacks), imported as
`support.<module>` (pytest puts tests/ on the path): test code never ships in `reference/` or
`e2e/`, and no test imports another test module."""
