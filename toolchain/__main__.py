"""`python -m toolchain` is the `neurodeploy` command."""

from toolchain.cli import main

main()
