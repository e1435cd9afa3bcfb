"""Interactive panels (ipywidgets) with static twins for the book."""
from .attack_explorer import AttackExplorer, AttackState
from .base import Panel, in_book, show
from .map_comparison import ComparisonState, MapComparison
from .texture_lab import TextureLab, TextureState

__all__ = ["Panel", "AttackExplorer", "AttackState", "TextureLab", "TextureState", "MapComparison", "ComparisonState", "show", "in_book"]
