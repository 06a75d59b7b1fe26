"""How a run gets its target: reference stacks started from a warm fork server (embedded), a
stack or tenant already running (external, staging, from the environment), or a tenant made
for the run through the control plane. Above the black-box library (`e2e.harness`), which
never knows how a target was started."""
