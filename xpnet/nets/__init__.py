"""The book's networks: ``SimpleNet`` (chapter 4), ``TwoLayerNet`` (chapters 4 and 5), ``MultiLayerNet`` and
``MultiLayerNetExtend`` (chapter 6), ``SimpleConvNet`` (chapter 7).

``from xpnet.nets import *`` stands in for the book's ``two_layer_net``, ``common.multi_layer_net``,
``common.multi_layer_net_extend`` and ``simple_convnet`` modules.
"""

from __future__ import annotations

from .base import LayerNet
from .multi_layer_net import MultiLayerNet, MultiLayerNetExtend
from .simple_convnet import SimpleConvNet
from .simple_net import SimpleNet
from .two_layer_net import TwoLayerNet

__all__ = ["LayerNet", "MultiLayerNet", "MultiLayerNetExtend", "SimpleConvNet", "SimpleNet", "TwoLayerNet"]
