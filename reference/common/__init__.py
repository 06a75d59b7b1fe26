"""What the platform and the control plane share without depending on each other: boto3 client
construction and the JSON error conventions of their HTTP APIs."""
