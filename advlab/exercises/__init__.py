"""Checks for the chapters' exercises, one module per chapter: each compares the student's code
with the package, prints what is wrong, and returns True only on a match.

>>> al.exercises.check_fgsm(my_fgsm, model, x, y, eps=8 / 255)   # chapter 1
>>> al.exercises.check_gradcam_weights(my_gradcam_weights, model, x, y)   # chapter 2
>>> al.exercises.check_saturation(my_saturation, x, p=64)   # chapter 3
>>> al.exercises.check_discrepancy(my_discrepancy, model, x, x_adv)   # chapter 4
>>> al.exercises.check_map_term(my_map_term, g_adv, m)   # chapter 5
>>> al.exercises.check_pse(my_pse, model, x, x_adv, y, t)   # chapter 6
>>> al.exercises.check_vulnerability(my_vulnerability, outcomes)   # chapter 7
>>> al.exercises.check_channel_means(my_channel_means, model, "features.1", x)   # chapter 8
"""
from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08
from .ch01 import check_fgsm
from .ch02 import check_gradcam_weights, check_topk_iou
from .ch03 import check_patch_shuffle, check_saturation
from .ch04 import check_bound, check_cam_completeness, check_discrepancy
from .ch05 import check_bit_depth, check_map_term
from .ch06 import check_energy_share, check_pse
from .ch07 import check_pool_change, check_vulnerability
from .ch08 import check_channel_means, check_closer_layer

__all__ = ["ch01", "ch02", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08",
           "check_pool_change", "check_vulnerability", "check_bit_depth", "check_map_term",
           "check_bound", "check_cam_completeness",
           "check_energy_share", "check_pse",
           "check_channel_means", "check_closer_layer", "check_discrepancy", "check_fgsm",
           "check_gradcam_weights", "check_patch_shuffle", "check_saturation", "check_topk_iou"]
