"""In-repo reference provisioner: platform API, control plane, simulated EC2 fleet on moto.

Never imported by the harness (`e2e/`): the two share only wire formats and `fixtures/`.
"""
