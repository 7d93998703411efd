"""neurodeploy commands: energy."""
