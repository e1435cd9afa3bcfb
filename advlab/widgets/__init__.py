"""Interactive panels (ipywidgets) with static twins for the book."""
from .attack_explorer import AttackExplorer, AttackState
from .base import Panel, in_book, show

__all__ = ["Panel", "AttackExplorer", "AttackState", "show", "in_book"]
