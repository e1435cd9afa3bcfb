"""Plotting helpers shared by chapters and widgets (computing stays elsewhere), by topic:
``images`` (tensors to arrays, rows of images, overlays), ``maps`` (map grids and clean /
adversarial pairs), ``curves`` (accuracy and loss curves), ``protopnet`` (prototypes),
``promotion`` (chapter 6's suppression / promotion plane and concept examples), ``pathways``
(chapter 8's attack pathway graphs and channel drill-down), ``layers`` (chapter 7's explanations
layer by layer), and ``legibility`` (is every text at
least 8 pt where the book shows the figure?)."""
from .curves import accuracy_curves, loss_curves, margin_curves, transform_curves
from .images import amplify, image_grid, image_kwargs, overlay, show_images, to_hwc
from .layers import explanation_grid
from .legibility import COLUMN_IN, MIN_PT, overlaps, shown_width, smallest_text_pt
from .maps import map_grid, map_pairs, pair_titles
from .pathways import channel_drilldown, pathway_graph
from .promotion import concept_examples, pse_scatter
from .protopnet import prototypes

__all__ = [
           "COLUMN_IN",
           "MIN_PT",
           "accuracy_curves",
           "amplify",
           "channel_drilldown",
           "concept_examples",
           "explanation_grid",
           "image_grid",
           "image_kwargs",
           "loss_curves",
           "map_grid",
           "map_pairs",
           "margin_curves",
           "overlaps",
           "overlay",
           "pair_titles",
           "pathway_graph",
           "prototypes",
           "pse_scatter",
           "show_images",
           "shown_width",
           "smallest_text_pt",
           "to_hwc",
           "transform_curves",
]
