"""The black-box template-delivery harness and its tests. Talks HTTP and AWS only."""
