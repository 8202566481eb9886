"""The experiment tests run kinds through the framework: register them as the CLI does."""

import experiments  # noqa: F401  (kbayes itself imports no kind; importing registers them)
