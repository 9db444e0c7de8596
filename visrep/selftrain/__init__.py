"""The self-training loop's math: trajectories, filtering, metrics, run-directory stages."""
