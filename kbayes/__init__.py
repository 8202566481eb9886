"""kbayes: probabilistic state-space models for Kalshi daily-high temperature brackets."""

__version__ = "0.1.0"
