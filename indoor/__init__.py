"""indoor: error analysis for image classifiers ("be the algorithm").

The data path, one subpackage a step: ``data`` (layouts on disk, image loading, the synthetic demo) ->
``model`` (backbones, the feature pass, the linear probe, fine-tuning, explanations) -> ``cache`` (the build and
the cache format) -> ``analysis`` (pure functions over the cache's arrays) -> ``decisions`` (what reviewers
decided, CSV, apply) -> ``app`` (the Streamlit layer the pages call).
"""

__version__ = "0.2.0"
