"""Interactive panels (ipywidgets) with static twins for the book."""
from .attack_explorer import AttackExplorer, AttackState
from .base import Panel, in_book, show
from .texture_lab import TextureLab, TextureState

__all__ = ["Panel", "AttackExplorer", "AttackState", "TextureLab", "TextureState", "show", "in_book"]
