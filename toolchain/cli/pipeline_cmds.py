"""neurodeploy commands: pipeline."""
