"""The stack's AWS endpoint: moto (EC2, Secrets Manager) plus a real SSM Run Command."""
