"""Interactive panels (ipywidgets) with static twins for the book.

``PANELS`` lists every panel (name → class); each builds itself on tiny data with
``cls.example()``, and ``tests/test_panel_contract.py`` holds every listed panel to the same
contract (one render per change, bad values shown and never raised, one rule for arguments).
"""
from .activation_shift import ActivationShift, ShiftState
from .attack_explorer import AttackExplorer, AttackState
from .base import Panel, in_book, show
from .discrepancy import DiscrepancyState, InterpretationDiscrepancy
from .layer_explorer import LayerExplorer, LayerState
from .map_comparison import ComparisonState, MapComparison
from .pathways import Pathways, PathwayState
from .render import Renderer
from .texture_lab import TextureLab, TextureState
from .under_fire import FireState, UnderFire
from .upload import UploadPanel

PANELS = {cls.__name__: cls for cls in (ActivationShift, AttackExplorer, InterpretationDiscrepancy, LayerExplorer,
                                             MapComparison,
                                             Pathways, TextureLab, UnderFire)}

__all__ = ["PANELS", "ActivationShift", "ShiftState",
           "AttackExplorer", "AttackState", "ComparisonState", "DiscrepancyState",
           "InterpretationDiscrepancy", "LayerExplorer", "LayerState", "MapComparison", "Panel", "PathwayState",
           "Pathways", "Renderer", "TextureLab", "TextureState", "UnderFire", "FireState", "UploadPanel",
           "in_book", "show"]
