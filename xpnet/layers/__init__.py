"""The book's layers (chapters 5-7), each with ``forward`` and ``backward``, for any array-API backend.

``from xpnet.layers import *`` stands in for the book's ``from common.layers import *``.

The layer contract, followed by every layer here (copy one to write the next):

1. A layer keeps the book's constructor and attributes (``Affine(W, b)`` with ``dW``/``db``,
   ``BatchNormalization(gamma, beta, ...)`` with ``dgamma``/``dbeta``), so the book's own network
   files run on these layers.
2. Each public method makes one call that checks its inputs, then reads as the book's lines of
   math. The rules for a layer's inputs sit in the layer's own module, beside it; inside
   :func:`xpnet._array.trust.trusted` (the trainer's step) the call only looks up the namespace.
3. Nothing is written into the inputs or into ``dout``; results are fresh arrays. State that
   ``backward`` needs is cached by ``forward`` on the layer; ``backward`` before ``forward``
   raises ``RuntimeError``.
4. Mixed float dtypes promote as the array API standard says (float32 images times float64
   weights give float64, as in the book's NumPy); a network converts its input to its own dtype
   once, at its boundary.
5. Randomness (``Dropout``) comes from a seeded counter-based source the caller controls, never
   from a global generator.
"""

from __future__ import annotations

from .activations import Relu, Sigmoid
from .affine import Affine
from .batch_norm import BatchNormalization
from .convolution import Convolution
from .dropout import Dropout
from .graph import AddLayer, MulLayer
from .pooling import Pooling
from .softmax_with_loss import SoftmaxWithLoss

__all__ = [
    "AddLayer", "Affine", "BatchNormalization", "Convolution", "Dropout", "MulLayer", "Pooling", "Relu", "Sigmoid", "SoftmaxWithLoss",
]
