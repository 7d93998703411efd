"""neurodeploy commands: deploy."""
