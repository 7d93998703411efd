"""neurodeploy commands: data."""
