"""Framework adapters. Each is thin: it translates requests and responses, nothing else."""
