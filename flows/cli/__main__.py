"""`python -m flows.cli`: the same command line as the `mllm-audit` script."""

from flows.cli import main

main()
