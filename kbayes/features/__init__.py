"""Online market features (issue 13 section 3): each a step with a batch twin.

Every feature is a builder ``feature(params, ...) -> kbayes.step.StepAlgorithm`` whose pure
``init``/``update`` functions run once per grid tick or market event on small NumPy arrays,
paired with a ``feature_batch(params, obs_stacked)`` research twin vectorised over time that
gives the same numbers as folding ``update``. One module per idea (price kinematics,
Savitzky-Golay derivatives, ladder shape, CUSUM, candle location, order flow, book shape);
import the submodules directly.
"""
