"""Proof of the verdict: the kill matrix (one stack per fault switch) and the flake soak
(the gate many times with benign faults on at random). Harness-side tools: they start the
reference stack as a subprocess through `e2e.targets.session` and never import `reference`."""
