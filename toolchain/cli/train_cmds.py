"""neurodeploy commands: train."""
