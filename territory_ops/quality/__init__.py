"""The data-quality gate: expectation suites and checks over landing files and marts."""
