"""Qwen2.5-VL: same input side as Qwen2-VL (28 px per vision token, dynamic resolution).

The vision encoder permutes patches into attention windows internally and restores the order
before the merger's output reaches the LLM, so the vision tokens are row-major over the merged
grid exactly as for Qwen2-VL.
"""

from __future__ import annotations

from auditors.adapters.qwen2_vl import Qwen2VLAdapter


class Qwen2_5_VLAdapter(Qwen2VLAdapter):
    name = "qwen2_5_vl"
    architectures = ("Qwen2_5_VLForConditionalGeneration",)
