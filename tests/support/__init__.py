"""What the test suites share: the one launcher of ``run.py serve``, throwaway databases,
tokens, the shop's Funkos, stream subscribers, ports, and waiting for the background."""
