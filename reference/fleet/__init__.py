"""The simulated EC2 fleet: one bubblewrap box per running workspace instance."""
