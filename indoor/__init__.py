"""indoor: error analysis for image classifiers ("be the algorithm").

Data path: datasets -> backbones -> train -> cache -> analyses -> pages.
"""

__version__ = "0.1.0"
